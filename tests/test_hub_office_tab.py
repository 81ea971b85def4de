"""The 办公室同步 tab: enrol with a code, sync now, status (a real hub on loopback, SQLite backend)."""

from __future__ import annotations

from db import oplog
from db.models.register import Household
from db.sync import hub_client
from tests.hub_helpers import Laptop, enrol_code, office_with_grids


def test_enrol_and_sync_from_the_tab(ctx, qtbot, sqlite_hub, hub_cert, tmp_path):  # noqa: F811
    from views.sync.office import OfficeStatusLabel, OfficeSync, OfficeTab, status_line

    pin = hub_cert[2]
    office = Laptop(tmp_path, "office").enrol(sqlite_hub, pin, None)
    g1, _g2 = office_with_grids(office)
    oplog.write(office.store, Household, [{"grid": g1, "number": "3-201"}])
    office.sync()
    scheduler = OfficeSync(ctx)
    tab = OfficeTab(ctx, scheduler)
    label = OfficeStatusLabel(ctx, scheduler)
    qtbot.addWidget(tab)
    qtbot.addWidget(label)
    tab.show()
    assert tab.enrol_box.isVisible() and not tab.hub_box.isVisible()
    tab.code.setText("not a code")
    tab.enrol_button.click()
    assert "griddesk-hub://" in ctx.errors.last_message
    tab.code.setText(enrol_code(sqlite_hub, pin, [g1], "张伟的电脑"))
    tab.enrol_button.click()  # enrols, then the first sync runs
    assert hub_client.link(ctx.store) is not None
    assert tab.hub_box.isVisible() and not tab.enrol_box.isVisible()
    assert ctx.store.db.execute_sql("select count(*) from household").fetchone()[0] == 1
    assert "接收" in tab.result.text() or "received" in tab.result.text()
    assert label.isVisible() and label.text() == status_line(hub_client.status(ctx.store))
    # A change here is waiting until "Sync now".
    oplog.write(ctx.store, Household, [{"grid": g1, "number": "3-202"}])
    tab.refresh()
    assert hub_client.status(ctx.store)["waiting"] == 1
    tab.sync_button.click()
    assert hub_client.status(ctx.store)["waiting"] == 0
    office.sync()
    assert len(office.ids("household")) == 2
    office.close()


def test_status_line_warns_after_days_without_sync(store):
    from views.sync.office import status_line

    status = {"enrolled": True, "last_sync_at": 1_700_000_000, "waiting": 12, "days_since_sync": 4, "warn": True,
              "failures": 0, "next_attempt_at": None}
    line = status_line(status)
    assert "12" in line and "4" in line and "⚠" in line
    assert status_line({"enrolled": False}) == ""


def test_backoff_and_due(store):
    import random

    rng = random.Random(1)
    assert hub_client.backoff_seconds(1, rng) < hub_client.backoff_seconds(6, rng) <= 3600 * 1.2
    assert not hub_client.due(store)  # not enrolled
