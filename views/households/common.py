"""Pieces shared by the register screens: list models, masking, small form helpers (no SQL)."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from db.register.index import SENSITIVE
from db.register.search import fetch_rows
from db.validation import age_on, mask_id, mask_phone
from i18n import N_, _

STATUS_LABELS = {"active": N_("Living here"), "moved_out": N_("Moved out"), "deceased": N_("Deceased")}
ERROR_STYLE = "color: #b3261e;"
WARNING_STYLE = "color: #8a5a00;"
OVERDUE = QColor("#b3261e")
_ROOT = QModelIndex()
_OVERDUE_BRUSH = QBrush(OVERDUE)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_USER = Qt.ItemDataRole.UserRole


def due_text(due: str | None, on: dt.date | None = None) -> str:
    if due is None:
        return ""
    if due == "":
        return _("Never visited")
    return due


def is_overdue(due: str | None, on: dt.date | None = None) -> bool:
    if due is None:
        return False
    return due == "" or due < (on or dt.date.today()).isoformat()


class LazyIdsModel(QAbstractTableModel):
    """A list that holds row ids only and fetches their rows lazily, a page at a time (off the GUI
    thread with a task runner), caching a bounded number of pages; a change marks pages stale
    instead of reloading the list. Subclasses give COLUMNS (or columns), _read(ids) -> {id: row}
    and data(). Shared by the register list and the meetings' and matters' lists."""

    COLUMNS: list[tuple[str, str]] = []
    PAGE = 200
    MAX_PAGES = 64
    READ_TITLE = N_("Reading")
    FIRST_PAGE_AT_ONCE = False  # set_ids without first rows reads the first page at once
    SHOW_PROGRESS = False  # a slow page read shows the task's progress (after its delay)

    def __init__(self, parent=None, tasks=None):
        super().__init__(parent)
        self._tasks = tasks  # with a task runner, pages are read off the GUI thread
        self._ids: list = []
        self._pages: OrderedDict[int, dict[Any, dict[str, Any]]] = OrderedDict()
        self._pending: set[int] = set()
        self._page_epoch: dict[int, int] = {}  # bumped when a page goes stale: a fetch in flight is dropped
        self._generation = 0
        self.fetches = 0

    def _columns(self) -> list[tuple[str, str]]:
        return self.COLUMNS

    def _read(self, ids: list) -> dict[Any, dict[str, Any]]:
        raise NotImplementedError

    def set_ids(self, ids: list, first_rows: dict[Any, dict[str, Any]] | None = None) -> None:
        """A new list. `first_rows`: the first page, when it was already read (off the GUI thread)."""
        self.beginResetModel()
        self._ids = list(ids)
        self._pages.clear()
        self._pending.clear()
        self._page_epoch.clear()
        self._generation += 1
        if self._ids:
            if first_rows is None and self.FIRST_PAGE_AT_ONCE:
                # The first screenful at once (one small query), so the list is usable immediately.
                self.fetches += 1
                first_rows = self._read(self._ids[:self.PAGE])
            if first_rows is not None:
                self._store_page(0, self._generation, first_rows)
        self.endResetModel()

    def mark_stale(self, rowids: set) -> list[int]:
        """These rows changed (the list did not): drop the cached pages holding them and tell the
        view about just those rows; they are fetched again when painted. Returns their positions."""
        if not rowids:
            return []
        positions: list[int] = []
        for page in sorted(set(self._pages) | self._pending):
            first = page * self.PAGE
            ids = self._ids[first:first + self.PAGE]
            hits = [first + i for i, rowid in enumerate(ids) if rowid in rowids]
            if not hits:
                continue
            self._pages.pop(page, None)
            self._pending.discard(page)
            self._page_epoch[page] = self._page_epoch.get(page, 0) + 1
            positions += hits
        last = len(self._columns()) - 1
        for row in positions:
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        return positions

    def invalidate(self) -> None:
        """Rows changed (not the list): drop the cache; visible rows are fetched again."""
        self._pages.clear()
        self._pending.clear()
        self._page_epoch.clear()
        self._generation += 1
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(self._columns()) - 1))

    def position(self, rowid) -> int | None:
        """The list row showing a row id (None when it is not in the list)."""
        try:
            return self._ids.index(rowid)
        except ValueError:
            return None

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._columns())

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(self._columns()[section][1])
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None

    def row(self, row: int) -> dict[str, Any] | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // self.PAGE
        cached = self._pages.get(page)
        if cached is None:
            self._fetch(page)
            cached = self._pages.get(page)
            if cached is None:
                return None  # on its way; the cells are filled when it arrives
        else:
            self._pages.move_to_end(page)
        return cached.get(self._ids[row])

    def _fetch(self, page: int) -> None:
        ids = self._ids[page * self.PAGE:(page + 1) * self.PAGE]
        if self._tasks is None:
            self.fetches += 1
            self._store_page(page, self._generation, self._read(ids))
            return
        if page in self._pending:
            return
        self.fetches += 1
        self._pending.add(page)
        read, generation, epoch = self._reader(), self._generation, self._page_epoch.get(page, 0)
        self._tasks.run(lambda _s: read(ids), title=_(self.READ_TITLE), io=True, show_progress=self.SHOW_PROGRESS,
                        on_done=lambda rows: self._store_page(page, generation, rows, notify=True, epoch=epoch))

    def _reader(self) -> Callable[[list], dict[Any, dict[str, Any]]]:
        """What the worker calls (bound now: the store may be replaced while it runs)."""
        return self._read

    def _store_page(self, page: int, generation: int, rows, *, notify: bool = False, epoch: int | None = None) -> None:
        if generation != self._generation:
            return  # the list changed meanwhile
        if epoch is not None and epoch != self._page_epoch.get(page, 0):
            return  # a row of this page changed while it was read: the view asks again
        self._pending.discard(page)
        self._pages[page] = rows
        while len(self._pages) > self.MAX_PAGES:
            self._pages.popitem(last=False)
        if notify:
            first, last = page * self.PAGE, min(len(self._ids), (page + 1) * self.PAGE) - 1
            if first <= last:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns()) - 1))


class PersonTableModel(LazyIdsModel):
    """The register list: holds index row ids only and fetches rows lazily, a page at a time."""

    COLUMNS: list[tuple[str, str]] = [
        ("name", N_("Name")), ("sex", N_("Sex")), ("age", N_("Age")), ("relation", N_("Relation")),
        ("address", N_("Address")), ("id_number", N_("ID number")), ("phone", N_("Phone")),
        ("tags", N_("Tags")), ("residence_status", N_("Residence")), ("status", N_("Status")),
        ("due_date", N_("Next visit"))]
    READ_TITLE = N_("Reading the register")
    FIRST_PAGE_AT_ONCE = True
    SHOW_PROGRESS = True

    def __init__(self, store_getter: Callable[[], Any], parent=None, tasks=None):
        super().__init__(parent, tasks)
        self._store = store_getter

    def _read(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        return fetch_rows(self._store(), ids)

    def _reader(self):
        store = self._store()
        return lambda ids: fetch_rows(store, ids)

    def ids(self) -> list[int]:
        """The index row ids of the list, in order (do not change it)."""
        return self._ids

    def _display(self, r: dict[str, Any]) -> list[str]:
        """The row's texts, computed once per fetched row (painting asks for them many times)."""
        shown = r.get("_display")
        if shown is None:
            active = r["status"] == "active"
            age = age_on(r["birth_date"])
            names = [t for t in (r["tags"] or "").split("、") if t and t != SENSITIVE]
            hidden = (r["tags"] or "").split("、").count(SENSITIVE)
            if hidden:
                names.append(_("{n} sensitive").format(n=hidden))
            values = {"age": "" if age is None else str(age), "id_number": mask_id(r["id_number"]),
                      "tags": "、".join(names),
                      "phone": mask_phone(r["phone"]),
                      "status": _(STATUS_LABELS.get(r["status"], r["status"] or "")),
                      "due_date": due_text(r["due_date"]) if active else ""}
            shown = [values[k] if k in values else (r.get(k) or "") for k, _label in self.COLUMNS]
            r["_display"] = shown
            r["_overdue"] = active and is_overdue(r["due_date"])
        return shown

    def data(self, index, role=_DISPLAY):
        # Painting asks for many roles per cell: answer the unused ones before any other work.
        if role != _DISPLAY and role != _FOREGROUND and role != _USER:
            return None
        r = self.row(index.row())
        if r is None:
            return None
        column = index.column()
        if role == _DISPLAY:
            return self._display(r)[column]
        if role == _FOREGROUND:
            if self.COLUMNS[column][0] == "due_date":
                self._display(r)
                return _OVERDUE_BRUSH if r["_overdue"] else None
            return None
        return r


class DictListModel(QAbstractTableModel):
    """A read-only table over a list of dicts already computed by a db/ query (short lists)."""

    def __init__(self, columns: list[tuple[str, str]], parent=None,
                 formatters: dict[str, Callable[[dict[str, Any]], str]] | None = None,
                 colour: Callable[[dict[str, Any], str], QColor | None] | None = None):
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []
        self.formatters = formatters or {}
        self.colour = colour

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(self.columns[section][1])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r = self.rows[index.row()]
        key = self.columns[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key in self.formatters:
                return self.formatters[key](r)
            value = r.get(key)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ForegroundRole and self.colour:
            c = self.colour(r, key)
            return QBrush(c) if c else None
        if role == Qt.ItemDataRole.UserRole:
            return r
        return None


def combo(items: list[str], *, blank: bool = True, editable: bool = False, parent: QWidget | None = None) -> QComboBox:
    box = QComboBox(parent)
    box.setEditable(editable)
    if blank:
        box.addItem("", None)
    for item in items:
        box.addItem(item, item)
    return box


def set_combo(box: QComboBox, value: str | None) -> None:
    i = box.findData(value) if value is not None else 0
    if i < 0 and box.isEditable():
        box.setEditText(value or "")
        return
    box.setCurrentIndex(max(i, 0))


def combo_value(box: QComboBox) -> str | None:
    if box.isEditable():
        return box.currentText().strip() or None
    return box.currentData()


class WrappingLabel(QLabel):
    """A word-wrapped label that claims the height its text needs at its width: in a grid layout a
    plain one keeps one line's height, and a long message under a field is cut to its first words."""

    def _fit(self) -> None:
        if not self.wordWrap() or self.width() <= 0:
            return
        old = self.minimumHeight()
        if old:
            # QLabel's heightForWidth is never below the minimum height: without this, a height
            # set while the label was still narrow stays when it is wide (a tall empty gap).
            self.setMinimumHeight(0)
        need = self.heightForWidth(self.width())
        self.setMinimumHeight(max(need, 0))

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setMinimumHeight(0)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()


def message_label(parent: QWidget | None = None) -> QLabel:
    label = WrappingLabel(parent)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def with_message(widget: QWidget, message: QLabel) -> QWidget:
    """A field with its message under it (the hidden message takes no space)."""
    box = QWidget(widget.parentWidget())
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget)
    layout.addWidget(message)
    return box


def show_message(label: QLabel, text: str | None, *, warning: bool = False) -> None:
    label.setText(text or "")
    label.setStyleSheet(WARNING_STYLE if warning else ERROR_STYLE)
    label.setVisible(bool(text))


def shortcut(widget: QWidget, keys: str | QKeySequence.StandardKey, slot, *, context=Qt.ShortcutContext.WidgetWithChildrenShortcut) -> QShortcut:
    sc = QShortcut(QKeySequence(keys), widget)
    sc.setContext(context)
    sc.activated.connect(slot)
    return sc


def fit_columns(view, samples: tuple[str, ...]) -> None:
    """Size each column to its header text and a typical value at the current text size."""
    header = view.horizontalHeader()
    fm = view.fontMetrics()
    for col, sample in enumerate(samples):
        header.resizeSection(col, max(fm.horizontalAdvance(sample) + 16, header.sectionSizeHint(col)))
