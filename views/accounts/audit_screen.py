"""The audit trail screen: who saw, printed, exported, exchanged or changed what, and when.

Read only: nothing here edits the trail (db/oplog.py refuses to change an audit entry at all).
"""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.accounts import audit
from db.errors import GridDeskError
from i18n import _
from views.widgets import heading

ACTIONS = ("reveal", "print_unmasked", "export_unmasked", "export", "login", "login_failed", "unlock", "change",
           "exchange", "user_added", "user_changed", "user_removed", "password_changed", "password_reset",
           "recovered", "accounts_created")


def audit_window(ctx, parent: QWidget | None = None) -> QDialog:
    """The audit screen in a window of its own (File > Audit trail…)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(_("Audit trail"))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    layout = QVBoxLayout(dialog)
    layout.setContentsMargins(0, 0, 0, 0)
    screen = AuditScreen(ctx, dialog)
    layout.addWidget(screen)
    if parent is not None:
        dialog.resize(parent.size() * 0.9)
    else:
        dialog.resize(1100, 650)
    dialog.audit_screen = screen  # (not .screen: that is QWidget.screen())
    screen.activated()
    return dialog


class AuditScreen(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.addWidget(heading(_("Audit trail")))
        note = QLabel(_("Every full ID or phone number shown, every unmasked print or export, every login and "
                        "failed login, every exchange and every change, with who and when. The trail travels to "
                        "the office with each exchange and cannot be edited."))
        note.setWordWrap(True)
        layout.addWidget(note)
        row = QHBoxLayout()
        self.person_edit = QLineEdit()
        self.person_edit.setObjectName("person")
        self.person_edit.setPlaceholderText(_("Person: name or ID number"))
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("user")
        self.user_edit.setPlaceholderText(_("User"))
        self.action_box = QComboBox()
        self.action_box.addItem(_("All actions"), None)
        for action in ACTIONS:
            self.action_box.addItem(_(audit.ACTION_LABELS[action]), action)
        self.use_dates = QCheckBox(_("From"))
        self.date_from = QDateEdit(QDate.currentDate().addDays(-30))
        self.date_from.setCalendarPopup(True)
        self.date_from.setDisplayFormat("yyyy-MM-dd")
        self.date_to = QDateEdit(QDate.currentDate())
        self.date_to.setCalendarPopup(True)
        self.date_to.setDisplayFormat("yyyy-MM-dd")
        self.search_button = QPushButton(_("Search"))
        self.search_button.clicked.connect(self.refresh)
        self.person_edit.setMinimumWidth(200)
        self.user_edit.setMinimumWidth(120)
        for w in (self.person_edit, self.user_edit, self.action_box):
            row.addWidget(w, 1)
        layout.addLayout(row)
        row = QHBoxLayout()
        for w in (self.use_dates, self.date_from, QLabel(_("to")), self.date_to):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.search_button)
        self.person_edit.returnPressed.connect(self.refresh)
        self.user_edit.returnPressed.connect(self.refresh)
        layout.addLayout(row)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels([_("When"), _("User"), _("Action"), _("Record"), _("Detail")])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.summary = QLabel("")
        layout.addWidget(self.summary)
        self.rows: list[audit.AuditRow] = []

    def activated(self) -> None:
        self.refresh()

    def filters(self) -> dict:
        f = {"person": self.person_edit.text().strip() or None, "user": self.user_edit.text().strip() or None,
             "action": self.action_box.currentData()}
        if self.use_dates.isChecked():
            f["date_from"] = self.date_from.date().toString("yyyy-MM-dd")
            f["date_to"] = self.date_to.date().toString("yyyy-MM-dd")
        return f

    def refresh(self) -> None:
        try:
            self.rows = audit.search(self.ctx.store, limit=2000, **self.filters())
        except GridDeskError as exc:
            self.rows = []
            self.table.setRowCount(0)
            self.summary.setText(exc.message)
            return
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            for j, text in enumerate((r.at.replace("T", " ")[:19], r.user, r.action_label(), r.record_label(),
                                      r.detail_label())):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(i, j, item)
        self.summary.setText(_("{n} entries (newest first, at most 2,000).").format(n=len(self.rows)))
