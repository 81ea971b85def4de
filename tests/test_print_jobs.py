"""Forms filled from a real register database; masking and the audit trail; `griddesk print`."""

from __future__ import annotations

import pdf_tools
import pytest
from print_fixtures import make_community

from db.errors import ValidationError
from db.models.register import AuditEntry, Person
from db.print_jobs import FORMS, PrintJob, make_pdf
from desktop.cli import main as cli_main


@pytest.fixture
def community(store):
    return make_community(store, buildings=2, units=2, doors=3)


def test_household_form_masks_by_default_and_audits_full_print(store, community):
    hid = community["households"][0]
    result = make_pdf(store, PrintJob("household", {"households": [hid]}))
    text = pdf_tools.text(result.pdf)
    head = Person.get_by_id(community["persons"][0])
    assert "入户登记表" in text and "幸福里小区1栋1单元201室" in text and "XFL-01101" in text
    assert head.name in text
    assert head.id_number[:6] + "********" + head.id_number[-4:] in text
    assert head.id_number not in text and head.phone not in text
    assert AuditEntry.select().count() == 0

    full = make_pdf(store, PrintJob("household", {"households": [hid]}, show_full=True))
    full_text = pdf_tools.text(full.pdf)
    assert head.id_number in full_text and head.phone in full_text
    entries = list(AuditEntry.select())
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.user, entry.action, entry.target_table, entry.target_id) == (
        "测试员", "print_unmasked", "household", hid)
    assert entry.at and entry.at[:2] == "20" and "T" in entry.at
    # the entry went through the op log like every synced write
    ops = store.db.execute_sql("select count(*) from oplog where tbl = 'audit_entry'").fetchone()[0]
    assert ops == 1


def test_batch_registration_forms_for_a_building(store, community):
    building = community["buildings"][0]
    seen = []
    result = make_pdf(store, PrintJob("household", {"buildings": [building]}),
                      progress=lambda d, t: seen.append((d, t)))
    assert result.records == 6
    assert result.pages >= 6
    text = pdf_tools.text(result.pdf)
    for door in ("1单元201室", "1单元301室", "1单元401室", "2单元202室", "2单元302室", "2单元402室"):
        assert f"幸福里小区1栋{door}" in text
    assert "2栋" not in text
    assert seen and seen[-1][0] == seen[-1][1]


def test_one_meeting_notice_per_building_of_a_compound(store, community):
    result = make_pdf(store, PrintJob("meeting-notice", {
        "compound": "幸福里小区", "meeting": "{building}居民议事会", "time": "12月1日15:00",
        "place": "社区会议室", "issuer": "幸福里社区居民委员会", "date": "2026-11-25"}))
    assert result.records == 2 and result.pages == 2
    first = pdf_tools.text(result.pdf, first=1, last=1)
    second = pdf_tools.text(result.pdf, first=2, last=2)
    assert "关于召开幸福里小区1栋居民议事会的通知" in first and "幸福里小区1栋全体居民：" in first
    assert "关于召开幸福里小区2栋居民议事会的通知" in second
    assert "2026年11月25日" in second


def test_signin_sheet_prefilled_from_a_building(store, community):
    result = make_pdf(store, PrintJob("signin", {"buildings": ["幸福里小区2栋"], "meeting": "2栋楼栋会议",
                                                 "names": ["楼栋长王某"], "blank_rows": 3}))
    text = pdf_tools.text(result.pdf)
    assert result.records == 7  # six heads of household and the extra name
    assert "应到：7 人" in text and "楼栋长王某" in text and "2栋1单元201室" in text
    assert "138****" in text


def test_visit_record_and_blank_visit_form(store, community):
    result = make_pdf(store, PrintJob("visit", {"visit": community["visits"][0]}))
    text = pdf_tools.text(result.pdf)
    for expected in ("入户走访记录", "2026年11月20日", "张网格", "例行走访", "希望楼道加装照明。", "已转物业。",
                     "2026年12月20日", "幸福里小区1栋1单元201室"):
        assert expected in text, expected
    head = Person.get_by_id(community["persons"][0])
    assert head.name in text and head.phone[:3] + "****" + head.phone[-4:] in text and head.phone not in text
    blank = make_pdf(store, PrintJob("visit", {"household": "XFL-01101"}))
    blank_text = pdf_tools.text(blank.pdf)
    assert "幸福里小区1栋1单元201室" in blank_text and "例行走访" not in blank_text


def test_register_lists_filtered(store, community):
    everyone = make_pdf(store, PrintJob("list", {"kind": "persons", "compound": "幸福里小区"}))
    assert everyone.records == len(community["persons"])
    elderly = make_pdf(store, PrintJob("list", {"kind": "persons", "tag": "独居老人"}))
    assert 0 < elderly.records < everyone.records
    assert "标签 独居老人" in pdf_tools.text(elderly.pdf)
    homes = make_pdf(store, PrintJob("list", {"kind": "households", "building": "幸福里小区1栋"}))
    assert homes.records == 6
    visits = make_pdf(store, PrintJob("list", {"kind": "visits", "date_from": "2026-11-01"}))
    assert visits.records == 12
    none = make_pdf(store, PrintJob("list", {"kind": "visits", "date_from": "2027-01-01"}))
    assert none.records == 0 and none.pages == 1


def test_bad_requests_say_what_is_wrong(store, community):
    with pytest.raises(ValidationError) as info:
        make_pdf(store, PrintJob("meeting-notice", {"meeting": "会", "time": "今天"}))
    assert "“place”" in info.value.message
    with pytest.raises(ValidationError) as info:
        make_pdf(store, PrintJob("household", {"buildings": ["9栋"]}))
    assert "没有找到名为“9栋”的楼栋" in info.value.message
    with pytest.raises(ValidationError):
        make_pdf(store, PrintJob("nonsense"))
    assert AuditEntry.select().count() == 0


def test_cli_lists_and_prints_every_form(store, community, tmp_path, capsys):
    assert cli_main(["print", "--list"]) == 0
    listing = capsys.readouterr().out
    for key in FORMS:
        assert key in listing
    assert "会议通知" in listing and "签到表" in listing
    db = str(store.path)
    store.close()
    runs = {
        "meeting-notice": ["--meeting", "居民议事会", "--time", "12月1日", "--place", "会议室",
                           "--issuer", "幸福里社区居民委员会", "--agenda", "加装电梯"],
        "signin": ["--meeting", "居民议事会", "--building", "1栋"],
        "household": ["--household", "XFL-01101"],
        "visit": ["--household", "XFL-01101"],
        "list": ["--kind", "households"],
        "notice": ["--title", "停水通知", "--body", "明天停水。\n请储水。", "--issuer", "居委会"],
    }
    from printouts.meetings_jobs import MEETING_FORMS  # printed from a meeting: tests/test_meetings_cli.py

    assert set(runs) == set(FORMS) - set(MEETING_FORMS)
    for form, extra in runs.items():
        out = tmp_path / f"{form}.pdf"
        assert cli_main(["print", form, "--db", db, "--out", str(out), *extra]) == 0, form
        assert pdf_tools.pages(out) >= 1
        assert "已写入" in capsys.readouterr().out
        fonts = pdf_tools.fonts(out)
        assert fonts and all(f["emb"] == "yes" for f in fonts), (form, fonts)
    assert "停水通知" in pdf_tools.text(tmp_path / "notice.pdf")
    assert cli_main(["print", "household", "--db", db, "--out", str(tmp_path / "x.pdf"),
                     "--household", "不存在"]) == 2
    assert "没有找到" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_dates_as_people_type_them(store, community):
    job = {"title": "停水通知", "body": "明日停水。", "issuer": "居委会", "date": "2026/11/5"}
    result = make_pdf(store, PrintJob("notice", job))
    assert "2026年11月5日" in pdf_tools.text(result.pdf)
    with pytest.raises(ValidationError) as info:
        make_pdf(store, PrintJob("notice", {**job, "date": "下周一"}))
    assert "下周一" in info.value.message and info.value.field == "date"
    visits = make_pdf(store, PrintJob("list", {"kind": "visits", "date_from": "2026年11月21日"}))
    assert visits.records == 0


def test_the_register_list_as_filtered_on_the_households_screen(store, community):
    from db.print_jobs import register_list_job
    from db.register.search import Filters

    everyone = make_pdf(store, register_list_job(Filters()))
    assert everyone.records == len(community["persons"])
    building = make_pdf(store, register_list_job(Filters(place_level="building",
                                                         place_id=community["buildings"][1]), title="2栋名单"))
    text = pdf_tools.text(building.pdf)
    assert "2栋名单" in text and "筛选：幸福里小区2栋" in text
    assert "幸福里小区2栋" in text and "幸福里小区1栋1单元" not in text
    assert 0 < building.records < everyone.records
    first = Person.get_by_id(community["persons"][0])
    found = make_pdf(store, register_list_job(Filters(text=first.name)))
    assert found.records >= 1 and first.name in pdf_tools.text(found.pdf)
    assert first.id_number not in pdf_tools.text(found.pdf)


def test_a_building_named_by_its_short_name(store):
    make_community(store, buildings=11, units=1, doors=1)
    result = make_pdf(store, PrintJob("signin", {"meeting": "会", "buildings": ["1栋"]}))
    text = pdf_tools.text(result.pdf)
    assert "1栋1单元201室" in text and "11栋" not in text
