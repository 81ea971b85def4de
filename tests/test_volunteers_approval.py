"""The approval list reaches every waiting record (ids, rows a page at a time) and approves in bulk
over a selection or over the team filter."""

from __future__ import annotations

import datetime as dt

from db import oplog
from db.models.volunteers import ServiceRecord
from db.volunteers import roster, service, timebank
from db.volunteers.common import POOL
from tests.volunteers_helpers import volunteers_screen

N = 5_100  # more than the 5,000 the first list showed


def _pending(store):
    a = roster.save_team(store, name="生活帮困一队")[0].row_id
    b = roster.save_team(store, name="巡逻队")[0].row_id
    zs = roster.save_volunteer(store, name="张三", team_ids=[a])[0].row_id
    ls = roster.save_volunteer(store, name="李四", team_ids=[b])[0].row_id
    act_a = service.save_activity(store, team_id=a, title="助老送餐", start="2026-01-01 09:00",
                                  end="2026-01-01 10:00")[0].row_id
    act_b = service.save_activity(store, team_id=b, title="夜间巡逻", start="2026-01-02 20:00",
                                  end="2026-01-02 21:00")[0].row_id
    rows = []
    t0 = dt.datetime(2026, 1, 1, 9)
    for i in range(N):  # what a year of paper records entered at once leaves waiting
        t = t0 + dt.timedelta(hours=2 * i)
        rows.append({"activity": act_a, "volunteer": zs, "sign_in": t.isoformat(timespec="minutes"),
                     "sign_out": (t + dt.timedelta(hours=1)).isoformat(timespec="minutes"), "minutes": 60,
                     "counted": 1, "status": "pending"})
    t = dt.datetime(2026, 1, 2, 20)
    rows.append({"activity": act_b, "volunteer": ls, "sign_in": t.isoformat(timespec="minutes"),
                 "sign_out": (t + dt.timedelta(hours=1)).isoformat(timespec="minutes"), "minutes": 60, "counted": 1,
                 "status": "pending"})
    with store.db.atomic():
        oplog.write(store, ServiceRecord, rows)
    return a, b, zs, ls


def test_every_pending_record_is_reachable_and_approved_by_filter(ctx, qtbot):
    team_a, team_b, zs, ls = _pending(ctx.store)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.approval)
    page = screen.approval
    page.refresh()
    model = page.rows
    assert model.rowCount() == N + 1
    assert str(N + 1) in page.summary.text()
    assert model.data(model.index(0, 3)) == "张三"
    assert model.data(model.index(N, 3)) == "李四"  # the last row (after 5,000) is fetched when looked at
    page.table.selectRow(N)
    assert len(page.chosen()) == 1
    page.approve()
    assert model.rowCount() == N
    assert timebank.balance(ctx.store, ls) == 60
    page.team.setCurrentIndex(page.team.findData(team_b))
    assert model.rowCount() == 0 and "0" in page.summary.text()
    page.team.setCurrentIndex(page.team.findData(team_a))
    remaining = model.rowCount()
    page.confirm_all = lambda n: n == remaining  # the confirmation says how many
    page.approve_all()
    assert model.rowCount() == 0
    assert service.pending_ids(ctx.store, team_id=team_a) == []
    page.team.setCurrentIndex(0)
    assert model.rowCount() == 0
    assert sum(timebank.balance(ctx.store, x) for x in (zs, ls, POOL)) == (N + 1) * 60  # above the cap: the pool
