"""Issue 11 points that had no test of their own: saving a household in the real editor is
confirmed in the status bar, and a long address in the register list loses its middle, not its
door number, at 150 % text."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QMainWindow

from db.register import households, places
from desktop import appearance
from views.households import HouseholdsScreen
from views.households.browser import RegisterBrowser

LONG_COMPOUND = "百步亭花园现代城二期东区安居苑"


@pytest.fixture
def text_size(qapp):
    before = QFont(qapp.font())
    yield lambda percent: appearance.apply_text_scale(percent, qapp)
    qapp.setFont(before)


def _household(store, compound: str = "和平小区", door: str = "101") -> int:
    g = places.save_place(store, level="grid", name="第二网格")[0].row_id
    c = places.save_place(store, level="compound", name=compound, parent_id=g)[0].row_id
    b = places.save_place(store, level="building", name="12栋", parent_id=c)[0].row_id
    u = places.save_place(store, level="unit", name="3单元", parent_id=b)[0].row_id
    changes = households.register_household(store, household={"unit_id": u, "door": door},
                                            members=[{"relation": "户主", "name": "张三"}])
    return next(ch.row_id for ch in changes if ch.table == "household")


def test_saving_a_household_in_the_real_editor_is_confirmed_in_the_status_bar(ctx, qtbot, store):
    household = _household(store)
    window = QMainWindow()
    qtbot.addWidget(window)
    browser = RegisterBrowser(ctx, window)
    window.setCentralWidget(browser)
    window.show()
    browser.start()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=5000)
    browser.table.selectRow(0)
    assert browser.selected()["household_id"] == household
    seen = []

    def save_the_open_editor():
        dialog = QApplication.activeModalWidget()
        seen.append(type(dialog).__name__)
        dialog.door.setText("102")
        dialog.save()

    QTimer.singleShot(0, save_the_open_editor)
    browser.edit_household()
    assert seen == ["HouseholdDialog"]
    assert window.statusBar().currentMessage() == "住户信息已保存。"
    from db.models.register import Household

    with store.activated():
        assert Household.get_by_id(household).door == "102"


def test_a_long_address_keeps_its_door_number_at_150_percent(ctx, qtbot, store, text_size):
    text_size(150)
    _household(store, compound=LONG_COMPOUND, door="1302")
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366 - 180, 738)  # the screen's share of a 1366x768 window beside the navigation
    screen.show()
    browser = screen.browser
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=5000)
    columns = [browser.model.headerData(i, Qt.Orientation.Horizontal) for i in range(browser.model.columnCount())]
    col = columns.index("住址")
    address = browser.model.data(browser.model.index(0, col))
    assert address.startswith(LONG_COMPOUND) and address.endswith("1302")
    width = browser.table.columnWidth(col) - 8  # the cell's text margins
    shown = QFontMetrics(browser.table.font()).elidedText(address, browser.table.textElideMode(), width)
    assert shown != address, "the address fits: the test shows nothing"
    assert shown.endswith("1302") and "…" in shown, shown


@pytest.mark.parametrize("scale", [100, 125])
@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_nothing_is_cut_at_100_and_125_percent(qtbot, scale, width, height):
    """Deliver 4 asks for 100 %, 125 % and 150 %; tests/test_layout_150.py walks 150 %."""
    from test_layout_150 import _shell, _stop, _walk

    app, shell = _shell(qtbot, scale)
    try:
        assert _walk(app, shell, width, height) == {}
    finally:
        _stop(shell)
