"""The application shell with real widgets and real database files."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel
from shell_helpers import make_settings, start_shell, stop_shell

from db.models.register import Household
from desktop import app as app_module

CHINESE_NAV = ["住户台账", "走访", "会议", "志愿者", "打印", "同步与交接", "设置"]


@pytest.fixture
def shell(qtbot, tmp_path):
    s = start_shell(qtbot, make_settings(tmp_path), tmp_path / "griddesk.sqlite")
    yield s
    stop_shell(s)


def nav_texts(window) -> list[str]:
    return [window.nav.item(i).text() for i in range(window.nav.count())]


def test_window_opens_with_chinese_labels(shell):
    window = shell.window
    assert window.windowTitle() == "网格台账 GridDesk"
    assert nav_texts(window) == CHINESE_NAV
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["文件(&F)", "视图(&V)", "帮助(&H)"]
    assert window.db_label.text() == "数据库：griddesk.sqlite"
    from db.sync import identity

    me = identity.identity(shell.ctx.store)
    assert window.node_label.text() == f"本机：{me.name}（{me.fingerprint[:9]}）"
    assert shell.ctx.store.node_id in window.node_label.toolTip()
    assert window.backup_label.text().startswith("上次备份：")
    # The first screen is the household register, titled in Chinese.
    assert "住户台账" in [w.text() for w in window.stack.currentWidget().findChildren(QLabel)]


def test_the_bundled_cjk_font_is_the_application_font(shell):
    font = QApplication.font()
    assert font.family() == "WenQuanYi Zen Hei"
    from PySide6.QtGui import QFontMetrics

    metrics = QFontMetrics(font)
    for ch in "网格台账喆堃昇珺赟":
        assert metrics.inFontUcs4(ord(ch)), ch


def test_navigation_by_click_and_by_ctrl_number(shell, qtbot):
    window = shell.window
    assert "visits" not in window.screens  # created lazily, on first show
    rect = window.nav.visualItemRect(window.nav.item(1))
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_key() == "visits"
    assert window.stack.currentWidget() is window.screens["visits"]

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "settings"
    assert type(window.stack.currentWidget()).__name__ == "SettingsScreen"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "meetings"
    assert window.nav.currentItem().text() == "会议"


def test_the_view_menu_shows_the_current_screen(shell, qtbot):
    window = shell.window
    view_menu = window.menuBar().actions()[1].menu()
    screens = [a for a in view_menu.actions() if a in window.screen_actions]
    assert [a.text() for a in screens] == CHINESE_NAV
    assert all(a.isCheckable() for a in screens)
    assert [a.isChecked() for a in screens] == [True] + [False] * 6  # households, the first screen
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert [a.text() for a in screens if a.isChecked()] == ["会议"]
    window.nav.setCurrentRow(1)  # a click in the navigation list
    assert [a.text() for a in screens if a.isChecked()] == ["走访"]
    screens[6].trigger()  # the menu itself
    assert window.current_key() == "settings"
    assert [a.text() for a in screens if a.isChecked()] == ["设置"]


def test_text_size_enlarges_the_application_font(shell, qtbot):
    window = shell.window
    base = QApplication.font().pointSizeF()
    window.show_screen("settings")
    screen = window.screens["settings"]
    label = screen.findChild(QLabel, "hint")
    before_label = label.fontInfo().pointSizeF()
    heading_before = screen.findChild(QLabel, "screenHeading").font().pointSizeF()

    screen.scale_buttons[150].click()
    assert shell.settings.text_scale == 150
    assert QApplication.font().pointSizeF() == pytest.approx(base * 1.5)
    assert label.fontInfo().pointSizeF() == pytest.approx(before_label * 1.5, rel=0.1)
    assert screen.findChild(QLabel, "screenHeading").font().pointSizeF() == pytest.approx(heading_before * 1.5)
    assert window.scale_actions[150].isChecked()

    window.scale_actions[125].trigger()  # the 视图 › 文字大小 menu does the same
    assert QApplication.font().pointSizeF() == pytest.approx(base * 1.25)
    assert screen.scale_buttons[125].isChecked()


def test_settings_persist_across_restarts(qtbot, tmp_path):
    db = tmp_path / "griddesk.sqlite"
    first = start_shell(qtbot, make_settings(tmp_path), db)
    first.window.show_screen("volunteers")
    first.settings.set_text_scale(125)
    first.window.resize(780, 620)  # within the 800x800 offscreen screen
    stop_shell(first)

    settings = make_settings(tmp_path)
    assert settings.text_scale == 125
    assert settings.last_screen == "volunteers"
    assert settings.last_db_path == str(db)
    second = start_shell(qtbot, settings, None)  # no path: the last database is opened again
    try:
        assert second.ctx.store.path == db
        assert second.window.current_key() == "volunteers"
        assert (second.window.width(), second.window.height()) == (780, 620)
        assert QApplication.font().pointSizeF() == pytest.approx(11.0 * 1.25)
    finally:
        stop_shell(second)


def test_switching_to_english_gives_english(shell, qtbot):
    shell.window.show_screen("settings")
    combo = shell.window.screens["settings"].language_combo
    combo.setCurrentIndex(combo.findData("en"))
    qtbot.waitUntil(lambda: nav_texts(shell.window)[0] == "Household register", timeout=5000)
    assert nav_texts(shell.window) == ["Household register", "Visits", "Meetings", "Volunteers", "Printing",
                                       "Sync and handover", "Settings"]
    assert shell.window.current_key() == "settings"  # the rebuilt window stays where the user was
    assert [a.text() for a in shell.window.menuBar().actions()] == ["&File", "&View", "&Help"]
    assert shell.window.db_label.text() == "Database: griddesk.sqlite"
    assert make_settings(shell.ctx.store.path.parent).language == "en"


@pytest.mark.parametrize("content", [b"hello, this is not a database\n" * 40, b"SQLite format 3\x00" + b"\x07" * 4000])
def test_a_file_that_is_not_a_griddesk_database_gets_a_chinese_message_and_stays_unchanged(
        qtbot, tmp_path, content):
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(content)
    shell = start_shell(qtbot, make_settings(tmp_path), bad, wait_window=False)
    try:
        qtbot.waitUntil(lambda: shell.startup_failed, timeout=10000)
        message = shell.errors.last_message
        assert "notes.sqlite" in message
        assert "不是网格台账数据库" in message or "已损坏" in message
        assert shell.errors.last_details is None  # a message for people, not a traceback
        box = shell.errors.last_box
        assert box.informativeText() == "网格台账需要一个数据库文件才能启动。您想怎么做？"
        assert [b.text() for b in box.buttons()] == ["打开其他文件…", "新建数据库…", "退出"]
        assert shell.window is None
        assert bad.read_bytes() == content
        # No -wal/-shm files, no backups: nothing was written next to it either.
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "settings.ini") == ["notes.sqlite"]
    finally:
        stop_shell(shell)


def test_opening_a_bad_file_later_keeps_the_current_database(shell, qtbot, tmp_path):
    other = tmp_path / "other.sqlite"
    import sqlite3

    conn = sqlite3.connect(other)
    conn.execute("create table t(x)")
    conn.commit()
    conn.close()
    content = other.read_bytes()
    current = shell.ctx.store
    shell.open_path(other, shell.window)
    qtbot.waitUntil(lambda: shell.errors.last_message is not None, timeout=5000)
    assert "其他程序的 SQLite 数据库" in shell.errors.last_message
    assert shell.ctx.store is current
    assert other.read_bytes() == content


def test_first_start_creates_a_demo_community_in_the_data_folder(qtbot, tmp_path, monkeypatch):
    target = tmp_path / "data" / "griddesk.sqlite"
    monkeypatch.setattr(app_module, "default_db_path", lambda: target)
    shell = start_shell(qtbot, make_settings(tmp_path), None, demo_households=120, wait_window=False)
    try:
        shell.first_start_dialog.buttons["demo"].click()  # desktop/first_start.py: the person chooses
        qtbot.waitUntil(lambda: shell.window is not None and shell.window.isVisible(), timeout=20000)
        target = target.with_name("demo.sqlite")
        assert shell.ctx.store.path == target
        assert Household.select().where(Household.deleted == 0).count() == 120
        assert shell.window.db_label.text() == "数据库：demo.sqlite"
    finally:
        stop_shell(shell)


def test_create_and_open_another_database_from_the_shell(shell, qtbot, tmp_path):
    first = shell.ctx.store.path
    new = tmp_path / "second.sqlite"
    shell.create_path(new, shell.window)
    qtbot.waitUntil(lambda: shell.ctx.store.path == new, timeout=5000)
    assert shell.window.db_label.text() == "数据库：second.sqlite"
    assert shell.settings.last_db_path == str(new)
    shell.open_path(first, shell.window)
    qtbot.waitUntil(lambda: shell.ctx.store.path == first, timeout=5000)
    # An existing file is never overwritten by "new database".
    before = new.read_bytes()
    shell.create_path(new, shell.window)
    assert "已存在" in shell.errors.last_message
    assert new.read_bytes() == before


def test_backup_now_and_restore_from_the_settings_screen(shell, qtbot):
    from db import oplog
    from db.models.register import Grid

    window = shell.window
    window.show_screen("settings")
    screen = window.screens["settings"]
    # The first day's backup was made on this first start (a database created today).
    qtbot.waitUntil(lambda: "每日自动备份" in screen.backup_list.item(0).text(), timeout=5000)
    screen.backup_button.click()

    def manual_row():
        texts = [screen.backup_list.item(i).text() for i in range(screen.backup_list.count())]
        return next((i for i, t in enumerate(texts) if "手动备份" in t), None)

    qtbot.waitUntil(lambda: manual_row() is not None, timeout=5000)
    assert window.backup_label.text() != "上次备份：从未备份"

    done = []
    shell.tasks.run(lambda state: oplog.write(shell.ctx.store, Grid, [{"name": "第九网格"}]),
                    title="write", on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert Grid.select().count() == 1
    screen.backup_list.setCurrentRow(manual_row())
    shell.restore_backup(screen.selected_backup(), parent=window)
    qtbot.waitUntil(lambda: shell.window is not window, timeout=10000)
    assert Grid.select().count() == 0  # back to the state of the backup
    assert "恢复前备份" in shell.window.get_screen("settings").backup_list.item(0).text()


def test_about_and_menu_shortcuts_exist(shell):
    window = shell.window
    assert [a.shortcut().toString() for a in window.screen_actions] == [f"Ctrl+{n}" for n in range(1, 8)]
    assert window.action_open.text() == "打开数据库…"
    assert window.action_backup.text() == "立即备份"
    assert window.nav.visualItemRect(window.nav.item(6)).bottom() < window.nav.viewport().height()
    assert window.nav.itemAt(QPoint(5, 5)) is not None


def test_qt_calls_do_not_leak_references_to_none(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a None reference per void call and later crashes."""
    import sys

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("网格")
    assert sys.getrefcount(None) - before > -100


def test_qt_own_dialog_buttons_speak_chinese(shell):
    from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

    shell.errors.show("测试消息", shell.window)
    box = shell.errors.last_box
    assert box.button(QMessageBox.StandardButton.Ok).text() == "确定"
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Save)
    assert {b.text() for b in buttons.buttons()} == {"取消", "保存"}


def test_a_database_from_a_newer_version_is_refused_at_start_and_left_alone(qtbot, tmp_path):
    import sqlite3

    from db.store import Store

    path = tmp_path / "newer.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("pragma user_version = 999")
    conn.close()
    content = path.read_bytes()
    shell = start_shell(qtbot, make_settings(tmp_path), path, wait_window=False)
    try:
        qtbot.waitUntil(lambda: shell.startup_failed, timeout=10000)
        assert "更新" in shell.errors.last_message or "新版本" in shell.errors.last_message
        assert path.read_bytes() == content
    finally:
        stop_shell(shell)


def test_settings_screen_alone_with_the_test_context(ctx, qtbot):
    """Screens can be tested without the whole app (tests/conftest.py `ctx`)."""
    from views.settings import SettingsScreen

    screen = SettingsScreen(ctx)
    qtbot.addWidget(screen)
    assert screen.db_path_label.text() == str(ctx.store.path)
    assert not screen.open_button.isEnabled()  # no running app to switch databases
    made = []
    ctx.events.sig_backup_made.connect(made.append)
    screen.backup_button.click()  # tasks run inline in this context
    assert made and made[0].exists()
    assert "手动备份" in screen.backup_list.item(0).text()


def test_griddesk_gui_starts_and_shows_the_window(tmp_path):
    """The real entry point (`python -m desktop gui`), in its own process."""
    import os
    import subprocess
    import sys

    from db.store import Store

    db = tmp_path / "griddesk.sqlite"
    Store(db).close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GRIDDESK_EXIT_WHEN_SHOWN="1",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.run([sys.executable, "-m", "desktop", "gui", "--db", str(db)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert "WINDOW_SHOWN" in proc.stdout
    saved = (tmp_path / "config" / "GridDesk" / "GridDesk.conf").read_text()
    assert f"last_path={db}" in saved and "last_screen=households" in saved


def test_full_garbage_collections_wait_for_an_idle_moment(qapp):
    """A full collection is a long pause with a big register in memory: never during scrolling."""
    import gc
    import time

    from desktop.app import IdleCollector, settle_garbage_collector

    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_threshold()[2] >= 1_000_000  # no automatic full collections
        collector = IdleCollector(qapp)
        collector.timer.stop()
        full_runs = gc.get_stats()[2]["collections"]
        collector.last_input = time.monotonic()  # the user is scrolling
        collector.collect_if_idle()
        assert gc.get_stats()[2]["collections"] == full_runs
        collector.last_input = time.monotonic() - 10  # idle
        collector.collect_if_idle()
        assert gc.get_stats()[2]["collections"] == full_runs + 1
        collector.deleteLater()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def _progress_dialogs() -> list[str]:
    """The titles of the progress dialogs on screen."""
    from PySide6.QtWidgets import QProgressDialog

    return [w.windowTitle() for w in QApplication.allWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]


def test_the_daily_backup_runs_without_a_dialog_and_says_so_in_the_status_bar(qtbot, tmp_path):
    import threading

    from db.backup import list_backups
    from db.store import Store
    from desktop.app import Shell
    from desktop.errors import ErrorReporter

    db = tmp_path / "griddesk.sqlite"
    Store(db).close()  # an existing database, opened for the first time today
    shell = Shell(QApplication.instance(), make_settings(tmp_path), errors=ErrorReporter(modal=False),
                  demo_households=0)
    shell.start(db)
    writer_busy = threading.Event()
    # The writer is busy after opening the file, so the backup waits and its note can be seen.
    shell.tasks.call_on_writer(lambda: writer_busy.wait(10), wait=False)
    try:
        qtbot.waitUntil(lambda: shell.window is not None and shell.window.isVisible(), timeout=20000)
        window = shell.window
        assert window.statusBar().currentMessage() == "正在进行每日备份…"
        assert window.backup_label.text() == "上次备份：从未备份"
        (backup_task,) = [t for t in shell.tasks.active if t.title == "正在进行每日备份…"]
        qtbot.wait(800)  # past the progress dialog delay
        # (The register screen's own task waits behind the held writer too, with its dialog.)
        assert "正在进行每日备份…" not in _progress_dialogs()
        assert not backup_task.dialog_shown and backup_task.dialog is None
        writer_busy.set()
        qtbot.waitUntil(lambda: len(list_backups(db)) == 1, timeout=5000)
        qtbot.waitUntil(lambda: window.backup_label.text() != "上次备份：从未备份", timeout=5000)
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=5000)  # the note is gone
        assert "-daily" in list_backups(db)[0].name
        assert shell.errors.last_message is None
    finally:
        writer_busy.set()
        stop_shell(shell)


def _async_ctx(ctx):
    """The test context with a real background task runner (notes are seen while work runs)."""
    from desktop.context import AppContext
    from desktop.tasks import TaskRunner

    return AppContext(store=ctx.store, tasks=TaskRunner(ctx.errors), errors=ctx.errors, settings=ctx.settings,
                      user=ctx.user)


def test_tidying_up_after_a_large_import_runs_without_a_dialog(ctx, qtbot):
    import threading

    from db.backup import describe, list_backups
    from desktop.backups import refresh_base_in_background
    from desktop.main_window import MainWindow

    ctx = _async_ctx(ctx)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    screen = QLabel("导入向导")  # the screen that started it, closed before the chore ends
    screen.show()
    writer_busy = threading.Event()
    ctx.tasks.call_on_writer(lambda: writer_busy.wait(10), wait=False)
    try:
        task = refresh_base_in_background(ctx, screen)
        assert window.statusBar().currentMessage() == "正在整理数据库并备份…"
        screen.close()
        screen.deleteLater()
        qtbot.wait(800)  # past the progress dialog delay
        assert _progress_dialogs() == [] and not task.dialog_shown and task.dialog is None
        writer_busy.set()
        qtbot.waitUntil(lambda: task.finished, timeout=10000)
        (base,) = list_backups(ctx.store.path)
        assert describe(base).reason == "base" and not describe(base).incremental
        qtbot.waitUntil(lambda: window.backup_label.toolTip() == str(base), timeout=3000)
        assert window.statusBar().currentMessage() == ""
    finally:
        writer_busy.set()
        ctx.tasks.shutdown(wait=True)


def test_a_failing_chore_clears_its_note_and_reports_the_error(ctx, qtbot):
    from db.errors import GridDeskError
    from desktop.main_window import MainWindow

    ctx = _async_ctx(ctx)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()

    def chore(state):
        raise GridDeskError("备份文件夹不能写入")

    try:
        first = ctx.run_chore(lambda state: None, note="第一件事…")
        task = ctx.run_chore(chore, note="第二件事…")
        assert window.statusBar().currentMessage() == "第二件事…"  # the newest note
        qtbot.waitUntil(lambda: first.finished and task.finished, timeout=5000)
        assert window.statusBar().currentMessage() == ""
        assert ctx.events.notes == []
        assert "备份文件夹不能写入" in ctx.errors.last_message
        clear = ctx.events.show_note("第三件事…")
        assert window.statusBar().currentMessage() == "第三件事…"
        window.statusBar().showMessage("已撤销：修改住户")  # another message replaced the note
        clear()
        assert window.statusBar().currentMessage() == "已撤销：修改住户"  # not taken away with the note
    finally:
        ctx.tasks.shutdown(wait=True)
        box = ctx.errors.last_box
        if box is not None and shiboken6.isValid(box):
            box.close()


def test_the_operator_name_is_recorded_with_changes_and_kept_across_restarts(qtbot, tmp_path):
    """Audit entries and the op log name the person set in 设置, not the computer's login name."""
    from db import oplog
    from db.models.register import Person

    settings = make_settings(tmp_path)
    db = tmp_path / "griddesk.sqlite"
    s = start_shell(qtbot, settings, db)
    try:
        s.window.show_screen("settings")
        screen = s.window.stack.currentWidget()
        screen.operator_edit.setText("王芳")
        screen.operator_edit.editingFinished.emit()
        assert s.ctx.store.user == "王芳" and "王芳" in screen.operator_hint.text()
        oplog.write(s.ctx.store, Person, [{"name": "张三"}])
        assert s.ctx.store.db.execute_sql("select user from oplog order by rowid desc limit 1").fetchone() == ("王芳",)
    finally:
        stop_shell(s)
    assert settings.operator_name == "王芳"
    s = start_shell(qtbot, settings, db)
    try:
        assert s.ctx.store.user == "王芳"
    finally:
        stop_shell(s)
