"""Accounts in the app: login before an encrypted database opens, the lock, the first
administrator from the accounts dialog, the audit screen."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from db.accounts import cipher, service
from db.store import Store
from tests.shell_helpers import make_settings, start_shell, stop_shell

PASSWORD = "correct horse 1"


def _demo(path, households=20):
    from db.demo import generate

    store = Store(path, user="setup")
    generate(store, households=households, seed=4)
    return store


@pytest.fixture
def encrypted(tmp_path):
    path = tmp_path / "gd.sqlite"
    store, _recovery = service.create_first_admin(_demo(path), login="admin", password=PASSWORD)
    store.close()
    cipher.forget_key(path)
    return path


def test_login_at_start_then_idle_lock_and_unlock(qtbot, tmp_path, encrypted, monkeypatch):
    from views.accounts import LoginDialog

    seen = []

    def fake_exec(dialog):  # what a user does in the dialog (no nested event loop in tests)
        dialog.login_edit.setText("admin")
        dialog.password_edit.setText("wrong password")
        assert not dialog.try_login()
        seen.append(dialog.message.text())
        dialog.password_edit.setText(PASSWORD)
        return QDialog.DialogCode.Accepted if dialog.try_login() else QDialog.DialogCode.Rejected

    monkeypatch.setattr(LoginDialog, "exec", fake_exec)
    shell = start_shell(qtbot, make_settings(tmp_path), encrypted)
    try:
        assert seen and "密码错误" in seen[0]
        store = shell.ctx.store
        assert store.session.login == "admin" and shell.ctx.user == "admin"
        assert store.key is not None
        window = shell.window
        assert window.action_lock.isEnabled()
        # Idle: the lock hides the register and asks for the password.
        shell.accounts.idle.last_input -= 11 * 60
        shell.accounts.idle.check()
        lock = shell.accounts.lock_dialog
        assert lock is not None and lock.isVisible()
        assert not window.centralWidget().isVisible()
        lock.password_edit.setText("not it at all")
        assert not lock.try_unlock()
        assert "密码错误" in lock.message.text()
        lock.reject()  # Esc does not unlock
        assert shell.accounts.lock_dialog is lock
        lock.password_edit.setText(PASSWORD)
        assert lock.try_unlock()
        assert window.centralWidget().isVisible() and shell.accounts.lock_dialog is None
        from db.accounts import audit

        actions = [r.action for r in audit.search(store, changes=False)]
        assert {"login", "login_failed", "unlock"} <= set(actions)
        window.action_audit.trigger()  # File > Audit trail…
        shown = window._audit_window
        assert shown.isVisible() and shown.audit_screen.table.rowCount() >= 3
    finally:
        stop_shell(shell)


def test_cancelled_login_opens_nothing(qtbot, tmp_path, encrypted, monkeypatch):
    from views.accounts import LoginDialog

    monkeypatch.setattr(LoginDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    shell = start_shell(qtbot, make_settings(tmp_path), encrypted, wait_window=False)
    try:
        qtbot.waitUntil(lambda: shell.startup_failed, timeout=10000)
        assert shell.ctx is None and shell.window is None
    finally:
        stop_shell(shell)


def test_first_administrator_from_the_accounts_dialog(qtbot, tmp_path, monkeypatch):
    from views.accounts import AccountsDialog
    from views.accounts.dialogs import CreateAdminDialog, RecoveryKeyDialog

    path = tmp_path / "plain.sqlite"
    _demo(path).close()
    shell = start_shell(qtbot, make_settings(tmp_path), path)
    try:
        assert shell.ctx.store.session is None and not shell.window.action_lock.isEnabled()
        dialog = AccountsDialog(shell.ctx, shell.window)  # goes with the window it belongs to
        shown = []

        def create_exec(d):
            d.login_edit.setText("admin")
            d.password_edit.setText(PASSWORD)
            d.again_edit.setText(PASSWORD)
            d._ok()
            return d.result()

        def recovery_exec(d):
            from PySide6.QtWidgets import QLabel

            shown.append(d.findChild(QLabel, "recovery_key").text())
            return QDialog.DialogCode.Accepted

        monkeypatch.setattr(CreateAdminDialog, "exec", create_exec)
        monkeypatch.setattr(RecoveryKeyDialog, "exec", recovery_exec)
        dialog.create_admin()
        qtbot.waitUntil(lambda: shell.ctx is not None and shell.ctx.store.session is not None, timeout=30000)
        assert cipher.is_encrypted_file(path)
        assert len(shown[-1]) == 39 and shown[-1].count("-") == 7
        assert shell.ctx.store.session.is_admin and shell.window.action_lock.isEnabled()
        # Now the dialog manages accounts and the idle-lock minutes.
        from desktop.accounts_startup import lock_minutes

        again = AccountsDialog(shell.ctx, shell.window)
        assert again.table.rowCount() == 1 and again.table.item(0, 2).text() == "社区管理员"
        again.lock_minutes.setValue(3)
        assert lock_minutes(shell.settings) == 3
    finally:
        stop_shell(shell)


def test_audit_screen_lists_and_filters(qtbot, ctx):
    from db.demo import generate
    from db.register.audit import reveal
    from views.accounts import AuditScreen

    generate(ctx.store, households=5, seed=1)
    pid = ctx.store.db.execute_sql("select id from person limit 1").fetchone()[0]
    reveal(ctx.store, table="person", row_id=pid, field="id_number")
    screen = AuditScreen(ctx)
    qtbot.addWidget(screen)
    screen.activated()
    assert screen.table.rowCount() > 1
    labels = {screen.table.item(i, 2).text() for i in range(screen.table.rowCount())}
    assert "查看完整号码" in labels and "修改数据" in labels
    screen.action_box.setCurrentIndex(screen.action_box.findData("reveal"))
    screen.refresh()
    assert screen.table.rowCount() == 1
    assert not (screen.table.item(0, 0).flags() & screen.table.item(0, 0).flags().ItemIsEditable)
    screen.user_edit.setText("nobody")
    screen.refresh()
    assert screen.table.rowCount() == 0
