"""Table models of the meetings screens (no SQL: they call db/ query functions)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from i18n import _

_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_USER = Qt.ItemDataRole.UserRole
ALERT = QBrush(QColor("#b3261e"))
MUTED = QBrush(QColor("#6b6b6b"))
DONE = QBrush(QColor("#1e6b34"))


class LazyRowsModel(QAbstractTableModel):
    """A list over row ids whose rows are fetched a page at a time (off the GUI thread with a task
    runner) and cached; like the register list, it never loads a whole large table."""

    PAGE = 200
    MAX_PAGES = 32

    def __init__(self, columns: list[tuple[str, str]], fetch: Callable[[list[str]], dict[str, dict[str, Any]]],
                 parent=None, *, tasks=None, formatters: dict[str, Callable[[dict], str]] | None = None,
                 colour: Callable[[dict, str], QBrush | None] | None = None):
        super().__init__(parent)
        self.columns = columns
        self._fetch_rows = fetch
        self._tasks = tasks
        self.formatters = formatters or {}
        self.colour = colour
        self.ids: list[str] = []
        self._pages: OrderedDict[int, dict[str, dict[str, Any]]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0

    def set_ids(self, ids: list[str], first_page: dict[str, dict[str, Any]] | None = None) -> None:
        """New list; first_page (rows of the first PAGE ids, fetched by the caller's task) avoids a
        round trip for what is visible at once."""
        self.beginResetModel()
        self.ids = list(ids)
        self._pages.clear()
        self._pending.clear()
        self._generation += 1
        if first_page is not None:
            self._pages[0] = first_page
        self.endResetModel()

    def invalidate(self) -> None:
        self._pages.clear()
        self._pending.clear()
        self._generation += 1
        if self.ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.ids) - 1, len(self.columns) - 1))

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return _(self.columns[section][1])
        return None

    def row(self, row: int) -> dict[str, Any] | None:
        if not 0 <= row < len(self.ids):
            return None
        page = row // self.PAGE
        cached = self._pages.get(page)
        if cached is None:
            self._fetch(page)
            cached = self._pages.get(page)
            if cached is None:
                return None
        return cached.get(self.ids[row])

    def _fetch(self, page: int) -> None:
        ids = self.ids[page * self.PAGE:(page + 1) * self.PAGE]
        generation = self._generation
        if self._tasks is None:
            self._store_page(page, generation, self._fetch_rows(ids))
            return
        if page in self._pending:
            return
        self._pending.add(page)
        self._tasks.run(lambda _s: self._fetch_rows(ids), title=_("Reading"), io=True, show_progress=False,
                        on_done=lambda rows: self._store_page(page, generation, rows, notify=True))

    def _store_page(self, page: int, generation: int, rows, *, notify: bool = False) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        self._pages[page] = rows
        while len(self._pages) > self.MAX_PAGES:
            self._pages.popitem(last=False)
        if notify:
            first, last = page * self.PAGE, min(len(self.ids), (page + 1) * self.PAGE) - 1
            if first <= last:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))

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
