"""Table models of the meetings screens (no SQL: they call db/ query functions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from i18n import _
from views.households.common import LazyIdsModel

_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_USER = Qt.ItemDataRole.UserRole
ALERT = QBrush(QColor("#b3261e"))
MUTED = QBrush(QColor("#6b6b6b"))
DONE = QBrush(QColor("#1e6b34"))


class LazyRowsModel(LazyIdsModel):
    """The register list's lazy model (views.households.common.LazyIdsModel) over meeting or matter
    ids: rows from a db/ query a page at a time, shown through formatters and a colour function."""

    PAGE = 200
    MAX_PAGES = 32

    def __init__(self, columns: list[tuple[str, str]], fetch: Callable[[list[str]], dict[str, dict[str, Any]]],
                 parent=None, *, tasks=None, formatters: dict[str, Callable[[dict], str]] | None = None,
                 colour: Callable[[dict, str], QBrush | None] | None = None):
        super().__init__(parent, tasks)
        self.columns = columns
        self._fetch_rows = fetch
        self.formatters = formatters or {}
        self.colour = colour

    def _columns(self) -> list[tuple[str, str]]:
        return self.columns

    def _read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._fetch_rows(ids)

    @property
    def ids(self) -> list[str]:
        return self._ids

    def data(self, index, role=_DISPLAY):
        if role not in (_DISPLAY, _FOREGROUND, _USER):
            return None
        r = self.row(index.row())
        if r is None:
            return None
        key = self.columns[index.column()][0]
        if role == _DISPLAY:
            if key in self.formatters:
                return self.formatters[key](r)
            value = r.get(key)
            return "" if value is None else str(value)
        if role == _FOREGROUND:
            return self.colour(r, key) if self.colour else None
        return r


class RowsModel(QAbstractTableModel):
    """A short list of dicts already in memory (a meeting's invitees, motions, resolutions)."""

    def __init__(self, columns: list[tuple[str, str]], parent=None,
                 formatters: dict[str, Callable[[dict], str]] | None = None,
                 colour: Callable[[dict, str], QBrush | None] | None = None):
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []
        self.formatters = formatters or {}
        self.colour = colour

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return _(self.columns[section][1])
        if role == _DISPLAY and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None

    def data(self, index, role=_DISPLAY):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r = self.rows[index.row()]
        key = self.columns[index.column()][0]
        if role == _DISPLAY:
            if key in self.formatters:
                return self.formatters[key](r)
            value = r.get(key)
            return "" if value is None else str(value)
        if role == _FOREGROUND and self.colour:
            return self.colour(r, key)
        if role == _USER:
            return r
        return None
