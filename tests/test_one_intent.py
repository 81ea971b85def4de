"""One user intent = one service = one transaction = one undo entry; the list refreshes only the rows
a write touched (db/register/search.py list_update, views/households/common.py PersonTableModel)."""

import pytest

from db import oplog
from db.errors import ValidationErrors
from db.register import households, persons, tags, undo
from tests.register_helpers import first_unit, households_screen_in_window
from views.households.person_dialog import PersonDialog


@pytest.fixture
def family(store):
    u = first_unit(store)
    changes = households.register_household(store, household={"unit_id": u, "door": "101"}, members=[
        {"relation": "户主", "name": "张三", "birth_date": "1950-01-01", "phone": "13812345678"},
        {"relation": "配偶", "name": "李四", "birth_date": "1952-03-04"}])
    pids = [c.row_id for c in changes if c.table == "person"]
    mids = {store.db.execute_sql("select person_id from membership where id = ?", (c.row_id,)).fetchone()[0]: c.row_id
            for c in changes if c.table == "membership"}
    return {"unit": u, "head": pids[0], "spouse": pids[1], "spouse_membership": mids[pids[1]]}


def person_row(store, pid):
    return store.db.execute_sql("select p.phone, p.notes, m.relation from person p join membership m "
                                "on m.person_id = p.id where p.id = ?", (pid,)).fetchone()


def undo_entries(store):
    return store.db.execute_sql("select count(*) from register_undo").fetchone()[0]


def log_size(store):
    return store.db.execute_sql("select count(*) from oplog").fetchone()[0]


def test_save_person_edit_writes_only_what_changed_in_one_undo_entry(store, family):
    before = undo_entries(store)
    changes = persons.save_person_edit(store, person_id=family["spouse"],
                                       changes={"phone": "13900001111", "name": "李四", "notes": None},
                                       relation="户主")
    assert {(c.table, tuple(sorted(set(c.fields) - {"deleted"}))) for c in changes} == {("person", ("phone",)),
                                                                    ("membership", ("relation",))}
    assert person_row(store, family["spouse"]) == ("13900001111", None, "户主")
    assert undo_entries(store) == before + 1
    # Nothing changed: nothing written, no undo entry.
    assert persons.save_person_edit(store, person_id=family["spouse"], changes={"phone": "13900001111"},
                                    relation="户主") == []
    assert undo_entries(store) == before + 1
    # One undo takes back the whole edit.
    undone = undo.undo_last_edit(store)
    assert {c.table for c in undone} == {"person", "membership"}
    assert person_row(store, family["spouse"]) == (None, None, "配偶")
    assert oplog.compare_with_log(store) == []


def test_a_failing_second_half_rolls_back_the_first(store, family, monkeypatch):
    before = (person_row(store, family["spouse"]), log_size(store), undo_entries(store))
    real_write = oplog.write

    def failing_write(store_, model, rows, **kw):
        if model._meta.table_name == "membership":
            raise RuntimeError("disk full")
        return real_write(store_, model, rows, **kw)

    monkeypatch.setattr(oplog, "write", failing_write)
    with pytest.raises(RuntimeError):
        persons.save_person_edit(store, person_id=family["spouse"], changes={"phone": "13900001111"},
                                 relation="户主", membership_id=family["spouse_membership"])
    monkeypatch.setattr(oplog, "write", real_write)
    assert (person_row(store, family["spouse"]), log_size(store), undo_entries(store)) == before


def test_bad_relation_changes_nothing(store, family):
    before = (person_row(store, family["spouse"]), log_size(store))
    with pytest.raises(ValidationErrors) as err:
        persons.save_person_edit(store, person_id=family["spouse"], changes={"phone": "13900001111"},
                                 relation="邻居")
    assert err.value.errors[0].field == "relation"
    assert (person_row(store, family["spouse"]), log_size(store)) == before


def test_the_tag_settings_save_is_one_undo_entry(store):
    before = undo_entries(store)
    changes = tags.save_tags(store, tags=[{"name": "独居老人", "visit_interval_days": 30},
                                          {"name": "低保", "visit_interval_days": 60, "sensitive": True}])
    assert len(changes) == 2 and undo_entries(store) == before + 1
    with pytest.raises(ValidationErrors):
        tags.save_tags(store, tags=[{"name": "残疾", "visit_interval_days": 90},
                                    {"name": "", "visit_interval_days": 30}])
    assert store.db.execute_sql("select count(*) from tag where name = '残疾'").fetchone()[0] == 0
    undo.undo_last_edit(store)
    assert store.db.execute_sql("select count(*) from tag where deleted = 0").fetchone()[0] == 0


def test_ctrl_z_undoes_the_whole_person_edit(ctx, qtbot, store, family):
    """Phone and relation edited in the person editor: one save, one Ctrl+Z takes back both."""
    from PySide6.QtCore import Qt

    from views.households.common import combo_value, set_combo

    window, screen = households_screen_in_window(ctx, qtbot)
    dlg = PersonDialog(ctx, person_id=family["spouse"], membership_id=family["spouse_membership"], relation="配偶")
    qtbot.addWidget(dlg)
    dlg.inputs["phone"].setText("13900001111")
    set_combo(dlg.inputs["relation"], "子女")
    assert combo_value(dlg.inputs["relation"]) == "子女"
    entries = undo_entries(store)
    dlg.save()
    assert dlg.result() == PersonDialog.DialogCode.Accepted
    assert person_row(store, family["spouse"]) == ("13900001111", None, "子女")
    assert undo_entries(store) == entries + 1
    # The list shows the new values (the row was marked stale and fetched again).
    model = screen.browser.model
    shown = [model.row(i) for i in range(model.rowCount())]
    assert any(r["person_id"] == family["spouse"] and r["relation"] == "子女" for r in shown)

    screen.browser.table.setFocus()
    qtbot.keyClick(screen.browser.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert person_row(store, family["spouse"]) == (None, None, "配偶")
    assert "已撤销" in window.statusBar().currentMessage()
    shown = [model.row(i) for i in range(model.rowCount())]
    assert any(r["person_id"] == family["spouse"] and r["relation"] == "配偶" for r in shown)


def test_an_edit_refetches_only_the_touched_rows(ctx, qtbot, store, family):
    from views.households import HouseholdsScreen

    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    browser = screen.browser
    model = browser.model
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=2000)
    ids_before = model.ids()
    changed_rows: list[int] = []
    model.dataChanged.connect(lambda top, bottom, *_: changed_rows.extend(range(top.row(), bottom.row() + 1)))
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))

    rowid = store.db.execute_sql("select rowid from register_search where person_id = ?",
                                 (family["head"],)).fetchone()[0]
    ctx.data_changed(persons.save_person_edit(store, person_id=family["head"], changes={"notes": "腿脚不便"}))
    assert changed_rows == [model.ids().index(rowid)] and resets == []  # the list stayed, one row went stale
    assert model.ids() is ids_before
    fetches = model.fetches
    assert model.row(model.ids().index(rowid))["person_id"] == family["head"]  # fetched again when asked
    assert model.fetches == fetches + 1

    # A new member changes which rows match: the list is replaced (read off the GUI thread).
    hid = store.db.execute_sql("select household_id from membership where person_id = ?",
                               (family["head"],)).fetchone()[0]
    ctx.data_changed(households.add_member(store, household_id=hid, relation="子女",
                                           person={"name": "张小三", "birth_date": "1980-05-06"}))
    assert resets == [1] and model.rowCount() == 3


def test_stale_rows_from_changes(store, family):
    from db.register.search import stale_rows
    from db.register.visits import record_visit

    rowid = store.db.execute_sql("select rowid from register_search where person_id = ?",
                                 (family["spouse"],)).fetchone()[0]
    everyone = {r[0] for r in store.db.execute_sql("select rowid from register_search")}
    edit = persons.save_person_edit(store, person_id=family["spouse"], changes={"notes": "x"})
    assert stale_rows(store, edit) == ({rowid}, False)
    visit = record_visit(store, household_id=store.db.execute_sql("select id from household").fetchone()[0],
                         visit_date="2026-01-05", visitor="王网格", met="张三")
    assert stale_rows(store, visit) == (everyone, False)  # the household's members show the next visit
    assert stale_rows(store, tags.save_tags(store, tags=[{"name": "独居老人", "visit_interval_days": 30}]))[1]


def test_search_index_hooks_are_installed_per_store(tmp_path):
    """Opening a Store installs its own index hooks; importing db.register installs nothing."""
    import subprocess
    import sys

    code = ("import db.register, db.register.index, db.oplog as o; "
            "assert not hasattr(o, 'ROW_HOOKS'); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert out.stdout.strip() == "ok", out.stderr
    from db.models.register import Person
    from db.store import Store

    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    try:
        seen = []
        oplog.add_row_hook(a, "person", lambda store, ids: seen.append((store, len(ids))))
        oplog.write(b, Person, [{"name": "王五"}])
        assert seen == []  # b's writes run b's hooks only
        oplog.write(a, Person, [{"name": "赵六"}])
        assert seen == [(a, 1)]
        assert b.db.execute_sql("select name from register_search").fetchall() == [("王五",)]
    finally:
        a.close()
        b.close()


def test_one_age_and_one_masking_rule():
    import datetime as dt

    from db.validation import age_on, mask

    on = dt.date(2026, 3, 1)
    assert age_on("1950-03-01", on) == 76 and age_on("1950-03-02", on) == 75
    assert age_on(dt.date(2000, 2, 29), on) == 26 and age_on("", on) is None and age_on("1950-13-40", on) is None
    assert mask("id_number", "11010519491231002X") == mask("id", "11010519491231002X") == "110105********002X"
    assert mask("phone", "13812345678") == mask("owner_phone", "13812345678") == "138****5678"
    assert mask("phone", "13812345678", full=True) == "13812345678"
    assert mask("name", "张三") == "张三" and mask("phone", None) is None


def test_every_audit_entry_has_one_timestamp_format(store, family):
    import re

    from db.ledger.export import record_export
    from db.printing_audit import record_full_print
    from db.register.audit import reveal

    reveal(store, table="person", row_id=family["head"], field="phone")
    record_full_print(store, form="household", target_table="household", target_ids=["h1", "h2"])
    record_export(store, path="x.xlsx", rows=3, unmasked=True, detail={})
    stamps = [r[0] for r in store.db.execute_sql("select at from audit_entry")]
    assert len(stamps) == 4
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", s) for s in stamps), stamps


def test_searches_and_the_refresh_after_an_edit_read_off_the_gui_thread(qtbot, store, family, tmp_path, monkeypatch):
    """With the real (threaded) task runner the list's queries never run on the GUI thread."""
    import threading

    from PySide6.QtCore import QSettings

    from db.register import search
    from desktop.context import AppContext
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import TaskRunner
    from views.households import HouseholdsScreen
    from views.households import browser as browser_module

    gui = threading.get_ident()
    threads: list[str] = []

    def spy(name, fn):
        def wrapper(*args, **kwargs):
            threads.append(name if threading.get_ident() != gui else f"{name} ON THE GUI THREAD")
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(browser_module, "search_ids", spy("search", search.search_ids))
    monkeypatch.setattr(browser_module, "list_update", spy("list_update", search.list_update))
    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    runner = TaskRunner(errors)
    ctx = AppContext(store=store, tasks=runner, errors=errors, settings=settings)
    try:
        screen = HouseholdsScreen(ctx)
        qtbot.addWidget(screen)
        screen.show()
        model = screen.browser.model
        qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=5000)
        ctx.data_changed(persons.save_person_edit(store, person_id=family["head"], changes={"phone": "13900001111"}))
        rowid = store.db.execute_sql("select rowid from register_search where person_id = ?",
                                     (family["head"],)).fetchone()[0]
        position = model.ids().index(rowid)
        qtbot.waitUntil(lambda: (model.row(position) or {}).get("phone") == "13900001111", timeout=5000)
        assert "search" in threads and "list_update" in threads
        assert not [t for t in threads if "GUI" in t], threads
    finally:
        runner.shutdown()
