"""The kinds-and-partners tab: editing a meeting kind's rules and the partner directory with
contacts, through the real form dialogs (their exec replaced by filling and saving)."""

from __future__ import annotations

import pytest

from db.meetings import kinds, partners
from db.meetings import meetings as mt
from db.meetings.rules import Attendance, Tally
from tests.register_helpers import first_unit
from views.meetings import MeetingsScreen
from views.meetings.forms import FormDialog


@pytest.fixture
def page(ctx, qtbot):
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366, 768)
    screen.show()
    screen.tabs.setCurrentWidget(screen.directory)
    return screen.directory


def _answer(monkeypatch, values: dict):
    """The next dialog gets these values typed in and is saved (Enter); returns the dialog."""
    seen = {}

    def fake_exec(dialog: FormDialog) -> int:
        for key, value in values.items():
            w = dialog.widgets[key]
            if hasattr(w, "setChecked"):
                w.setChecked(bool(value))
            elif hasattr(w, "findData"):
                i = w.findData(value)
                if i >= 0:
                    w.setCurrentIndex(i)
                else:
                    w.setEditText(str(value))
            elif hasattr(w, "setPlainText"):
                w.setPlainText(value)
            else:
                w.setText(str(value))
        dialog.submit()
        seen["dialog"] = dialog
        return dialog.result()

    monkeypatch.setattr(FormDialog, "exec", fake_exec)
    return seen


def test_edit_a_kinds_rules_and_the_outcome_follows(page, ctx, monkeypatch):
    names = [r["name"] for r in page.kind_model.rows]
    assert names[:3] == ["居民会议", "居民代表会议", "党员大会"]
    row = names.index("居民议事会")
    assert page.kind_model.data(page.kind_model.index(row, 2)) == "无法定人数要求"
    page.kind_view.selectRow(row)
    seen = _answer(monkeypatch, {"quorum": ">=2/3", "pass_rule": ">=2/3", "proxy_limit": "x"})
    assert not page.edit_kind()
    assert "0 到 100" in seen["dialog"].messages["proxy_limit"].text()
    kind = kinds.kind_by_name(ctx.store, "居民议事会")
    assert kind["quorum"] == "none" and kind["proxy_limit"] is None  # bad input changed nothing
    seen = _answer(monkeypatch, {"quorum": ">=3/2"})
    assert not page.edit_kind()
    assert "“>=3/2”" in seen["dialog"].messages["quorum"].text()

    _answer(monkeypatch, {"quorum": ">=2/3", "pass_rule": ">=2/3", "proxy_limit": "1", "double_majority": True})
    assert page.edit_kind()
    kind = kinds.kind_by_name(ctx.store, "居民议事会")
    assert (kind["quorum"], kind["pass_rule"], kind["proxy_limit"], kind["double_majority"]) == \
        (">=2/3", ">=2/3", 1, 1)
    assert kind["major_rule"] is None and kind["election_quorum"] is None
    row = [r["name"] for r in page.kind_model.rows].index("居民议事会")
    assert page.kind_model.data(page.kind_model.index(row, 2)) == "2/3以上"
    # The rule decides: 6 of 9 present is a quorum; 4 of 6 for passes 2/3, 3 of 6 does not.
    rule = kinds.kind_rule(kind)
    from db.meetings.rules import outcome
    att = Attendance(entitled=9, present=6, proxies=0, entitled_area=900.0, present_area=600.0)
    assert outcome(rule, att, Tally(4, 2, 0, 400.0, 200.0)).passed is True
    assert outcome(rule, att, Tally(3, 3, 0, 400.0, 200.0)).passed is False
    assert outcome(rule, att, Tally(4, 2, 0, 300.0, 300.0)).passed is False  # the floor area falls short

    # A new kind of the office's own.
    _answer(monkeypatch, {"name": "网格议事会", "entitled": "invited", "quorum": ">1/2"})
    assert page.add_kind()
    assert kinds.kind_by_name(ctx.store, "网格议事会")["quorum"] == ">1/2"
    assert page.kind_model.rows[-1]["name"] == "网格议事会"


def test_partner_directory_with_contacts_masked_and_invitable(page, ctx, monkeypatch):
    seen = _answer(monkeypatch, {"name": "", "kind": "物业"})
    assert not page.add_org()
    assert "名称" in seen["dialog"].messages["name"].text()
    assert partners.list_orgs(ctx.store) == []
    _answer(monkeypatch, {"name": "幸福里物业服务中心", "kind": "物业", "phone": "13912345678"})
    assert page.add_org()
    _answer(monkeypatch, {"name": "第一业委会", "kind": "业委会"})
    assert page.add_org()
    assert [r["name"] for r in page.org_model.rows] == ["第一业委会", "幸福里物业服务中心"]
    page.org_view.selectRow(1)
    assert page.org_model.data(page.org_model.index(1, 2)) == "139****5678"
    seen = _answer(monkeypatch, {"name": "王经理", "role": "项目经理", "phone": "12"})
    assert not page.add_contact()
    assert seen["dialog"].messages["phone"].text()
    _answer(monkeypatch, {"name": "王经理", "role": "项目经理", "phone": "13800001111"})
    assert page.add_contact()
    assert [r["name"] for r in page.contact_model.rows] == ["王经理"]
    assert page.contact_model.data(page.contact_model.index(0, 2)) == "138****1111"
    assert "幸福里物业服务中心" in page.contacts_label.text()
    # Editing shows the number masked and keeps it when left empty.
    page.contact_view.selectRow(0)
    seen = _answer(monkeypatch, {"role": "经理"})
    assert page.edit_contact()
    assert "138****1111" in seen["dialog"].widgets["phone"].placeholderText()
    [contact] = partners.list_contacts(ctx.store)
    assert (contact["role"], contact["phone"]) == ("经理", "13800001111")
    page.org_view.selectRow(0)
    assert page.contact_model.rows == []
    # The contacts can be invited to a meeting.
    kinds.ensure_default_kinds(ctx.store)
    mid = mt.schedule_meeting(ctx.store, meeting={"title": "三方联动会", "kind_id": kinds.kind_by_name(
        ctx.store, "三社联动会议")["id"], "starts_at": "2026-12-10 19:00"})[0].row_id
    from db.meetings.invitees import contact_invitees
    mt.invite(ctx.store, meeting_id=mid, people=contact_invitees(ctx.store, [contact["id"]]))
    assert [(r["name"], r["unit"]) for r in mt.invitees(ctx.store, mid)] == [("王经理", "幸福里物业服务中心")]


def test_schedule_a_meeting_inviting_a_volunteer_team(ctx, qtbot):
    from db.register import households
    from db.volunteers import roster
    from views.meetings.editor import schedule_dialog

    u = first_unit(ctx.store)
    changes = households.register_household(ctx.store, household={"unit_id": u, "door": "101", "house_use": "自住"},
                                            members=[{"relation": "户主", "name": "张三", "birth_date": "1960-03-01",
                                                      "sex": "男"}])
    person = next(ch.row_id for ch in changes if ch.table == "person")
    team = roster.save_team(ctx.store, name="巡逻队")[0].row_id
    other = roster.save_team(ctx.store, name="助老队")[0].row_id
    roster.save_volunteer(ctx.store, person_id=person, team_ids=[team])
    roster.save_volunteer(ctx.store, name="外来志愿者", employer="区图书馆", phone="13700001111", team_ids=[team])
    roster.save_volunteer(ctx.store, name="助老志愿者", team_ids=[other])
    kinds.ensure_default_kinds(ctx.store)
    dialog = schedule_dialog(ctx)
    qtbot.addWidget(dialog)
    dialog.widgets["title"].setText("巡逻队工作会")
    dialog.widgets["kind_id"].setCurrentIndex(dialog.widgets["kind_id"].findText("楼栋长会议"))
    dialog.widgets["invite"].setCurrentIndex(dialog.widgets["invite"].findData("volunteers"))
    dialog.widgets["team_id"].setCurrentIndex(dialog.widgets["team_id"].findData(team))
    dialog.submit()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.general.text()
    mid = next(ch.row_id for ch in dialog.changes if ch.table == "meeting")
    rows = mt.invitees(ctx.store, mid)
    assert [(r["name"], r["unit"], r["role"], r["sort_no"]) for r in rows] == [
        ("张三", "幸福小区3栋1单元101", "志愿者", 1), ("外来志愿者", "区图书馆", "志愿者", 2)]
    assert rows[0]["person_id"] == person
    # Inviting the same resident from the register adds no second row.
    from db.meetings.invitees import register_people
    mt.invite(ctx.store, meeting_id=mid, people=register_people(ctx.store, body="households"))
    assert len(mt.invitees(ctx.store, mid)) == 2
