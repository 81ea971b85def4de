"""Volunteer screens with real widgets: roster search, sign in by initials + Enter, bulk approval,
a shift assignment with its clash shown, the passbook and the needs board."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from db.volunteers import roster, rotas, service, timebank
from desktop.tasks import TaskRunner
from tests.volunteers_helpers import volunteers_screen


@pytest.fixture
def threaded(ctx):
    """The screens' writes on the real writer thread, as in the app (the shared ctx runs tasks inline)."""
    ctx.tasks = TaskRunner(ctx.errors, dialog_delay_ms=10_000)
    ctx.tasks.io_databases = lambda: [ctx.store.db]
    yield ctx
    ctx.tasks.shutdown(wait=True)


def _settle(ctx, qtbot) -> None:
    """Wait until every task the screen started has ended and its on_done ran on the GUI thread."""
    qtbot.waitUntil(lambda: not ctx.tasks.active, timeout=10_000)


def _setup(store):
    team = roster.save_team(store, name="生活帮困一队", kind="生活帮困")[0].row_id
    zs = roster.save_volunteer(store, name="张三", skills=["购物代办"], team_ids=[team],
                               availability=[(4, "08:00", "12:00")])[0].row_id
    ls = roster.save_volunteer(store, name="李四", skills=["理发"], team_ids=[team])[0].row_id
    roster.save_team(store, team_id=team, name="生活帮困一队", kind="生活帮困", leader_id=ls)
    act = service.save_activity(store, team_id=team, title="助老送餐", start="2026-11-05 09:00",
                                end="2026-11-05 11:00")[0].row_id
    return team, zs, ls, act


def test_roster_search_by_initials_and_filters(ctx, qtbot):
    team, zs, ls, _act = _setup(ctx.store)
    screen = volunteers_screen(ctx, qtbot)
    assert screen.roster.model.rowCount() == 2
    qtbot.keyClicks(screen.roster.search, "zs")
    qtbot.waitUntil(lambda: screen.roster.model.ids == [zs])
    assert screen.roster.model.data(screen.roster.model.index(0, 1)) == "张三"
    screen.roster.search.clear()
    screen.roster.skill.setCurrentIndex(screen.roster.skill.findData("理发"))
    qtbot.waitUntil(lambda: screen.roster.model.ids == [ls])
    assert "1 " in screen.roster.count.text() or "1" in screen.roster.count.text()


def test_sign_in_by_initials_and_enter_then_approve(threaded, qtbot):
    ctx = threaded
    _team, zs, _ls, act = _setup(ctx.store)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.signin)
    page = screen.signin
    page.activity.setCurrentIndex(page.activity.findData(act))
    qtbot.keyClicks(page.who, "zs")
    assert "张三" in page.match.text()
    qtbot.keyClick(page.who, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.who.text() == "")
    _settle(ctx, qtbot)
    assert [r["volunteer_id"] for r in page.records.rows] == [zs]
    assert [r["volunteer_id"] for r in service.activity_records(ctx.store, act)] == [zs]
    qtbot.keyClicks(page.who, "zs")
    qtbot.keyClick(page.who, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "已在本活动签到" in page.message.text())  # nothing saved twice
    assert len(page.records.rows) == 1 and len(service.activity_records(ctx.store, act)) == 1
    page.sign_out_all()
    qtbot.waitUntil(lambda: page.records.rows[0]["minutes"] == 120)
    assert service.activity_records(ctx.store, act)[0]["minutes"] == 120
    screen.tabs.setCurrentWidget(screen.approval)
    approval = screen.approval
    assert approval.rows.rowCount() == 1
    approval.table.selectAll()
    qtbot.mouseClick(approval.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: approval.rows.rowCount() == 0)
    _settle(ctx, qtbot)
    assert service.total_minutes(ctx.store, zs) == 120
    assert timebank.balance(ctx.store, zs) == 120


def test_assign_a_shift_shows_the_clash_and_its_reason(threaded, qtbot):
    ctx = threaded
    _team, zs, _ls, _act = _setup(ctx.store)
    store = ctx.store
    duty = rotas.save_rota(store, name="楼栋值班")[0].row_id
    patrol = rotas.save_rota(store, name="夜间巡逻", kind="patrol")[0].row_id
    s1 = rotas.add_shift(store, rota_id=duty, day="2026-11-05", start="08:00", end="10:00")[0].row_id
    rotas.add_shift(store, rota_id=patrol, day="2026-11-05", start="09:00", end="11:00")
    rotas.assign(store, shift_id=s1, volunteer_id=zs)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.rotas)
    planner = screen.rotas
    planner.rota.setCurrentIndex(planner.rota.findData(patrol))
    planner.set_week(dt.date(2026, 11, 2))
    planner.grid.setCurrentCell(0, 3)  # Thursday 09:00-11:00
    assert planner.current_shift() is not None
    qtbot.keyClicks(planner.who, "zs")
    qtbot.keyClick(planner.who, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: planner.force.isEnabled())
    assert "冲突" in planner.message.text() and "楼栋值班" in planner.message.text()
    assert planner.current_shift()["people"] == []  # nothing saved yet
    thursday = rotas.week(store, rota_id=patrol, monday=dt.date(2026, 11, 2))[0]
    assert thursday["people"] == []
    planner.force.click()
    qtbot.waitUntil(lambda: not planner.force.isEnabled() and planner.current_shift()["people"] != [])
    _settle(ctx, qtbot)
    assert [p["id"] for p in rotas.week(store, rota_id=patrol, monday=dt.date(2026, 11, 2))[0]["people"]] == [zs]
    item = planner.grid.item(0, 3)
    assert item.text().startswith("⚠") and "楼栋值班" in item.toolTip()
    assert (0, 3) in planner.clash_cells
    assert "冲突" in planner.cell_info.text() or "楼栋值班" in planner.cell_info.text()


def test_passbook_refuses_a_withdrawal_above_the_balance(ctx, qtbot):
    _team, zs, _ls, act = _setup(ctx.store)
    sid = service.record_service(ctx.store, activity_id=act, volunteer_id=zs, sign_in="2026-11-05 09:00",
                                 sign_out="2026-11-05 11:00")[0].row_id
    service.approve_services(ctx.store, service_ids=[sid])
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.bank)
    bank = screen.bank
    qtbot.keyClicks(bank.who, "zs")
    qtbot.keyClick(bank.who, Qt.Key.Key_Return)
    assert "余额 2 小时" in bank.title.text()
    bank.hours.setValue(150)
    bank.withdraw()
    assert "超过余额" in bank.message.text()
    assert len(bank.entries.rows) == 1
    bank.hours.setValue(90)
    bank.withdraw()
    assert timebank.balance(ctx.store, zs) == 30 and len(bank.entries.rows) == 2


def test_correction_needs_a_reason_and_is_logged(threaded, qtbot):
    ctx = threaded
    _team, zs, _ls, act = _setup(ctx.store)
    service.record_service(ctx.store, activity_id=act, volunteer_id=zs, sign_in="2026-11-05 09:00",
                           sign_out="2026-11-05 11:00")
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.signin)
    page = screen.signin
    page.activity.setCurrentIndex(page.activity.findData(act))
    page.table.selectRow(0)
    page.corrected_out.setDateTime(dt.datetime(2026, 11, 5, 10, 30))
    page.correct()
    qtbot.waitUntil(lambda: "更正原因" in page.message.text())
    assert page.records.rows[0]["minutes"] == 120
    page.reason.setText("提前离开")
    page.correct()
    qtbot.waitUntil(lambda: page.records.rows[0]["minutes"] == 90)
    assert service.activity_records(ctx.store, act)[0]["minutes"] == 90
    assert service.corrections(ctx.store, page.records.rows[0]["id"])[0]["reason"] == "提前离开"


def test_patrol_log_on_a_shift(threaded, qtbot):
    ctx = threaded
    _team, zs, _ls, _act = _setup(ctx.store)
    patrol = rotas.save_rota(ctx.store, name="夜间巡逻", kind="patrol")[0].row_id
    rotas.add_shift(ctx.store, rota_id=patrol, day="2026-11-05", start="19:00", end="21:00")
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.rotas)
    planner = screen.rotas
    planner.rota.setCurrentIndex(planner.rota.findData(patrol))
    planner.set_week(dt.date(2026, 11, 2))
    planner.grid.setCurrentCell(0, 3)
    planner.findings.setText("无异常")
    qtbot.keyClick(planner.findings, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: planner.findings.text() == "")
    assert planner.message.text() == "巡逻日志已保存。"
    assert [log["findings"] for log in rotas.patrol_logs(ctx.store, patrol)] == ["无异常"]


def test_drop_a_member_on_a_shift(threaded, qtbot):
    ctx = threaded
    team, zs, ls, _act = _setup(ctx.store)
    rota = rotas.save_rota(ctx.store, name="帮困值班", team_id=team)[0].row_id
    rotas.add_shift(ctx.store, rota_id=rota, day="2026-11-05", start="08:00", end="10:00")
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.rotas)
    planner = screen.rotas
    planner.rota.setCurrentIndex(planner.rota.findData(rota))
    planner.set_week(dt.date(2026, 11, 2))
    members = [planner.members.item(i).data(Qt.ItemDataRole.UserRole) for i in range(planner.members.count())]
    assert set(members) == {zs, ls}
    mime = planner.members.mimeData([planner.members.item(members.index(ls))])
    assert mime.hasFormat("application/x-griddesk-volunteer")
    planner.grid.sig_dropped.emit(0, 3, bytes(mime.data("application/x-griddesk-volunteer")).decode())
    qtbot.waitUntil(lambda: [p["id"] for p in planner.current_shift()["people"]] == [ls])
    assert [p["id"] for p in rotas.week(ctx.store, rota_id=rota, monday=dt.date(2026, 11, 2))[0]["people"]] == [ls]


def test_needs_board_suggests_matches_and_records_a_service(threaded, qtbot):
    from db.models.register import Person
    from db.volunteers import needs

    ctx = threaded
    _team, zs, _ls, _act = _setup(ctx.store)
    from db import oplog

    elder = oplog.write(ctx.store, Person, [{"name": "孤老", "birth_date": "1940-01-01"}])[0].row_id
    need = needs.save_need(ctx.store, person_id=elder, help="每周代买菜", skill="购物代办")[0].row_id
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.needs)
    board = screen.needs
    assert board.current_need()["id"] == need
    assert [r["volunteer_id"] for r in board.suggestions.rows] == [zs]
    board.match()
    qtbot.waitUntil(lambda: board.needs.rows[0]["helpers"] == "张三")
    assert needs.list_needs(ctx.store)[0]["helpers"] == "张三"
    board.suggestions.set_rows([{"volunteer_id": zs, "name": "张三", "number": "", "load": 1, "reason": ""}])
    board.suggest_view.selectRow(0)
    board.done_from.setDateTime(dt.datetime(2026, 11, 5, 9, 0))
    board.done_to.setDateTime(dt.datetime(2026, 11, 5, 10, 30))
    board.record_done()
    qtbot.waitUntil(lambda: board.message.text().startswith("服务已登记"))
    assert service.total_minutes(ctx.store, zs) == 0  # waits for approval
    assert service.pending_summary(ctx.store) == (1, 90)
    board.need_view.selectRow(0)
    board._suggest()
    assert board.suggestions.rows == []  # already helping: not suggested again


def test_passbook_opens_a_team_account_takes_group_hours_and_only_donates_them(ctx, qtbot):
    team, zs, _ls, act = _setup(ctx.store)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.bank)
    bank = screen.bank
    assert bank.team.findData(team) > 0
    bank.team.setCurrentIndex(bank.team.findData(team))
    bank._team_chosen()
    assert bank.account == team and "生活帮困一队" in bank.title.text() and "团体" in bank.title.text()
    assert not bank.buttons["withdraw"].isEnabled() and not bank.buttons["transfer"].isVisibleTo(bank)
    assert bank.buttons["group"].isVisibleTo(bank) and bank.activity.findData(act) >= 0
    bank.hours.setValue(120)
    bank.activity.setCurrentIndex(bank.activity.findData(act))
    bank.deposit_group()
    assert timebank.balance(ctx.store, team) == 120
    bank.deposit_group()  # the same activity twice: refused, nothing added
    assert "已" in bank.message.text() and timebank.balance(ctx.store, team) == 120
    assert "2 小时" in bank.team.itemText(bank.team.findData(team))
    bank.hours.setValue(30)
    bank.donate()
    assert timebank.balance(ctx.store, team) == 90 and timebank.balance(ctx.store, "pool") >= 30
    assert len(bank.entries.rows) == 2
    # Typing the team's name opens it too; a volunteer's account has withdraw and transfer again.
    bank.who.setText("zs")
    bank.open_typed()
    assert bank.account == zs and bank.buttons["withdraw"].isEnabled() and not bank.buttons["group"].isVisibleTo(bank)


def test_team_save_and_leader_run_as_tasks_and_the_list_follows(threaded, qtbot):
    ctx = threaded
    team, zs, ls, _act = _setup(ctx.store)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.teams)
    page = screen.teams
    page.name.setText("")
    page.add_team()
    qtbot.waitUntil(lambda: page.message.text() != "")  # a name is required: refused, nothing saved
    assert len(roster.list_teams(ctx.store)) == 1
    page.name.setText("夜间巡逻队")
    page.kind.setCurrentIndex(page.kind.findData("治安巡逻"))
    page.add_team()
    qtbot.waitUntil(lambda: len(page.teams.rows) == 2)  # the list refreshes from the returned changes
    assert page.name.text() == "" and page.message.text() == ""
    assert {t["name"]: t["kind"] for t in roster.list_teams(ctx.store)}["夜间巡逻队"] == "治安巡逻"
    row = next(i for i, t in enumerate(page.teams.rows) if t["id"] == team)
    page.team_view.selectRow(row)
    page.member_view.setCurrentIndex(page.members.index(page.members.ids.index(zs), 0))
    page.make_leader()
    qtbot.waitUntil(lambda: next(t for t in page.teams.rows if t["id"] == team)["leader_name"] == "张三")
    assert next(t for t in roster.list_teams(ctx.store) if t["id"] == team)["leader"] == zs


def test_sign_out_of_everyone_is_one_transaction(threaded, qtbot):
    """One refused record (an overlap) leaves every record of the activity signed in."""
    ctx = threaded
    team, zs, ls, act = _setup(ctx.store)
    service.sign_in(ctx.store, activity_id=act, volunteer_id=zs, at="2026-11-05 09:00")
    service.sign_in(ctx.store, activity_id=act, volunteer_id=ls, at="2026-11-05 09:05")
    other = service.save_activity(ctx.store, team_id=team, title="理发", start="2026-11-05 10:00",
                                  end="2026-11-05 11:00")[0].row_id
    service.record_service(ctx.store, activity_id=other, volunteer_id=ls, sign_in="2026-11-05 10:00",
                           sign_out="2026-11-05 10:30")
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.signin)
    page = screen.signin
    page.activity.setCurrentIndex(page.activity.findData(act))
    page.refresh_records()
    assert [r["volunteer_id"] for r in page.records.rows] == [zs, ls]  # 张三 could be signed out, 李四 not
    page.sign_out_all()
    qtbot.waitUntil(lambda: page.message.text() != "")
    _settle(ctx, qtbot)
    assert "李四" in page.message.text() or "重叠" in page.message.text() or "时间" in page.message.text()
    assert [r["sign_out"] for r in service.activity_records(ctx.store, act)] == [None, None]
