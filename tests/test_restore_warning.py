"""Restoring an older backup warns about the changes made here since then that exist nowhere else:
no other computer sent a receipt for them and no hub acknowledged them (after the restore they
would be only in the safety copy)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
from shell_helpers import make_settings, start_shell, stop_shell

from db import oplog
from db.backup import changes_only_here_after, list_backups, make_backup
from db.models.register import Person
from db.sync import exchange, identity
from tests.sync_helpers import make_replicas


def _write(store, *names: str) -> None:
    with store.activated():
        oplog.write(store, Person, [{"name": n} for n in names])


def _hand_over(src, dst) -> None:
    with src.activated():
        data = exchange.export_bundle(src, for_device=identity.identity(dst).device_id).data
    with dst.activated():
        bundle = exchange.read_bundle(dst, data)
        exchange.import_bundle(dst, bundle)
        receipt = exchange.make_receipt(dst, bundle).data
    with src.activated():
        exchange.import_bundle(src, exchange.read_bundle(src, receipt))


def test_changes_after_a_backup_that_reached_no_one_are_counted(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    try:
        _write(a, "备份前")
        time.sleep(1.1)  # backup names carry seconds: the op before it is older than its time
        with a.activated():
            backup = make_backup(a, "manual", incremental=False)
        _write(a, "甲", "乙", "丙")
        assert changes_only_here_after(a, backup) == 3
        _hand_over(a, b)  # b's receipt: b holds them now
        assert changes_only_here_after(a, backup) == 0
        _write(a, "丁", "戊")
        assert changes_only_here_after(a, backup) == 2
        _write(b, "别人的")  # another computer's change, received here, is not ours to lose
        _hand_over(b, a)
        assert changes_only_here_after(a, backup) == 2
    finally:
        a.close()
        b.close()


def test_the_restore_question_names_the_changes_only_this_computer_holds(qtbot, tmp_path):
    db_path = tmp_path / "griddesk.sqlite"
    shell = start_shell(qtbot, make_settings(tmp_path), db_path)
    try:
        store = shell.ctx.store
        with store.activated():
            make_backup(store, "manual", incremental=False)
        _write(store, "甲", "乙", "丙", "丁")
        shell.window.show_screen("settings")
        screen = shell.window.screens["settings"]
        screen.refresh_backups()
        backups = list_backups(store.path)
        row = next(i for i in range(screen.backup_list.count())
                   if screen.backup_list.item(i).data(256) == str(backups[-1]))
        screen.backup_list.setCurrentRow(row)
        seen = []

        def answer() -> None:
            box = getattr(screen, "_restore_box", None)
            if box is None:
                QTimer.singleShot(50, answer)
                return
            seen.append((box.icon(), box.text()))
            box.button(QMessageBox.StandardButton.No).click()

        QTimer.singleShot(50, answer)
        screen.restore_button.click()
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        icon, text = seen[0]
        assert icon == QMessageBox.Icon.Warning
        assert "4 项修改还没有到达其他电脑或办公室同步服务器" in text
        qtbot.waitUntil(lambda: screen.restore_button.isEnabled(), timeout=5000)
        assert store.db.execute_sql("select count(*) from person").fetchone()[0] == 4  # "No": nothing restored
    finally:
        stop_shell(shell)
