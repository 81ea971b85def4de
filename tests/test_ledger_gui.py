"""The import wizard and the export dialog as a person uses them (real widgets, real database)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox, QWizard

from db.ledger.commit import list_batches
from db.ledger.mapping import mapping_names
from desktop.context import AppContext
from desktop.errors import ErrorReporter
from desktop.settings import Settings
from desktop.tasks import TaskRunner
from tests.ledger_helpers import import_through_wizard, preview_of_a_changed_phone

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"


@pytest.fixture
def ctx(store, qtbot, tmp_path):
    runner = TaskRunner(synchronous=True)
    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    context = AppContext(store=store, tasks=runner, errors=errors, settings=settings)
    runner.errors = errors
    yield context
    runner.shutdown()
    box = errors.last_box
    if box is not None and shiboken6.isValid(box):
        box.close()  # a message box left open would answer another test's dialog helper


def persons(store) -> int:
    return store.db.execute_sql("select count(*) from person where deleted = 0").fetchone()[0]


def community_copy(tmp_path):
    """The community ledger in the test's folder (the skipped rows' workbook is written next to it)."""
    source = tmp_path / "community.xlsx"
    source.write_bytes((FIXTURES / "community.xlsx").read_bytes())
    return source


def test_import_wizard_file_mapping_preview_commit_and_undo(ctx, qtbot, tmp_path):
    from views.ledger.import_wizard import ImportWizard

    changed = []
    ctx.events.sig_data_changed.connect(changed.append)
    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.file_page
    assert not page.isComplete()
    source = community_copy(tmp_path)
    page.path_edit.setText(str(source))
    assert page.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.mapping_page
    mp = wizard.mapping_page
    assert mp.sheet_combo.count() == 2
    headers = wizard.plan.sheets[0].layout.headers
    notes_col = headers.index("备注")
    assert mp.combos[notes_col].currentText() == "备注"
    mp.set_field(notes_col, None)  # the person decides not to import the notes column
    assert notes_col not in wizard.plan.sheets[0].mapping
    mp.name_edit.setText("社区人口表")
    mp.save_mapping()
    assert mapping_names(ctx.store) == ["社区人口表"]
    wizard.next()
    pp = wizard.preview_page
    assert wizard.currentPage() is pp
    assert "新增 7 人" in pp.summary.text() and "有错误 3 行" in pp.summary.text()
    assert wizard.model.rowCount() == 3  # errors shown first
    assert "4.20102E+17" in wizard.model.details(wizard.model.row_result(0))
    assert not pp.isComplete()  # errors: import only when skipping them is chosen
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "导入"
    pp.skip_box.setChecked(True)
    assert pp.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.done_page
    assert persons(ctx.store) == 7
    assert "李四" in {r[0] for r in ctx.store.db.execute_sql("select name, notes from person")}
    assert ctx.store.db.execute_sql("select notes from person where name = '李四'").fetchone() == (None,)
    assert changed and any(c.table == "person" for c in changed[0])
    errors = tmp_path / "community-错误.xlsx"
    assert str(errors) in wizard.done_page.label.text()
    assert [r[1] for r in openpyxl.load_workbook(errors).active.iter_rows(min_row=2, values_only=True)] == [
        "赵六", "孙九", "周十"]
    wizard.done_page.undo_button.click()
    assert persons(ctx.store) == 0
    assert list_batches(ctx.store)[0].undone_at


def test_preview_lists_updates_with_their_diff(ctx, qtbot, tmp_path):
    wizard = preview_of_a_changed_phone(ctx, qtbot, tmp_path)
    assert persons(ctx.store) == 2
    assert wizard.model.rowCount() == 1
    assert "136****2222 → 136****9999" in wizard.model.details(wizard.model.row_result(0))


def test_a_file_without_a_table_is_explained_and_the_wizard_stays(ctx, qtbot, tmp_path):
    from views.ledger.import_wizard import ImportWizard

    path = tmp_path / "notes.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["只有说明"])
    wb.save(path)
    wizard = ImportWizard(ctx, path=str(path))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    assert wizard.currentPage() is wizard.file_page
    assert "没有找到表头" in ctx.errors.last_message


def test_export_dialog_masked_by_default_and_unmasked_only_when_confirmed(ctx, qtbot, tmp_path, monkeypatch):
    from views.ledger.export_dialog import ExportDialog

    import_through_wizard(ctx, qtbot)
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    assert "2 名居民" in dialog.count_label.text()
    out = tmp_path / "list.xlsx"
    dialog.path_edit.setText(str(out))
    dialog.export_button.click()
    assert dialog.last_count == 2
    ids = [r[4] for r in openpyxl.load_workbook(out).active.iter_rows(min_row=3, values_only=True)]
    assert all("*" in i for i in ids)
    dialog.unmasked_box.setChecked(True)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    dialog.export()  # declined: nothing written, nothing recorded
    actions = [a for (a,) in ctx.store.db.execute_sql("select action from audit_entry")]
    assert actions == ["export"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog.export()
    ids = [r[4] for r in openpyxl.load_workbook(out).active.iter_rows(min_row=3, values_only=True)]
    assert "310115198808085633" in ids
    rows = ctx.store.db.execute_sql("select action, detail from audit_entry order by at").fetchall()
    assert rows[-1][0] == "export_unmasked" and json.loads(rows[-1][1])["rows"] == 2


def test_export_dialog_adds_a_department_template_and_fills_it(ctx, qtbot, tmp_path):
    from views.ledger.export_dialog import ExportDialog

    import_through_wizard(ctx, qtbot)
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    assert not dialog.template_radio.isEnabled()
    mapping_dialog = dialog.add_template(str(FIXTURES / "dept-template.xlsx"))
    assert mapping_dialog.combos[2].currentData() == "id_number"
    mapping_dialog.name_edit.setText("低保名册")
    mapping_dialog.combos[5].setCurrentIndex(mapping_dialog.combos[5].findData("sex"))
    mapping_dialog.save()
    assert dialog.template_radio.isChecked() and dialog.template_combo.currentData() == "低保名册"
    out = tmp_path / "dept.xlsx"
    dialog.path_edit.setText(str(out))
    dialog.export()
    ws = openpyxl.load_workbook(out).active
    assert ws["B4"].value == "欧阳娜" and ws["F4"].value == "男" and ws["C4"].value == "310115********5633"


def test_cancelling_the_import_in_the_wizard_leaves_nothing_written(store, qtbot, tmp_path):
    """With the real background runner: the person presses Cancel while rows are being written."""
    from db.validation import check_character
    from views.ledger.import_wizard import ImportWizard

    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号", "楼栋", "门牌"])
    for i in range(3000):
        first17 = f"1101051980{i // 1000 + 1:02d}01{i % 1000:03d}"
        wb.active.append([f"居民{i}", first17 + check_character(first17), f"{i // 60 + 1}栋", str(i % 60)])
    wb.save(path)
    runner = TaskRunner(synchronous=False, dialog_delay_ms=10_000)
    errors = ErrorReporter(modal=False)
    ctx = AppContext(store=store, tasks=runner, errors=errors,
                     settings=Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    try:
        wizard = ImportWizard(ctx, path=str(path))
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.mapping_page, timeout=10_000)
        wizard.next()
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=20_000)
        assert wizard.preview.count("create") == 3000
        wizard.next()  # Import: runs in the background
        assert runner.active
        runner.active[0].cancel()
        qtbot.waitUntil(lambda: not runner.active, timeout=20_000)
        assert wizard.currentPage() is wizard.preview_page
        assert "已取消" in wizard.status.text()
        assert errors.last_message is None
    finally:
        runner.shutdown()
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == 0
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] == 0
    assert list_batches(store) == []


def test_a_cancel_during_the_index_refresh_in_the_wizard_leaves_nothing_written(ctx, qtbot, tmp_path):
    """Cancel pressed while the search index is refreshed (after every row was written, the
    progress at 100 %): the wizard says it was cancelled, nothing is written, Import works again."""
    from views.ledger.import_wizard import ImportWizard

    source = community_copy(tmp_path)
    wizard = ImportWizard(ctx, path=str(source))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.preview_page
    wizard.preview_page.skip_box.setChecked(True)
    pressed = []

    def press_cancel() -> None:  # the person's click, arriving while the index rows are written
        if not pressed:
            pressed.append(True)
            for task in ctx.tasks.active:
                task.cancel()

    # The synchronous runner writes on this thread's connection: a trigger on the index table
    # presses Cancel in the middle of the refresh.
    connection = ctx.store.db.connection()
    connection.create_function("press_cancel", 0, press_cancel)
    ctx.store.db.execute_sql("create temp trigger cancel_in_refresh after insert on register_search "
                             "begin select press_cancel(); end")
    try:
        wizard.next()
    finally:
        ctx.store.db.execute_sql("drop trigger temp.cancel_in_refresh")
    assert pressed
    assert wizard.currentPage() is wizard.preview_page
    assert wizard.status.text() == "已取消，未写入任何数据。"
    assert ctx.errors.last_message is None
    assert persons(ctx.store) == 0 and list_batches(ctx.store) == []
    assert ctx.store.db.execute_sql("select count(*) from oplog").fetchone()[0] == 0
    assert ctx.store.db.execute_sql("select count(*) from register_search").fetchone()[0] == 0
    wizard.next()
    assert wizard.currentPage() is wizard.done_page and persons(ctx.store) == 7


def test_the_file_menu_opens_the_import_wizard_and_the_export_dialog(ctx, qtbot):
    from desktop.main_window import MainWindow
    from views.ledger.export_dialog import ExportDialog
    from views.ledger.import_wizard import ImportWizard

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.action_import.trigger()
    assert any(isinstance(w, ImportWizard) and w.isVisible() for w in window.findChildren(ImportWizard))
    window.action_export.trigger()
    assert any(isinstance(w, ExportDialog) and w.isVisible() for w in window.findChildren(ExportDialog))
    assert window.action_import.text() == "导入台账…"


def test_earlier_imports_are_listed_and_one_can_be_undone(ctx, qtbot):
    from views.ledger.import_wizard import ImportWizard

    for name in ("gbk.csv", "utf8-bom.csv"):
        import_through_wizard(ctx, qtbot, FIXTURES / name)
    assert persons(ctx.store) == 2  # the second file updates 欧阳娜's record (same ID number)
    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    dialog = wizard.file_page.show_history()
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 1).text() == "utf8-bom.csv"  # newest first
    dialog.table.selectRow(0)
    dialog.undo_selected(confirmed=True)
    name = ctx.store.db.execute_sql(
        "select name from person where id_number = '310115198808085633'").fetchone()[0]
    assert name == "欧阳娜"  # the update was undone
    assert "撤销" in dialog.table.item(0, 4).text() and not dialog.undo_button.isEnabled()


def test_the_households_screen_imports_and_exports_what_its_list_shows(ctx, qtbot, tmp_path):
    from views.households import HouseholdsScreen

    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    browser = screen.browser
    source = community_copy(tmp_path)
    wizard = browser.import_ledger()
    wizard.file_page.path_edit.setText(str(source))
    wizard.next()
    wizard.next()
    wizard.preview_page.skip_box.setChecked(True)
    wizard.next()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 7, timeout=5000)  # the list follows the import
    qtbot.keyClicks(browser.search, "zhang")
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2, timeout=3000)
    dialog = browser.export_list()
    assert "2 名居民" in dialog.count_label.text()
    out = tmp_path / "shown.xlsx"
    dialog.path_edit.setText(str(out))
    dialog.export_button.click()
    names = sorted(r[1] for r in openpyxl.load_workbook(out).active.iter_rows(min_row=3, values_only=True))
    assert names == ["张三", "张小明"]


def test_a_large_import_is_followed_by_a_full_backup_in_the_background(ctx, qtbot, tmp_path, monkeypatch):
    """So that the backup before the next import stays a small incremental one (db.backup.refresh_base)."""
    from db import backup
    from db.backup import describe, list_backups
    from views.ledger import import_wizard

    monkeypatch.setattr(import_wizard, "LARGE_IMPORT_ROWS", 5)  # the fixture has 7 valid rows
    monkeypatch.setattr(backup, "MAX_DELTA_OPS", 4)  # they are more ops than an incremental may hold
    made = []
    ctx.events.sig_backup_made.connect(made.append)
    wizard = import_wizard.ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    source = community_copy(tmp_path)
    wizard.file_page.path_edit.setText(str(source))
    wizard.next()
    wizard.next()
    wizard.preview_page.skip_box.setChecked(True)
    wizard.next()
    assert wizard.currentPage() is wizard.done_page
    qtbot.waitUntil(lambda: any(describe(p).reason == "base" for p in made), timeout=10_000)
    base = next(p for p in made if describe(p).reason == "base")
    assert base in list_backups(ctx.store.path) and not describe(base).incremental
