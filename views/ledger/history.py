"""Earlier imports, each undoable as one step (new ops; nothing is removed from the log)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from db.ledger.commit import list_batches, undo_import
from i18n import _


class ImportHistoryDialog(QDialog):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Earlier imports"))
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels([_("Time"), _("File"), _("New"), _("Updated"), _("State")])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.undo_button = buttons.addButton(_("Undo this import"), QDialogButtonBox.ButtonRole.ActionRole)
        self.undo_button.clicked.connect(self.undo_selected)
        buttons.rejected.connect(self.reject)
        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(640, 360)
        self.batches = []
        self.reload()

    def reload(self) -> None:
        self.batches = list_batches(self.ctx.store)
        self.table.setRowCount(len(self.batches))
        for row, b in enumerate(self.batches):
            state = _("undone {at}").format(at=b.undone_at.replace("T", " ")) if b.undone_at else ""
            for col, text in enumerate((b.at.replace("T", " "), b.file_name or "", str(b.created), str(b.updated),
                                        state)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        if self.batches:
            self.table.selectRow(0)
        self._selection_changed()

    def _selection_changed(self) -> None:
        row = self.table.currentRow()
        self.undo_button.setEnabled(0 <= row < len(self.batches) and not self.batches[row].undone_at)

    def undo_selected(self, confirmed: bool = False) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.batches):
            return
        batch = self.batches[row]
        if not confirmed:
            answer = QMessageBox.question(self, _("Undo this import"), _(
                "Undo the import of “{file}” ({n} new, {m} updated)? New people are removed from the "
                "register and changed values get their old value back.").format(
                    file=batch.file_name, n=batch.created, m=batch.updated))
            if answer != QMessageBox.StandardButton.Yes:
                return
        store = self.ctx.store

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            self.status.setText(_("The import was undone."))
            self.reload()

        self.ctx.tasks.run(lambda state: undo_import(store, batch_id=batch.id, state=state),
                           title=_("Undoing the import…"), on_done=done, parent=self)
