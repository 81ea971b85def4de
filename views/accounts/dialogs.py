"""Login at start, the lock screen, the first administrator, accounts, the recovery key."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.accounts import service
from db.accounts.models import ROLE_ADMIN, ROLE_GRID, ROLE_READONLY, ROLES
from db.accounts.session import ROLE_LABELS
from db.errors import GridDeskError
from desktop.accounts_startup import lock_minutes, set_lock_minutes
from i18n import _
from views.widgets import heading


class _Countdown:
    """Disables a button for the delay after wrong passwords and shows the seconds left."""

    def __init__(self, button: QPushButton, label: QLabel, text: str):
        self.button, self.label, self.text = button, label, text
        self.left = 0
        self.timer = QTimer(button)
        self.timer.timeout.connect(self._tick)

    def start(self, seconds: float) -> None:
        self.left = int(seconds + 0.999)
        if self.left > 0:
            self.button.setEnabled(False)
            self._show()
            self.timer.start(1000)

    def _tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.timer.stop()
            self.button.setEnabled(True)
            self.button.setText(self.text)
        else:
            self._show()

    def _show(self) -> None:
        self.button.setText(_("Wait {s} s").format(s=self.left))


class LoginDialog(QDialog):
    """Log in to an encrypted database: login name and password, or the recovery key."""

    def __init__(self, db_path: Path, parent: QWidget | None = None, *, last_login: str = ""):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.unlocked: service.Unlocked | None = None
        self.recovered_store = None
        self.setWindowTitle(_("Log in to GridDesk"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(_("Log in")))
        note = QLabel(_("“{name}” is encrypted. Log in with your account on this laptop.").format(
            name=self.db_path.name))
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.login_edit = QLineEdit(last_login)
        self.login_edit.setObjectName("login")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Login name"), self.login_edit)
        form.addRow(_("Password"), self.password_edit)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.recovery_button = QPushButton(_("Forgot the password…"))
        self.recovery_button.clicked.connect(self._recover)
        buttons.addWidget(self.recovery_button)
        buttons.addStretch(1)
        self.quit_button = QPushButton(_("Quit"))
        self.quit_button.clicked.connect(self.reject)
        self.ok_button = QPushButton(_("Log in"))
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.try_login)
        buttons.addWidget(self.quit_button)
        buttons.addWidget(self.ok_button)
        layout.addLayout(buttons)
        self.countdown = _Countdown(self.ok_button, self.message, _("Log in"))
        (self.password_edit if last_login else self.login_edit).setFocus()

    def try_login(self) -> bool:
        try:
            self.unlocked = service.unlock(self.db_path, login=self.login_edit.text(),
                                           password=self.password_edit.text())
        except service.LoginFailed as exc:
            self.message.setText(exc.message)
            self.password_edit.selectAll()
            self.password_edit.setFocus()
            self.countdown.start(exc.delay_s)
            return False
        self.accept()
        return True

    def _recover(self) -> None:
        dialog = RecoveryDialog(self.db_path, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.recovered_store = dialog.store
            self.accept()


class RecoveryDialog(QDialog):
    """Every password forgotten: the office recovery key sets a new administrator password."""

    def __init__(self, db_path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.db_path, self.store = Path(db_path), None
        self.setWindowTitle(_("Open with the recovery key"))
        layout = QVBoxLayout(self)
        note = QLabel(_("Type the recovery key printed when the accounts were created (kept in the office), "
                        "then a new password for an administrator account."))
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.login_edit = QLineEdit("admin")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Recovery key"), self.key_edit)
        form.addRow(_("Administrator login"), self.login_edit)
        form.addRow(_("New password"), self.password_edit)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        layout.addWidget(self.message)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self._ok)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def _ok(self) -> None:
        try:
            self.store = service.recover(self.db_path, recovery_key=self.key_edit.text(),
                                         login=self.login_edit.text(), new_password=self.password_edit.text())
        except GridDeskError as exc:
            self.message.setText(exc.message)
            return
        self.accept()


class LockDialog(QDialog):
    """The screen is locked (idle, or locked by hand): the same user's password unlocks it."""

    sig_unlocked = Signal()

    def __init__(self, store, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(_("GridDesk is locked"))
        self.setModal(True)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(_("Locked")))
        session = store.session
        who = session.display_name or session.login
        note = QLabel(_("GridDesk was locked after a while without use, so that nobody else sees the register. "
                        "{who} ({role}): type your password to go on.").format(who=who, role=session.role_label()))
        note.setWordWrap(True)
        layout.addWidget(note)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(_("Password"))
        layout.addWidget(self.password_edit)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        self.ok_button = QPushButton(_("Unlock"))
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.try_unlock)
        row.addWidget(self.ok_button)
        layout.addLayout(row)
        self.countdown = _Countdown(self.ok_button, self.message, _("Unlock"))
        self.password_edit.setFocus()

    def try_unlock(self) -> bool:
        try:
            service.unlock_session(self.store, password=self.password_edit.text())
        except service.LoginFailed as exc:
            self.message.setText(exc.message)
            self.password_edit.clear()
            self.countdown.start(exc.delay_s)
            return False
        self.sig_unlocked.emit()
        self.accept()
        return True

    def reject(self) -> None:  # Esc does not unlock
        pass


class RecoveryKeyDialog(QDialog):
    """The office recovery key, shown once: write it down or print it, keep it in the office."""

    def __init__(self, recovery_key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("Office recovery key"))
        layout = QVBoxLayout(self)
        layout.addWidget(heading(_("Keep this recovery key in the office")))
        note = QLabel(_("The register on this laptop is now encrypted. If every password is forgotten, only this "
                        "key opens it. It is shown once: print it or write it down, and lock it away in the office "
                        "(not with the laptop)."))
        note.setWordWrap(True)
        layout.addWidget(note)
        key = QLabel(recovery_key)
        key.setObjectName("recovery_key")
        key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        key.setStyleSheet("font-family: monospace; font-size: 16pt; padding: 8px; border: 1px solid #888")
        layout.addWidget(key)
        self.confirm = QCheckBox(_("I have printed or written down the recovery key"))
        layout.addWidget(self.confirm)
        row = QHBoxLayout()
        copy = QPushButton(_("Copy"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(recovery_key))
        print_button = QPushButton(_("Print…"))
        print_button.clicked.connect(lambda: self._print(recovery_key))
        row.addWidget(copy)
        row.addWidget(print_button)
        row.addStretch(1)
        self.ok = QPushButton(_("Finished"))
        self.ok.setEnabled(False)
        self.confirm.toggled.connect(self.ok.setEnabled)
        self.ok.clicked.connect(self.accept)
        row.addWidget(self.ok)
        layout.addLayout(row)

    def _print(self, recovery_key: str) -> None:
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        if QPrintDialog(printer, self).exec() != QDialog.DialogCode.Accepted:
            return
        doc = QTextDocument()
        doc.setHtml(f"<h2>{_('GridDesk office recovery key')}</h2><p style='font-size:20pt'><tt>{recovery_key}</tt></p>"
                    f"<p>{_('Keep in the office, away from the laptop.')}</p>")
        doc.print_(printer)

    def reject(self) -> None:  # not closed before it was noted down
        if self.confirm.isChecked():
            super().reject()


class CreateAdminDialog(QDialog):
    """The first account: a community administrator. Creating it encrypts the database."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("Create the administrator account"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        note = QLabel(_("With accounts, the register on this laptop is encrypted and opens only after logging in; "
                        "each account sees what its role allows. A backup is made first."))
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.login_edit = QLineEdit("admin")
        self.name_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.again_edit = QLineEdit()
        self.again_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Login name"), self.login_edit)
        form.addRow(_("Name"), self.name_edit)
        form.addRow(_("Password"), self.password_edit)
        form.addRow(_("Password again"), self.again_edit)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self._ok)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def values(self) -> dict:
        return {"login": self.login_edit.text().strip(), "password": self.password_edit.text(),
                "display_name": self.name_edit.text().strip()}

    def _ok(self) -> None:
        if self.password_edit.text() != self.again_edit.text():
            self.message.setText(_("The two passwords differ."))
            return
        if len(self.password_edit.text()) < service.MIN_PASSWORD:
            self.message.setText(_("The password must have at least {n} characters.").format(n=service.MIN_PASSWORD))
            return
        self.accept()


class UserDialog(QDialog):
    """Add an account, or change an account's role and grids."""

    def __init__(self, grids: list[tuple[str, str]], parent: QWidget | None = None, *, user: dict | None = None):
        super().__init__(parent)
        self.user = user
        self.setWindowTitle(_("Account") if user else _("New account"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.login_edit = QLineEdit(user["login"] if user else "")
        self.login_edit.setEnabled(user is None)
        self.name_edit = QLineEdit((user or {}).get("display_name") or "")
        self.name_edit.setEnabled(user is None)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.role_box = QComboBox()
        for role in ROLES:
            self.role_box.addItem(_(ROLE_LABELS[role]), role)
        if user:
            self.role_box.setCurrentIndex(ROLES.index(user["role"]))
        self.grid_list = QListWidget()
        chosen = set(((user or {}).get("grid_ids") or "").split(","))
        for gid, name in grids:
            item = QListWidgetItem(name or gid)
            item.setData(Qt.ItemDataRole.UserRole, gid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if gid in chosen else Qt.CheckState.Unchecked)
            self.grid_list.addItem(item)
        form.addRow(_("Login name"), self.login_edit)
        form.addRow(_("Name"), self.name_edit)
        if user is None:
            form.addRow(_("Password"), self.password_edit)
        form.addRow(_("Role"), self.role_box)
        form.addRow(_("Grids (grid worker)"), self.grid_list)
        layout.addLayout(form)
        self.role_box.currentIndexChanged.connect(self._role_changed)
        self._role_changed()
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def _role_changed(self) -> None:
        self.grid_list.setEnabled(self.role_box.currentData() == ROLE_GRID)

    def values(self) -> dict:
        grids = [self.grid_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.grid_list.count())
                 if self.grid_list.item(i).checkState() == Qt.CheckState.Checked]
        return {"login": self.login_edit.text().strip(), "display_name": self.name_edit.text().strip(),
                "password": self.password_edit.text(), "role": self.role_box.currentData(), "grid_ids": grids}


class AccountsDialog(QDialog):
    """Accounts and security: create the first administrator, or manage accounts and passwords."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Accounts and security"))
        self.setMinimumSize(640, 420)
        self.layout_ = QVBoxLayout(self)
        self._build()

    @property
    def store(self):
        return self.ctx.store

    def _clear(self) -> None:
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
            elif item.layout() is not None:
                QWidget().setLayout(item.layout())

    def _build(self) -> None:
        self._clear()
        store = self.store
        if store.session is None:
            self.layout_.addWidget(heading(_("No accounts yet")))
            note = QLabel(_("Today anyone at this laptop sees the whole register, and the database file can be read "
                            "with any SQLite tool. Create an administrator account to encrypt the file and require "
                            "a login; then add an account for each grid worker."))
            note.setWordWrap(True)
            self.layout_.addWidget(note)
            create = QPushButton(_("Create the administrator account…"))
            create.setObjectName("create_admin")
            create.clicked.connect(self.create_admin)
            row = QHBoxLayout()
            row.addWidget(create)
            row.addStretch(1)
            self.layout_.addLayout(row)
            self.layout_.addStretch(1)
            return
        s = store.session
        self.layout_.addWidget(QLabel(_("Logged in as {who} ({role}).").format(
            who=s.display_name or s.login, role=s.role_label())))
        row = QHBoxLayout()
        change = QPushButton(_("Change my password…"))
        change.clicked.connect(self.change_password)
        row.addWidget(change)
        row.addStretch(1)
        row.addWidget(QLabel(_("Lock after minutes without use (0: never)")))
        self.lock_minutes = QSpinBox()
        self.lock_minutes.setObjectName("lock_minutes")
        self.lock_minutes.setRange(0, 240)
        self.lock_minutes.setValue(lock_minutes(self.ctx.settings))
        self.lock_minutes.valueChanged.connect(lambda v: set_lock_minutes(self.ctx.settings, v))
        row.addWidget(self.lock_minutes)
        self.layout_.addLayout(row)
        if not s.is_admin:
            self.layout_.addStretch(1)
            return
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([_("Login name"), _("Name"), _("Role"), _("Grids")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.layout_.addWidget(self.table)
        row = QHBoxLayout()
        for label, slot in ((_("Add…"), self.add_user), (_("Role and grids…"), self.edit_user),
                            (_("Reset password…"), self.reset_password), (_("Remove"), self.remove_user)):
            b = QPushButton(label)
            b.clicked.connect(slot)
            row.addWidget(b)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.refresh()

    def _grids(self) -> list[tuple[str, str]]:
        from db.register.places import place_tree

        return [(g["id"], g["name"]) for g in place_tree(self.store)]

    def refresh(self) -> None:
        grids = dict(self._grids())
        self.users = service.list_users(self.store)
        self.table.setRowCount(len(self.users))
        for i, u in enumerate(self.users):
            names = "、".join(grids.get(g, g) for g in (u["grid_ids"] or "").split(",") if g)
            for j, text in enumerate((u["login"], u["display_name"] or "", _(ROLE_LABELS.get(u["role"], u["role"])),
                                      names)):
                self.table.setItem(i, j, QTableWidgetItem(text))

    def _selected(self) -> dict | None:
        row = self.table.currentRow()
        return self.users[row] if 0 <= row < len(self.users) else None

    def _run(self, fn, **kwargs) -> bool:
        try:
            fn(self.store, **kwargs)
        except GridDeskError as exc:
            self.ctx.errors.show(exc, self)
            return False
        return True

    def add_user(self) -> None:
        dialog = UserDialog(self._grids(), self)
        if dialog.exec() == QDialog.DialogCode.Accepted and self._run(service.add_user, **dialog.values()):
            self.refresh()

    def edit_user(self) -> None:
        user = self._selected()
        if user is None:
            return
        dialog = UserDialog(self._grids(), self, user=user)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            v = dialog.values()
            if self._run(service.set_role, login=user["login"], role=v["role"], grid_ids=v["grid_ids"]):
                self.refresh()

    def reset_password(self) -> None:
        user = self._selected()
        if user is None:
            return
        password = _ask_password(self, _("New password for {login}").format(login=user["login"]))
        if password is not None:
            self._run(service.reset_password, login=user["login"], new_password=password)

    def remove_user(self) -> None:
        user = self._selected()
        if user is None:
            return
        answer = QMessageBox.question(self, _("Remove account"), _("Remove the account “{login}”?").format(
            login=user["login"]))
        if answer == QMessageBox.StandardButton.Yes and self._run(service.remove_user, login=user["login"]):
            self.refresh()

    def change_password(self) -> None:
        old = _ask_password(self, _("Current password"))
        if old is None:
            return
        new = _ask_password(self, _("New password"))
        if new is not None:
            if self._run(service.change_password, old_password=old, new_password=new):
                QMessageBox.information(self, _("Password changed"), _("Your password was changed."))

    def create_admin(self) -> None:
        dialog = CreateAdminDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return

        def done(recovery: str) -> None:
            RecoveryKeyDialog(recovery, self).exec()
            self.accept()

        self.ctx.shell.accounts.create_accounts(dialog.values(), parent=self, done=done)


def _ask_password(parent: QWidget, title: str) -> str | None:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    layout.addWidget(QLabel(title))
    layout.addWidget(edit)
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    layout.addWidget(box)
    return edit.text() if dialog.exec() == QDialog.DialogCode.Accepted else None


__all__ = ["AccountsDialog", "CreateAdminDialog", "LockDialog", "LoginDialog", "RecoveryDialog",
           "RecoveryKeyDialog", "UserDialog", "ROLE_ADMIN", "ROLE_READONLY"]
