"""Volunteer printouts checked with pdftotext, and the service-record export."""

from __future__ import annotations

import datetime as dt

import openpyxl

from db import oplog
from db.models.register import Household, Membership, Person
from db.volunteers import roster, rotas, service, stars, timebank
from printouts import volunteers_forms as forms
from tests import pdf_tools

ID = "420102198001011234"


def _world(store):
    hh = oplog.write(store, Household, [{"address": "幸福里1栋101"}])[0].row_id
    pid = oplog.write(store, Person, [{"name": "赵立鹏", "id_type": "居民身份证", "id_number": ID,
                                       "birth_date": "1980-01-01", "sex": "男", "phone": "13812345678"}])[0].row_id
    oplog.write(store, Membership, [{"household": hh, "person": pid, "relation": "户主"}])
    team = roster.save_team(store, name="生活帮困一队", kind="生活帮困")[0].row_id
    vid = roster.save_volunteer(store, person_id=pid, team_ids=[team], skills=["购物代办"])[0].row_id
    act = service.save_activity(store, team_id=team, title="助老送餐", start="2026-10-05 09:00", end="2026-10-05 12:00",
                                place="社区食堂")[0].row_id
    sid = service.record_service(store, activity_id=act, volunteer_id=vid, sign_in="2026-10-05 09:00",
                                 sign_out="2026-10-05 12:00")[0].row_id
    service.approve_services(store, service_ids=[sid], approved_by="王队长")
    return team, vid, act


def test_certificate_is_numbered_masked_and_leaves_room_for_the_seal(store):
    _team, vid, _act = _world(store)
    cid = stars.issue_certificate(store, volunteer_id=vid, issuer="幸福里社区居民委员会", person_in_charge="王主任",
                                  contact="027-82345678", on=dt.date(2026, 11, 20))[0].row_id
    pdf, title = forms.certificate(store, cid)
    text = pdf_tools.text(pdf)
    flat = text.replace("\n", "").replace(" ", "")
    assert "志愿服务时长证明" in text and "编号：2026-00001" in flat
    assert "赵立鹏" in flat and "420102********1234" in flat and ID not in flat
    assert "3小时" in flat and "助老送餐" in flat and "V000001" in flat
    assert "幸福里社区居民委员会" in flat and "2026年11月20日" in flat and "（盖章）" in flat
    assert pdf_tools.pages(pdf) == 1
    second = stars.issue_certificate(store, volunteer_id=vid, issuer="幸福里社区居民委员会",
                                     on=dt.date(2026, 11, 21))[0].row_id
    assert "2026-00002" in pdf_tools.text(forms.certificate(store, second)[0])


def test_lists_print_with_masked_numbers(store):
    team, vid, act = _world(store)
    text = pdf_tools.text(forms.roster_list(store)[0]).replace(" ", "")
    assert "志愿者花名册" in text and "赵立鹏" in text and "138****5678" in text and "13812345678" not in text
    rota = rotas.save_rota(store, name="生活帮困一队值班表", team_id=team, leader_id=vid)[0].row_id
    rotas.generate(store, [rotas.RotaPlan(rota, [vid], dt.date(2026, 11, 2), weeks=1, per_shift=1, leader_id=vid)])
    text = pdf_tools.text(forms.rota_sheet(store, rota, first=dt.date(2026, 11, 2), last=dt.date(2026, 11, 8))[0])
    assert "生活帮困一队值班表" in text and "周一" in text and "08:00-12:00" in text and "138****5678" in text
    timebank.withdraw(store, account=vid, minutes=60, note="助浴服务")
    text = pdf_tools.text(forms.passbook_page(store, vid)[0]).replace(" ", "")
    assert "时间银行存折：赵立鹏" in text and "余额2小时" in text and "助浴服务" in text
    text = pdf_tools.text(forms.signin_sheet(store, act)[0]).replace(" ", "")
    assert "助老送餐志愿服务签到表" in text and "赵立鹏" in text and "138****5678" in text
    stars.post_notices(store, on=dt.date(2026, 11, 1), preset="town")  # 3 h is below one star
    assert stars.notices(store) == []
    store.set_meta(vol_star_custom="1,2,5")
    stars.post_notices(store, on=dt.date(2026, 11, 1), preset="custom")
    text = pdf_tools.text(forms.star_notice(store)[0]).replace(" ", "")
    assert "志愿者星级评定公示" in text and "赵立鹏" in text and "★★" in text and "2026年11月8日" in text


def test_service_records_export_in_upload_columns(store, tmp_path):
    _team, vid, _act = _world(store)
    path = tmp_path / "records.xlsx"
    from db.volunteers.export import UPLOAD_COLUMNS, export_services

    assert export_services(store, path) == 1
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == UPLOAD_COLUMNS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["姓名"] == "赵立鹏" and record["证件号码"] == "420102********1234"
    assert record["服务时长（小时）"] == "3" and record["项目名称"] == "助老送餐"
    assert export_services(store, path, full_ids=True, volunteer_id=vid) == 1
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][3] == ID
    actions = [r[0] for r in store.db.execute_sql("select action from audit_entry order by at")]
    assert "export_unmasked" in actions


def test_activity_sign_in_sheet_has_its_own_header(store):
    team, _vid, _act = _world(store)
    act = service.save_activity(store, team_id=team, title="敬老院义剪", start="2026-10-12 14:00",
                                end="2026-10-12 16:30", place="幸福里敬老院", person_in_charge="王队长")[0].row_id
    pdf, title = forms.signin_sheet(store, act)
    text = pdf_tools.text(pdf).replace(" ", "")
    assert title == "敬老院义剪志愿服务签到表" and "敬老院义剪志愿服务签到表" in text
    for item in ("活动：敬老院义剪", "队伍：生活帮困一队", "时间：2026-10-1214:00-16:30", "地点：幸福里敬老院",
                 "负责人：王队长"):
        assert item in text, item
    assert "会议" not in text and "赵立鹏" in text and "志愿者编号" in text and "职务" not in text


def test_record_sheet_per_volunteer_lists_approved_services_with_masked_numbers(store):
    _team, vid, act = _world(store)
    text = pdf_tools.text(forms.record_sheet(store, vid)[0]).replace(" ", "").replace("\n", "")
    assert "志愿服务记录表：赵立鹏" in text and "助老送餐" in text
    assert "138****5678" in text and "13812345678" not in text
    assert "共1次服务" in text or "1次服务" in text
    full = pdf_tools.text(forms.record_sheet(store, vid, show_full=True)[0]).replace(" ", "")
    assert "13812345678" in full
