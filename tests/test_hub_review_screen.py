"""同步与交接 → 办公室待审 on the office's administrator computer: real widgets, a real hub on loopback."""

from __future__ import annotations

from db.sync import hub_client
from tests.hub_helpers import Laptop, enrol_code, office_with_grids
from tests.test_hub_features import make_review_items


def office_world(ctx, hub, pin, tmp_path) -> dict:
    """ctx.store is the office's administrator computer (all grids); laptop A works grid 1."""
    hub_client.enrol(ctx.store, enrol_code(hub, pin, None, "社区办公室"))
    office = Laptop.__new__(Laptop)
    office.name, office.store = "office", ctx.store
    g1, g2 = office_with_grids(office)
    office.sync()
    a = Laptop(tmp_path, "zhang").enrol(hub, pin, [g1])
    a.sync()
    return {"hub": hub, "pin": pin, "office": office, "a": a, "g1": g1, "g2": g2}


def _select(panel, kind: str) -> hub_client.ReviewItem:
    row = next(i for i, item in enumerate(panel.items) if item.kind == kind)
    panel.table.selectRow(row)
    return panel.items[row]


def test_review_queue_tab(ctx, qtbot, sqlite_hub, hub_cert, tmp_path):
    from views.sync.screen import SyncScreen

    world = office_world(ctx, sqlite_hub, hub_cert[2], tmp_path)
    made = make_review_items(world)
    screen = SyncScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1200, 700)
    screen.show()
    tabs, panel = screen.tabs, screen.review_tab
    assert tabs.isTabVisible(tabs.indexOf(panel))
    tabs.setCurrentWidget(panel)  # opening the tab loads the queue from the hub
    assert panel.table.rowCount() == 4
    assert not any(b.isEnabled() for b in panel.buttons.values())  # nothing chosen for the person
    panel.refresh_button.click()
    assert panel.table.rowCount() == 4
    kinds = {panel.table.item(r, 0).text() for r in range(4)}
    assert len(kinds) == 3 and all(kinds)
    # An edit after a move: keep or undo; undo is carried out and the item leaves the list.
    item = _select(panel, "left_scope")
    assert panel.keep_button.isEnabled() and panel.undo_button.isEnabled() and not panel.seen_button.isEnabled()
    assert item.label in panel.table.item(panel.table.currentRow(), 1).text()
    panel.undo_button.click()
    assert ctx.errors.last_message is None or "undo" not in ctx.errors.last_message
    assert world["office"].rows("household")[item.row_id]["notes"] is None
    assert panel.table.rowCount() == 3 and item.key not in {i.key for i in panel.items}
    other = _select(panel, "left_scope")
    panel.keep_button.click()
    assert world["office"].rows("household")[other.row_id]["notes"] == "已搬走？"
    # The changed copy: looked into; the conflict: the newest value.
    _select(panel, "fault")
    assert panel.seen_button.isEnabled() and not panel.keep_button.isEnabled()
    panel.seen_button.click()
    _select(panel, "conflict")
    panel.newest_button.click()
    assert panel.table.rowCount() == 0 and not panel.items
    assert "Nothing" in panel.summary.text() or "没有" in panel.summary.text()
    assert ctx.store.db.execute_sql("select count(*) from conflict").fetchone()[0] == 0
    assert sqlite_hub.service.stats()["review"] == 0 and made["clash"]
    world["a"].close()


def test_review_queue_hidden_on_a_grid_workers_laptop(ctx, qtbot, sqlite_hub, hub_cert, tmp_path):
    from views.sync.screen import SyncScreen

    pin = hub_cert[2]
    office = Laptop(tmp_path, "office").enrol(sqlite_hub, pin, None)
    g1, _g2 = office_with_grids(office)
    office.sync()
    hub_client.enrol(ctx.store, enrol_code(sqlite_hub, pin, [g1], "张伟的电脑"))
    hub_client.sync(ctx.store)
    screen = SyncScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    assert not screen.tabs.isTabVisible(screen.tabs.indexOf(screen.review_tab))
    office.close()
