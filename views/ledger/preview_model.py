"""Table model over an import preview's rows (plain Python objects; no SQL here)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from db.ledger.preview import Preview, RowResult
from db.ledger.report import diff_text
from db.validation import mask_id
from i18n import N_, _

ACTIONS = {"create": N_("New"), "update": N_("Update"), "unchanged": N_("Unchanged"), "error": N_("Error")}
COLUMNS = (N_("Sheet"), N_("Row"), N_("Result"), N_("Name"), N_("ID number"), N_("Details"))
_ROOT = QModelIndex()
COLOURS = {"error": "#FDE2E1", "update": "#FFF4CE", "create": "#E2F5E5"}


class PreviewModel(QAbstractTableModel):
    """Rows of a preview, optionally only those of one action (create/update/unchanged/error)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._all: list[RowResult] = []
        self._rows: list[RowResult] = []
        self._action: str | None = None

    def set_preview(self, preview: Preview | None) -> None:
        self.beginResetModel()
        self._all = list(preview.rows) if preview else []
        self._apply()
        self.endResetModel()

    def set_action(self, action: str | None) -> None:
        self.beginResetModel()
        self._action = action
        self._apply()
        self.endResetModel()

    def _apply(self) -> None:
        self._rows = [r for r in self._all if self._action is None or r.action == self._action]

    def row_result(self, row: int) -> RowResult:
        return self._rows[row]

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(COLUMNS[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return r.sheet
            if col == 1:
                return r.row
            if col == 2:
                return _(ACTIONS[r.action])
            if col == 3:
                return r.person.get("name", "")
            if col == 4:
                return mask_id(r.person.get("id_number"))
            if col == 5:
                return self.details(r)
        if role == Qt.ItemDataRole.BackgroundRole and r.action in COLOURS:
            return QBrush(QColor(COLOURS[r.action]))
        if role == Qt.ItemDataRole.ToolTipRole and col == 5:
            return self.details(r)
        return None

    @staticmethod
    def details(r: RowResult) -> str:
        if r.errors:
            return "；".join(f"“{i.column}”：{i.message}" if i.column else i.message for i in r.errors)
        parts = []
        if r.diff:
            parts.append(diff_text(r))
        parts.extend(w.message for w in r.warnings)
        return "；".join(parts)
