"""First-day feedback: visits (走访人, days overdue, 未遇 follow-ups, coverage note) and saving
(status-bar confirmation, Enter with a bad ID, the check-digit message)."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from db.register import visits
from tests.register_helpers import heping_household
from views.visits import VisitsScreen, _due_text, _last_visit_text, _overdue_text
from views.visits.visit_dialog import VisitDialog


@pytest.fixture
def household(store):
    return heping_household(store)


def test_the_visitor_is_the_person_set_in_settings(ctx, qtbot, household):
    ctx.settings.set_operator_name("李娜")
    dialog = VisitDialog(ctx, household_id=household)
    qtbot.addWidget(dialog)
    assert dialog.visitor.text() == "李娜"  # not the grid's worker 王网格
    ctx.settings.set_operator_name("")
    other = VisitDialog(ctx, household_id=household)
    qtbot.addWidget(other)
    assert other.visitor.text() == "王网格"


def test_a_visit_not_yet_due_shows_no_negative_overdue(store, household):
    today = dt.date.today()
    visits.record_visit(store, household_id=household, visit_date=(today - dt.timedelta(days=170)).isoformat(),
                        visitor="李娜", met="张三")
    (row,) = visits.visits_due(store, within_days=30)
    assert row["overdue_days"] < 0  # the service says how far ahead; the screen shows nothing
    assert _overdue_text(row) == ""
    assert _due_text(row) == row["due_date"]


def test_a_not_home_follow_up_is_marked_and_the_last_visit_filled(store, household):
    today = dt.date.today()
    visits.record_visit(store, household_id=household, visit_date=(today - dt.timedelta(days=10)).isoformat(),
                        visitor="李娜", not_home=True)
    (row,) = visits.visits_due(store, within_days=0)
    assert _due_text(row).endswith("（未遇复访）")
    assert _last_visit_text(row) == f"{(today - dt.timedelta(days=10)).isoformat()} 未遇"
    assert _overdue_text(row) == "3"  # a week after the attempt


def test_the_due_table_on_screen(ctx, qtbot, household, store):
    today = dt.date.today()
    visits.record_visit(store, household_id=household, visit_date=(today - dt.timedelta(days=10)).isoformat(),
                        visitor="李娜", not_home=True)
    screen = VisitsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    qtbot.waitUntil(lambda: screen.due_model.rowCount() == 1, timeout=5000)
    cols = [screen.due_model.headerData(i, Qt.Orientation.Horizontal) for i in range(screen.due_model.columnCount())]
    row = {c: screen.due_model.index(0, i).data() for i, c in enumerate(cols)}
    assert "未遇" in row["上次走访"] and "未遇复访" in row["应走访日期"]


def test_coverage_and_overdue_are_explained(ctx, qtbot):
    from PySide6.QtWidgets import QLabel

    from views.households.statistics import StatisticsView

    view = StatisticsView(ctx)
    qtbot.addWidget(view)
    texts = [w.text() for w in view.findChildren(QLabel)]
    assert any("覆盖率" in t and "逾期" in t and "182" in t for t in texts)


def test_the_check_digit_message_asks_to_compare_every_digit(store):
    from db.errors import ValidationError
    from db.validation import parse_id_number

    with pytest.raises(ValidationError) as err:
        parse_id_number("110105194912310021")
    message = err.value.message
    assert "校验码" in message and "逐位核对" in message
    assert "应为" not in message and "X" not in message.replace("*", "")  # no "right" last character


def test_enter_with_an_invalid_id_says_nothing_was_saved_and_why(ctx, qtbot):
    from views.households.person_dialog import PersonDialog

    dialog = PersonDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.inputs["name"].setText("张三")
    field = dialog.inputs["id_number"]
    field.setFocus()
    qtbot.keyClicks(field, "110105194912310021")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert dialog.general.isVisible() and dialog.general.text().startswith("未保存：")
    assert "逐位核对" in dialog.general.text()
    assert dialog.focusWidget() is field  # the field to correct


def test_saving_a_household_is_confirmed_in_the_status_bar(ctx, qtbot, household, monkeypatch):
    from views.households import browser as browser_module
    from views.households.browser import RegisterBrowser

    window = QMainWindow()
    qtbot.addWidget(window)
    browser = RegisterBrowser(ctx, window)
    window.setCentralWidget(browser)

    class Saved:
        DialogCode = VisitDialog.DialogCode

        def __init__(self, *args, **kwargs):
            pass

        def exec(self):
            return VisitDialog.DialogCode.Accepted

    monkeypatch.setattr("views.households.household_dialog.HouseholdDialog", Saved)
    browser.new_household()
    assert window.statusBar().currentMessage() == "新住户已保存。"
    assert browser_module  # the module under test
