"""Settings: language, text size, database file, backups."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from db.backup import KEEP, backup_dir, changes_only_here_after, list_backups
from desktop.backups import backup_now, backup_time, describe_backup, format_time
from desktop.settings import TEXT_SCALES
from i18n import LANGUAGES, N_, _, language, ngettext
from views.widgets import heading

SCALE_NAMES = {100: N_("standard"), 125: N_("larger"), 150: N_("largest")}


def _hint(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


class BackupList(QListWidget):
    """About seven rows high, whatever the text size."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        return QSize(hint.width(), self.fontMetrics().lineSpacing() * 7 + 12)


class SettingsScreen(QWidget):
    """Everything a user may set, each change applied at once."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget(scroll)
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(16)
        layout.addWidget(heading(_("Settings"), body))
        layout.addWidget(self._operator_box(body))
        layout.addWidget(self._language_box(body))
        layout.addWidget(self._text_size_box(body))
        layout.addWidget(self._database_box(body))
        layout.addWidget(self._backup_box(body))
        layout.addStretch(1)
        ctx.events.sig_backup_made.connect(self.refresh_backups)
        ctx.settings.sig_text_scale_changed.connect(self._show_scale)
        self.refresh()

    # -- sections -------------------------------------------------------------------------------
    def _operator_box(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox(_("Who works at this computer"), parent)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.operator_edit = QLineEdit(box)
        self.operator_edit.setPlaceholderText(_("Your name, e.g. 王芳"))
        self.operator_edit.setMaxLength(40)
        self.operator_edit.setText(self.ctx.settings.operator_name)
        self.operator_edit.editingFinished.connect(self._operator_changed)
        row.addWidget(self.operator_edit, 1)
        row.addStretch(1)
        layout.addLayout(row)
        self.operator_hint = _hint("", box)
        layout.addWidget(self.operator_hint)
        return box

    def _operator_changed(self) -> None:
        name = self.operator_edit.text().strip()
        self.ctx.settings.set_operator_name(name)
        # Changes, revealed numbers and exchanges from now on name this person.
        user = name or _login_name()
        self.ctx.store.user = user
        self.ctx.user = user
        self._show_operator()

    def _show_operator(self) -> None:
        self.operator_hint.setText(_(
            "Recorded with every change, every number shown in full and every exchange (now: {user})."
        ).format(user=self.ctx.store.user))

    def _language_box(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox(_("Interface language"), parent)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.language_combo = QComboBox(box)
        for code, name in LANGUAGES.items():
            self.language_combo.addItem(name, code)
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(language())))
        self.language_combo.currentIndexChanged.connect(self._language_chosen)
        row.addWidget(self.language_combo)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(_hint(_("The window switches to the chosen language at once."), box))
        return box

    def _text_size_box(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox(_("Text size"), parent)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.scale_group = QButtonGroup(box)
        self.scale_buttons: dict[int, QRadioButton] = {}
        for percent in TEXT_SCALES:
            button = QRadioButton(_("{percent}% ({name})").format(percent=percent, name=_(SCALE_NAMES[percent])), box)
            self.scale_group.addButton(button, percent)
            self.scale_buttons[percent] = button
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.scale_group.idClicked.connect(self._scale_chosen)
        layout.addWidget(_hint(_("Applies to every window at once; larger text is easier to read."), box))
        return box

    def _database_box(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox(_("Database file"), parent)
        layout = QVBoxLayout(box)
        self.db_path_label = QLabel(box)
        self.db_path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.db_path_label.setWordWrap(True)
        layout.addWidget(self.db_path_label)
        self.node_label = _hint("", box)
        layout.addWidget(self.node_label)
        row = QHBoxLayout()
        self.open_button = QPushButton(_("Open another file…"), box)
        self.open_button.clicked.connect(lambda: self.ctx.shell.choose_and_open(self.window()))
        self.create_button = QPushButton(_("Create a new database…"), box)
        self.create_button.clicked.connect(lambda: self.ctx.shell.choose_and_create(self.window()))
        for button in (self.open_button, self.create_button):
            button.setEnabled(self.ctx.shell is not None)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        return box

    def _backup_box(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox(_("Backups"), parent)
        layout = QVBoxLayout(box)
        self.backup_hint = _hint("", box)
        layout.addWidget(self.backup_hint)
        self.backup_list = BackupList(box)
        self.backup_list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.backup_list.setAlternatingRowColors(True)
        self.backup_list.currentRowChanged.connect(self._backup_selected)
        layout.addWidget(self.backup_list)
        row = QHBoxLayout()
        self.backup_button = QPushButton(_("Back up now"), box)
        self.backup_button.clicked.connect(self._backup_now)
        self.restore_button = QPushButton(_("Restore the selected backup…"), box)
        self.restore_button.clicked.connect(self._restore_selected)
        self.restore_button.setEnabled(False)
        row.addWidget(self.backup_button)
        row.addWidget(self.restore_button)
        row.addStretch(1)
        layout.addLayout(row)
        return box

    # -- state ----------------------------------------------------------------------------------
    def activated(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        self.db_path_label.setText(str(store.path))
        self.node_label.setText(_("Device id of this file: {node}").format(node=store.node_id))
        self._show_scale(self.ctx.settings.text_scale)
        self._show_operator()
        self.refresh_backups()

    def _show_scale(self, percent: int) -> None:
        button = self.scale_buttons.get(percent)
        if button is not None and not button.isChecked():
            button.setChecked(True)

    def refresh_backups(self, *_args) -> None:
        path = self.ctx.store.path
        self.backup_hint.setText(
            _("A full backup is made on the first start of each day, and a backup before every import "
              "(incremental: only the changes since a full backup, which it needs). The newest {keep} "
              "are kept, with the full backups they need, in {folder}.").format(
                keep=KEEP, folder=backup_dir(path)))
        self.backup_list.clear()
        for backup in reversed(list_backups(path)):
            if not backup.exists():
                continue
            text = describe_backup(backup)
            item = QListWidgetItem(text, self.backup_list)
            item.setData(Qt.ItemDataRole.UserRole, str(backup))
            item.setToolTip(str(backup))
        if not self.backup_list.count():
            item = QListWidgetItem(_("No backups yet."), self.backup_list)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
        self._backup_selected(self.backup_list.currentRow())

    def selected_backup(self) -> Path | None:
        item = self.backup_list.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return Path(value) if value else None

    # -- actions --------------------------------------------------------------------------------
    def _language_chosen(self, index: int) -> None:
        code = self.language_combo.itemData(index)
        if code:
            self.ctx.settings.set_language(code)

    def _scale_chosen(self, percent: int) -> None:
        self.ctx.settings.set_text_scale(percent)

    def _backup_selected(self, _row: int) -> None:
        self.restore_button.setEnabled(self.selected_backup() is not None and self.ctx.shell is not None)

    def _backup_now(self) -> None:
        self.backup_button.setEnabled(False)
        task = backup_now(self.ctx, parent=self)
        task.sig_done.connect(lambda: self.backup_button.setEnabled(True))

    def _restore_selected(self) -> None:
        backup = self.selected_backup()
        if backup is None or self.ctx.shell is None:
            return
        store = self.ctx.store
        self.restore_button.setEnabled(False)

        def ask(only_here: int) -> None:
            self.restore_button.setEnabled(True)
            self.restore_question(backup, only_here)

        # Which changes made since then exist only in this file (no receipt, no hub acknowledgement)?
        self.ctx.tasks.run(lambda _s: changes_only_here_after(store, backup), title=_("Restore a backup"),
                           on_done=ask, parent=self, io=True, show_progress=False)

    def restore_question(self, backup: Path, only_here: int) -> None:
        text = _("Replace the current database with the backup of {time}?\n\nEverything entered after that "
                 "time will be gone from this file. The current state is backed up first, so you can go back."
                 ).format(time=format_time(backup_time(backup)))
        if only_here:
            text += "\n\n" + ngettext(
                "{n} change entered here after that time has not reached any other computer or the office "
                "hub yet: after the restore it is only in that safety copy. Hand it over first (a bundle "
                "or 办公室同步) if it is needed.",
                "{n} changes entered here after that time have not reached any other computer or the office "
                "hub yet: after the restore they are only in that safety copy. Hand them over first (a bundle "
                "or 办公室同步) if they are needed.", only_here).format(n=only_here)
        box = QMessageBox(QMessageBox.Icon.Warning if only_here else QMessageBox.Icon.Question,
                          _("Restore a backup"), text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        self._restore_box = box
        answer = box.exec()
        self._restore_box = None
        if answer == QMessageBox.StandardButton.Yes:
            self.ctx.shell.restore_backup(backup, parent=self.window())


def _login_name() -> str:
    from db.store import default_user

    return default_user()
