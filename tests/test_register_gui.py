"""The register screens in real widgets (pytest-qt): a household with two members, editing one,
search by initials, a visit, undo, inline validation, masked numbers shown in full with an audit."""

import pytest
from PySide6.QtCore import QSettings

from db import oplog
from db.register import tags
from desktop.context import AppContext
from desktop.errors import ErrorReporter
from desktop.settings import Settings
from desktop.tasks import TaskRunner
from tests.register_helpers import first_unit, heping_household, households_screen_in_window
from views.households import HouseholdsScreen
from views.households.household_dialog import HouseholdDialog
from views.households.person_dialog import PersonDialog
from views.visits import VisitsScreen
from views.visits.visit_dialog import VisitDialog


@pytest.fixture
def ctx(store, tmp_path, qtbot):
    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    return AppContext(store=store, tasks=TaskRunner(errors, synchronous=True), errors=errors, settings=settings)


@pytest.fixture
def unit(store):
    return first_unit(store)


def fill_person(ctx, qtbot, relation, **fields):
    dlg = PersonDialog(ctx, collect=True, relation=relation)
    qtbot.addWidget(dlg)
    for key, value in fields.items():
        dlg.inputs[key].setText(value)
    dlg.save()
    assert dlg.result() == PersonDialog.DialogCode.Accepted
    return dlg


def test_register_flow(ctx, qtbot, unit, store):
    tags.ensure_default_tags(store)
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    browser = screen.browser
    assert browser.ready and browser.model.rowCount() == 0

    # A new household with two members, saved together.
    hh = HouseholdDialog(ctx, unit_id=unit)
    qtbot.addWidget(hh)
    assert hh.unit_box.currentText() == "1单元"
    hh.door.setText("101")
    head = fill_person(ctx, qtbot, "户主", name="张三", id_number="11010519491231002X", phone="13812345678")
    hh.accept_member(head.values, head.relation)
    spouse = fill_person(ctx, qtbot, "配偶", name="李四", birth_date="1950-02-03")
    hh.accept_member(spouse.values, spouse.relation)
    assert hh.members_model.rowCount() == 2
    hh.save()
    assert hh.result() == HouseholdDialog.DialogCode.Accepted
    assert browser.model.rowCount() == 2  # the list refreshed from the changes

    # The list shows masked numbers.
    first = browser.model.row(0)
    shown = [browser.model.data(browser.model.index(0, c)) for c in range(browser.model.columnCount())]
    assert "110105********002X" in shown and "138****5678" in shown and first["name"] == "张三"

    # Search by initials (debounced as you type).
    qtbot.keyClicks(browser.search, "zs")
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=2000)
    assert browser.model.row(0)["name"] == "张三"
    assert "1" in browser.count.text()

    # Edit one member: the phone is masked until shown in full (an audit entry is written).
    row = browser.model.row(0)
    person = PersonDialog(ctx, person_id=row["person_id"], membership_id=row["membership_id"], relation="户主")
    qtbot.addWidget(person)
    assert person.inputs["phone"].text() == "138****5678" and person.inputs["phone"].isReadOnly()
    person.reveal_buttons["phone"].click()
    assert person.inputs["phone"].text() == "13812345678"
    assert store.db.execute_sql("select count(*) from audit_entry where action = 'reveal'").fetchone()[0] == 1
    person.inputs["phone"].setText("13900001111")
    person.inputs["former_name"].setText("张山")
    person.save()
    assert person.result() == PersonDialog.DialogCode.Accepted
    assert store.db.execute_sql("select phone, former_name from person where id = ?",
                                (row["person_id"],)).fetchone() == ("13900001111", "张山")

    # Record a visit: the household's next visit moves from "never visited" to a date.
    assert browser.model.row(0)["due_date"] == ""
    visit = VisitDialog(ctx, household_id=row["household_id"], address=row["address"])
    qtbot.addWidget(visit)
    visit.met.setEditText("张三")
    visit.situation.setPlainText("一切正常")
    visit.save()
    assert visit.result() == VisitDialog.DialogCode.Accepted
    assert browser.model.row(0)["due_date"] not in ("", None)
    assert browser.model.row(0)["last_visit"] == visit.date.text()

    # Undo (Ctrl+Z) the visit: a new op tombstones it; the household is due again.
    browser.table.setFocus()
    browser.undo()
    assert store.db.execute_sql("select deleted from visit").fetchone()[0] == 1
    assert browser.model.row(0)["due_date"] == ""
    assert oplog.compare_with_log(store) == []


def test_person_editor_validates_inline_in_chinese(ctx, qtbot):
    dlg = PersonDialog(ctx, collect=True, relation="户主")
    qtbot.addWidget(dlg)
    dlg.inputs["name"].setText("王五")
    dlg.inputs["id_number"].setText("110105194912310021")  # wrong check character
    dlg.inputs["phone"].setText("12345")
    dlg.save()
    assert dlg.result() != PersonDialog.DialogCode.Accepted
    assert not dlg.messages["id_number"].isHidden() and "校验码" in dlg.messages["id_number"].text()
    assert not dlg.messages["phone"].isHidden() and "电话" in dlg.messages["phone"].text()
    dlg.inputs["id_number"].setText("11010519491231002X")
    dlg.inputs["phone"].setText("13812345678")
    dlg.inputs["birth_date"].setText("1950-01-01")
    assert dlg.check() is not None
    assert "证件号码" in dlg.messages["birth_date"].text()  # flagged, not refused
    _answer(qtbot, "keepEntered")  # asked which to keep
    dlg.save()
    assert dlg.result() == PersonDialog.DialogCode.Accepted


def test_visits_screen_lists_due_households(ctx, qtbot, unit, store):
    from db.register import households

    households.register_household(store, household={"unit_id": unit, "door": "101"},
                                  members=[{"relation": "户主", "name": "赵六"}])
    screen = VisitsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    assert screen.due_model.rowCount() == 1
    assert screen.due_model.rows[0]["head"] == "赵六"
    shown = screen.due_model.data(screen.due_model.index(0, 6))
    assert shown == "从未走访"


def test_statistics_chart_saved_as_image(ctx, qtbot, unit, store, tmp_path):
    from db.register import households

    households.register_household(store, household={"unit_id": unit, "door": "101"}, members=[
        {"relation": "户主", "name": "赵六", "birth_date": "1950-01-01", "sex": "男"}])
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentWidget(screen.statistics)
    assert set(screen.statistics.charts) == {"pyramid", "tags", "residence", "coverage"}
    target = tmp_path / "pyramid.png"
    assert screen.statistics.save_chart("pyramid", str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_places_and_tag_intervals_are_edited_in_the_screen(ctx, qtbot, store):
    from PySide6.QtCore import Qt

    from db.register.places import place_tree
    from views.households.settings_dialogs import TagsDialog, add_place, rename_place

    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    browser = screen.browser
    add_place(ctx, browser, None, name="第一网格")
    grid = place_tree(store)[0]
    add_place(ctx, browser, ("grid", grid["id"]), name="幸福小区")
    rename_place(ctx, browser, ("grid", grid["id"]), "第一网格", name="第1网格")
    tree = place_tree(store)
    assert [(g["name"], [c["name"] for c in g["children"]]) for g in tree] == [("第1网格", ["幸福小区"])]
    assert browser.tree.topLevelItem(0).child(0).text(0) == "第1网格"  # the tree followed the changes

    tags.ensure_default_tags(store)
    dlg = TagsDialog(ctx)
    qtbot.addWidget(dlg)
    row = [t["name"] for t in dlg.tags].index("低保")
    dlg.spins[row].setValue(14)
    qtbot.keyClick(dlg.table, Qt.Key.Key_Return)  # Enter saves
    dlg.save()
    assert {t["name"]: t["visit_interval_days"] for t in tags.list_tags(store)}["低保"] == 14
    # Ctrl+Z in the register undoes the last edit (the tag interval) with a new op.
    screen.activateWindow()
    qtbot.waitUntil(screen.isActiveWindow, timeout=2000)
    browser.table.setFocus()
    qtbot.keyClick(browser.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {t["name"]: t["visit_interval_days"] for t in tags.list_tags(store)}["低保"] == 30


def test_sensitive_tags_are_not_named_in_the_list(ctx, qtbot, unit, store):
    from db.register import households

    tags.ensure_default_tags(store)
    tag_ids = {t["name"]: t["id"] for t in tags.list_tags(store)}
    changes = households.register_household(store, household={"unit_id": unit, "door": "101"},
                                            members=[{"relation": "户主", "name": "赵六"}])
    pid = next(c.row_id for c in changes if c.table == "person")
    tags.tag_person(store, person_id=pid, tag_id=tag_ids["社区矫正"])
    tags.tag_person(store, person_id=pid, tag_id=tag_ids["低保"])
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    model = screen.browser.model
    column = [k for k, _label in model.COLUMNS].index("tags")
    assert model.data(model.index(0, column)) == "低保、敏感标签 1 项"
    # Filtering by the sensitive tag still works.
    screen.browser.tag.setCurrentIndex(screen.browser.tag.findData(tag_ids["社区矫正"]))
    assert model.rowCount() == 1


def test_list_pages_are_read_off_the_gui_thread(ctx, qtbot, unit, store):
    from db.register import households
    from db.register.search import Filters, search_ids
    from views.households.common import PersonTableModel

    households.register_household(store, household={"unit_id": unit, "door": "101"}, members=[
        {"relation": "户主" if i == 0 else "其他", "name": f"住户{i}"} for i in range(450)])
    runner = TaskRunner(ctx.errors)
    try:
        model = PersonTableModel(lambda: store, tasks=runner)
        model.set_ids(search_ids(store, Filters(), limit=None).ids)
        assert model.row(0) is not None  # the first page comes at once
        assert model.row(420) is None  # a later page is requested, not waited for
        with qtbot.waitSignal(model.dataChanged, timeout=5000):
            pass
        qtbot.waitUntil(lambda: model.row(420) is not None, timeout=5000)
        assert model.row(420)["name"].startswith("住户")
    finally:
        runner.shutdown()


def test_household_owner_phone_masked_until_shown(ctx, qtbot, unit, store):
    from db.register import households

    changes = households.register_household(store, household={
        "unit_id": unit, "door": "101", "house_use": "出租", "owner_name": "房东", "owner_phone": "13812345678"})
    hid = next(c.row_id for c in changes if c.table == "household")
    dlg = HouseholdDialog(ctx, household_id=hid)
    qtbot.addWidget(dlg)
    assert dlg.owner_phone.text() == "138****5678" and dlg.owner_phone.isReadOnly()
    assert "owner_phone" not in dlg.form_values()  # a masked number is never written back
    dlg.reveal_button.click()
    assert dlg.owner_phone.text() == "13812345678"
    assert store.db.execute_sql("select target_table, detail from audit_entry").fetchone() == ("household",
                                                                                               "owner_phone")


def test_ctrl_z_anywhere_in_the_screens_undoes_and_says_what(ctx, qtbot, unit, store):
    from PySide6.QtCore import Qt

    from db.register import households, visits

    changes = households.register_household(store, household={"unit_id": unit, "door": "101", "notes": "旧备注"},
                                            members=[{"relation": "户主", "name": "张三", "birth_date": "1950-01-01"}])
    hid = next(c.row_id for c in changes if c.table == "household")
    window, screen = households_screen_in_window(ctx, qtbot)
    ctx.data_changed(households.update_household(store, household_id=hid, values={"notes": "新备注"}))
    # Focus in the search field (where the register starts): Ctrl+Z still undoes the edit.
    screen.browser.search.setFocus()
    qtbot.keyClicks(screen.browser.search, "zs")
    qtbot.keyClick(screen.browser.search, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.db.execute_sql("select notes from household where id = ?", (hid,)).fetchone()[0] == "旧备注"
    message = window.statusBar().currentMessage()
    assert "已撤销" in message and "幸福小区3栋1单元101" in message and "备注" in message

    # The visits screen: record a visit, Ctrl+Z from its table.
    visits_screen = VisitsScreen(ctx)
    window.setCentralWidget(visits_screen)
    qtbot.waitUntil(visits_screen.isVisible, timeout=2000)
    ctx.data_changed(visits.record_visit(store, household_id=hid, visit_date="2026-01-05", visitor="王网格", met="张三"))
    visits_screen.due_view.setFocus()
    qtbot.keyClick(visits_screen.due_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.db.execute_sql("select deleted from visit").fetchone()[0] == 1
    assert "登记走访" in window.statusBar().currentMessage()


def _answer(qtbot, name):
    """Click the button `name` of the message box that the dialog opens next."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

    def click():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        box.findChild(QPushButton, name).click()

    QTimer.singleShot(50, click)


def _person(store, unit):
    from db.register import households

    changes = households.register_household(store, household={"unit_id": unit, "door": "101"}, members=[
        {"relation": "户主", "name": "张三", "birth_date": "1950-01-01", "sex": "男"}])
    return next(c.row_id for c in changes if c.table == "person")


@pytest.mark.parametrize(("answer", "expected"), [("keepEntered", ("1950-01-01", "男")),
                                                  ("fromId", ("1949-12-31", "女"))])
def test_id_number_disagreeing_with_sex_and_birth_asks_which_to_keep(ctx, qtbot, unit, store, answer, expected):
    pid = _person(store, unit)
    dlg = PersonDialog(ctx, person_id=pid)
    qtbot.addWidget(dlg)
    dlg.inputs["id_number"].setText("11010519491231002X")  # a woman born 1949-12-31
    dlg.check()
    assert "1949-12-31" in dlg.messages["birth_date"].text()
    assert "证件号码" in dlg.messages["id_number"].text()
    _answer(qtbot, answer)
    dlg.save()
    assert dlg.result() == PersonDialog.DialogCode.Accepted
    assert store.db.execute_sql("select birth_date, sex, id_number from person where id = ?",
                                (pid,)).fetchone() == (*expected, "11010519491231002X")


def test_masked_id_field_says_how_and_typing_replaces_it(ctx, qtbot, unit, store):
    from PySide6.QtCore import Qt

    from db.register import persons

    pid = _person(store, unit)
    persons.save_person(store, person_id=pid, values={"id_number": "110105195001010012", "sex": "男",
                                                      "birth_date": "1950-01-01"})
    dlg = PersonDialog(ctx, person_id=pid)
    qtbot.addWidget(dlg)
    field = dlg.inputs["id_number"]
    assert field.isReadOnly() and "显示完整" in field.toolTip()
    dlg.show()
    field.setFocus()
    qtbot.waitUntil(lambda: "显示完整" in dlg.messages["id_number"].text(), timeout=2000)
    qtbot.keyClicks(field, "110105195001010039")
    assert not dlg.reveal_buttons["id_number"].isEnabled()
    assert not field.isReadOnly() and field.text() == "110105195001010039"
    qtbot.keyClick(field, Qt.Key.Key_Return)
    dlg.save()
    assert store.db.execute_sql("select id_number from person where id = ?", (pid,)).fetchone()[0] == \
        "110105195001010039"
    assert store.db.execute_sql("select count(*) from audit_entry").fetchone()[0] == 0


def test_visit_dialog_defaults_to_the_grid_worker_then_the_last_visitor(ctx, qtbot, store):
    from PySide6.QtWidgets import QMainWindow

    hid = heping_household(store)
    window = QMainWindow()
    qtbot.addWidget(window)
    first = VisitDialog(ctx, household_id=hid, address="和平小区1栋1单元101", parent=window)
    assert first.visitor.text() == "王网格"
    first.visitor.setText("李志愿")
    first.met.setEditText("张三")
    first.save()
    assert first.result() == VisitDialog.DialogCode.Accepted
    message = window.statusBar().currentMessage()
    assert "已登记走访" in message and "和平小区1栋1单元101" in message
    second = VisitDialog(ctx, household_id=hid, parent=window)
    assert second.visitor.text() == "李志愿"


def test_a_community_adds_its_own_tag_with_an_interval_and_sensitivity(ctx, qtbot, store):
    tags.ensure_default_tags(store)
    before = len(tags.list_tags(store))
    dlg = TagsDialog_for(ctx, qtbot)
    dlg.add_tag()
    row = dlg.table.rowCount() - 1
    dlg.table.item(row, 0).setText("高龄补贴")
    dlg.spins[row].setValue(60)
    dlg.sensitive[row].setChecked(True)
    dlg.save()
    found = {t["name"]: t for t in tags.list_tags(store)}
    assert len(found) == before + 1
    assert found["高龄补贴"]["visit_interval_days"] == 60 and found["高龄补贴"]["sensitive"] == 1
    # An empty new row is ignored, not saved as a nameless tag.
    dlg2 = TagsDialog_for(ctx, qtbot)
    dlg2.add_tag()
    dlg2.save()
    assert len(tags.list_tags(store)) == before + 1


def TagsDialog_for(ctx, qtbot):
    from views.households.settings_dialogs import TagsDialog

    dlg = TagsDialog(ctx)
    qtbot.addWidget(dlg)
    return dlg


def test_an_existing_resident_moves_into_another_household_from_its_editor(ctx, qtbot, unit, store):
    from db.register import households

    first = households.register_household(store, household={"unit_id": unit, "door": "101"}, members=[
        {"relation": "户主", "name": "张三", "id_number": "11010519491231002X"}])
    person = next(c.row_id for c in first if c.table == "person")
    second = households.register_household(store, household={"unit_id": unit, "door": "202"})
    target = next(c.row_id for c in second if c.table == "household")
    dlg = HouseholdDialog(ctx, household_id=target)
    qtbot.addWidget(dlg)
    dlg.move_in_existing(person, "户主", date="2026-11-20")
    assert [r["person_id"] for r in dlg.members_model.rows] == [person]
    live = dict(store.db.execute_sql("select household_id, until from membership where person_id = ? "
                                     "and deleted = 0", (person,)).fetchall())
    old = next(h for h in live if h != target)
    assert live[target] is None and live[old] == "2026-11-20"  # the earlier membership ended, and is kept
    events = store.db.execute_sql("select kind, event_date from life_event where person_id = ?", (person,)).fetchall()
    assert ("move_in", "2026-11-20") in events
    assert oplog.compare_with_log(store) == []


def test_statistics_charts_get_room_of_their_own(ctx, qtbot, store):
    """With a demo community in a 1440x900 window none of the four charts is squashed into a strip
    (the tag chart used to get a few pixels beside the pyramid)."""
    from PySide6.QtWidgets import QApplication

    from db.demo import generate
    from desktop import appearance

    app = QApplication.instance()
    font = app.font()
    appearance.apply_text_scale(100, app)  # the app's CJK font, as users see it
    generate(store, households=150)
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1120, 760)  # the screen's share of a 1440x900 window
    screen.show()
    screen.tabs.setCurrentWidget(screen.statistics)
    qtbot.waitUntil(lambda: screen.statistics.charts["tags"].isVisible(), timeout=2000)
    em = screen.fontMetrics().horizontalAdvance("会")
    sizes = {key: (view.width(), view.height()) for key, view in screen.statistics.charts.items()}
    line = screen.fontMetrics().height()
    app.setFont(font)  # other tests keep the default font
    for key, (width, height) in sizes.items():
        assert width >= 28 * em and height >= 18 * line, key


def test_age_pyramid_ticks_are_round_counts(ctx, qtbot, store):
    """The pyramid's count axis has round ticks each side (0, 20, 40 …), not thirds of the largest
    band (it read "59 30 0 30 59"); men's counts to the left carry no minus sign."""
    from PySide6.QtCharts import QCategoryAxis

    from db.demo import generate

    generate(store, households=40)
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentWidget(screen.statistics)
    qtbot.waitUntil(lambda: "pyramid" in screen.statistics.charts, timeout=10000)
    chart = screen.statistics.charts["pyramid"].chart()
    axis = next(a for a in chart.axes() if isinstance(a, QCategoryAxis))
    values = [axis.endValue(label) for label in axis.categoriesLabels()]
    step = values[1] - values[0]
    assert values == [values[0] + i * step for i in range(len(values))] and 0 in values
    assert str(int(step))[0] in "125" and set(str(int(step))[1:]) <= {"0"}
    assert [label.strip() for label in axis.categoriesLabels()] == [str(abs(int(v))) for v in values]
    assert axis.min() == values[0] == -axis.max()
