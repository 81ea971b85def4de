"""Accounts in the running app: the login before an encrypted database opens, the idle lock,
creating the first administrator (which encrypts the open database).

Two small hooks in desktop/app.py call this module: `gate.wrap_failed` around the open-failed
callback (an encrypted database raises DatabaseLocked: the login dialog is shown and the open is
tried again with the key), and `gate.installed(store)` when a database is installed. A database
without accounts never sees any of it.
"""

from __future__ import annotations

import time
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from db.accounts import cipher, service
from db.accounts.session import bind
from i18n import _

LOCK_MINUTES_KEY = "accounts/lock_minutes"
DEFAULT_LOCK_MINUTES = 10
LAST_LOGIN_KEY = "accounts/last_login"


def lock_minutes(settings) -> int:
    try:
        return max(0, int(settings.qs.value(LOCK_MINUTES_KEY, DEFAULT_LOCK_MINUTES)))
    except (TypeError, ValueError):
        return DEFAULT_LOCK_MINUTES


def set_lock_minutes(settings, minutes: int) -> None:
    settings.qs.setValue(LOCK_MINUTES_KEY, int(minutes))
    settings.qs.sync()


class IdleLock(QObject):
    """Locks the window after `lock_minutes` without keyboard or mouse input (0: never)."""

    _INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel}
    CHECK_MS = 15_000

    def __init__(self, gate: AccountsGate, app: QApplication):
        super().__init__(gate)
        self.gate = gate
        self.last_input = time.monotonic()
        app.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(self.CHECK_MS)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in self._INPUT:
            self.last_input = time.monotonic()
        return False

    def check(self) -> None:
        window = self.gate.shell.window
        if window is None or not shiboken6.isValid(window):
            # The window is gone (closed, or a test's shell torn down): nothing to lock any more.
            self.timer.stop()
            return
        minutes = lock_minutes(self.gate.shell.settings)
        if minutes and time.monotonic() - self.last_input >= minutes * 60:
            self.gate.lock()


class AccountsGate(QObject):
    def __init__(self, shell):
        super().__init__(shell)
        self.shell = shell
        self.pending: dict[str, service.Unlocked] = {}
        self.sessions: dict[str, object] = {}
        self.idle: IdleLock | None = None
        self.lock_dialog = None

    # -- opening --------------------------------------------------------------------------------
    def wrap_failed(self, path: Path, on_failed, retry):
        """The open-failed callback, with the login in front for an encrypted database."""

        def failed(error: BaseException) -> None:
            if isinstance(error, cipher.DatabaseLocked):
                if self.login(Path(path)):
                    retry()
                    return
                self.shell.startup_failed = self.shell.ctx is None
                if self.shell.ctx is None and self.shell.errors.modal:
                    self.shell.app.exit(1)
                return
            on_failed(error)

        return failed

    def login(self, path: Path) -> bool:
        from views.accounts import LoginDialog

        last = str(self.shell.settings.qs.value(LAST_LOGIN_KEY, "") or "")
        dialog = LoginDialog(path, self.shell.window, last_login=last)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        if dialog.recovered_store is not None:  # opened with the recovery key: a session already
            store = dialog.recovered_store
            self.sessions[str(Path(path).resolve())] = store.session
            store.close()
            cipher.remember_key(path, store.key)
            return True
        unlocked = dialog.unlocked
        self.shell.settings.qs.setValue(LAST_LOGIN_KEY, unlocked.login)
        cipher.remember_key(path, unlocked.key)
        self.pending[str(Path(path).resolve())] = unlocked
        return True

    def installed(self, store) -> None:
        """A database was opened: bind who logged in (and audit it), start the idle lock."""
        if store.key is None or store.session is not None:
            self._start_idle(store)
            return
        key = str(store.path.resolve())
        unlocked = self.pending.pop(key, None)
        if unlocked is not None:
            service.start_session(store, unlocked)
        elif key in self.sessions:
            bind(store, self.sessions[key])  # re-opened (a restore, another window) in the same session
        self.sessions[key] = store.session
        self._start_idle(store)

    def _start_idle(self, store) -> None:
        if store.session is not None and self.idle is None:
            self.idle = IdleLock(self, self.shell.app)

    # -- lock -----------------------------------------------------------------------------------
    def lock(self) -> None:
        from views.accounts import LockDialog

        ctx = self.shell.ctx
        window = self.shell.window
        if (ctx is None or ctx.store.session is None or self.lock_dialog is not None or window is None
                or not shiboken6.isValid(window)):
            return
        central = window.centralWidget()
        if central is not None:
            central.setVisible(False)  # nothing of the register shows behind the lock
        window.menuBar().setEnabled(False)
        self.lock_dialog = LockDialog(ctx.store, window)

        def unlocked() -> None:
            if central is not None:
                central.setVisible(True)
            window.menuBar().setEnabled(True)
            self.lock_dialog = None
            if self.idle is not None:
                self.idle.last_input = time.monotonic()

        self.lock_dialog.sig_unlocked.connect(unlocked)
        self.lock_dialog.open()

    # -- the first administrator ----------------------------------------------------------------
    def create_accounts(self, values: dict, *, parent, done) -> None:
        """Close the open database, create the administrator (encrypting the file) in the
        background, then install the encrypted database; done(recovery_key) is called on success."""
        from db.store import Store

        shell = self.shell
        store = shell.ctx.store
        path, user = store.path, store.user
        shell._close_store(store)

        def work(state):
            state.set_progress(0, 0, _("Encrypting the database…"))
            plain = Store(path, user=user, create=False)
            return service.create_first_admin(plain, **values)

        def finished(result) -> None:
            new, recovery = result
            self.sessions[str(path.resolve())] = new.session
            done(recovery)
            shell._install_store(new)

        def failed(exc: BaseException) -> None:
            shell.errors.show(exc, parent)
            shell._open(path, create=False, on_opened=shell._install_store,
                        on_failed=lambda e: shell.errors.show(e, parent))

        shell.tasks.run(work, title=_("Encrypting the database…"), on_done=finished, on_error=failed,
                        parent=parent, cancellable=False)
