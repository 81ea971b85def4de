"""Shared steps of the register tests."""

from __future__ import annotations

from db.register import places


def first_building_and_unit(store) -> tuple[str, str]:
    """第一网格 › 幸福小区 › 3栋 › 1单元, saved through the place service: (building id, unit id)."""
    g = places.save_place(store, level="grid", name="第一网格")[0].row_id
    c = places.save_place(store, level="compound", name="幸福小区", parent_id=g)[0].row_id
    b = places.save_place(store, level="building", name="3栋", parent_id=c)[0].row_id
    return b, places.save_place(store, level="unit", name="1单元", parent_id=b)[0].row_id


def first_unit(store) -> str:
    """第一网格 › 幸福小区 › 3栋 › 1单元, saved through the place service; the unit's id."""
    return first_building_and_unit(store)[1]


def heping_household(store) -> str:
    """第二网格 (grid worker 王网格) › 和平小区 › 1栋 › 1单元, door 101 with 张三 as head; the household's id."""
    from db import oplog
    from db.models.register import Grid
    from db.register import households

    g = places.save_place(store, level="grid", name="第二网格")[0].row_id
    oplog.write(store, Grid, [{"id": g, "worker": "王网格"}])
    c = places.save_place(store, level="compound", name="和平小区", parent_id=g)[0].row_id
    b = places.save_place(store, level="building", name="1栋", parent_id=c)[0].row_id
    u = places.save_place(store, level="unit", name="1单元", parent_id=b)[0].row_id
    changes = households.register_household(store, household={"unit_id": u, "door": "101"},
                                            members=[{"relation": "户主", "name": "张三"}])
    return next(ch.row_id for ch in changes if ch.table == "household")


def households_screen_in_window(ctx, qtbot):
    """The households screen in a main window, shown and active (so shortcuts reach it): (window, screen)."""
    from PySide6.QtWidgets import QMainWindow

    from views.households import HouseholdsScreen

    window = QMainWindow()
    qtbot.addWidget(window)
    screen = HouseholdsScreen(ctx)
    window.setCentralWidget(screen)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window, screen
