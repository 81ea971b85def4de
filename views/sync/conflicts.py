"""The conflicts review: the live values of a field side by side with who and when; choose or type."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.sync import conflicts as service
from i18n import N_, _

HEADERS = [N_("Register"), N_("Record"), N_("Field"), N_("Values")]




class ConflictsModel(QAbstractTableModel):
    """The open conflicts (one row per field), loaded through db.sync.conflicts."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[service.ConflictItem] = []

    def load(self, store) -> None:
        self.beginResetModel()
        self.items = service.list_conflicts(store)
        self.endResetModel()

    def rowCount(self, parent=None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(self.items)

    def columnCount(self, parent=None) -> int:  # noqa: N802 - Qt API
        return len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(HEADERS[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        item = self.items[index.row()]
        return [service.table_label(item.table), item.label, field_label(item.field),
                " / ".join(service.display_value(item.field, c.value) for c in item.candidates)][index.column()]


field_label = service.field_label


class ConflictsTab(QWidget):
    sig_resolved = Signal(object)
    """A conflict was settled: the list of db.oplog.Change."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.revealed: set[tuple[str, str, str]] = set()
        layout = QVBoxLayout(self)
        self.count = QLabel()
        layout.addWidget(self.count)
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = ConflictsModel(self)
        self.list = QTableView()
        self.list.setModel(self.model)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.horizontalHeader().setStretchLastSection(True)
        self.list.selectionModel().currentRowChanged.connect(lambda *_a: self._show_current())
        split.addWidget(self.list)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel()
        dl.addWidget(self.title)
        self.values = QTableWidget(4, 0)
        labels = [_("Value"), _("Changed by"), _("On device"), _("When")]
        self.values.setVerticalHeaderLabels(labels)
        # Room for the longest label at any text size (the header sized itself a little short).
        metrics = self.values.verticalHeader().fontMetrics()
        self.values.verticalHeader().setMinimumWidth(max(metrics.horizontalAdvance(t) for t in labels) + 16)
        self.values.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectColumns)
        self.values.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.values.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.values.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        dl.addWidget(self.values)
        row = QHBoxLayout()
        self.reveal_button = QPushButton(_("Show in full (recorded)"))
        self.reveal_button.clicked.connect(self.reveal_current)
        row.addWidget(self.reveal_button)
        self.use_button = QPushButton(_("Keep the selected value"))
        self.use_button.clicked.connect(self.use_selected)
        # Nothing is chosen for the person: the button waits until a value is selected.
        self.values.itemSelectionChanged.connect(self._selection_changed)
        row.addWidget(self.use_button)
        self.new_value = QLineEdit()
        self.new_value.setPlaceholderText(_("or type the correct value"))
        row.addWidget(self.new_value, 1)
        self.save_button = QPushButton(_("Save this value"))
        self.save_button.clicked.connect(self.use_typed)
        row.addWidget(self.save_button)
        dl.addLayout(row)
        split.addWidget(detail)
        layout.addWidget(split, 1)
        self.refresh()

    def refresh(self) -> None:
        self.model.load(self.ctx.store)
        n = len(self.model.items)
        self.count.setText(_("Open conflicts: {n}. Each shows every value that was entered; choose the right "
                             "one or type it. Your choice goes to the other devices with the next exchange."
                             ).format(n=n) if n else _("No open conflicts."))
        if n:
            self.list.selectRow(0)
        self._show_current()

    def current(self) -> service.ConflictItem | None:
        row = self.list.currentIndex().row()
        return self.model.items[row] if 0 <= row < len(self.model.items) else None

    def _show_current(self) -> None:
        item = self.current()
        enabled = item is not None
        for w in (self.use_button, self.save_button, self.new_value):
            w.setEnabled(enabled)
        if item is None:
            self.title.setText("")
            self.values.setColumnCount(0)
            return
        self.title.setText(_("{table} “{record}”, field {field}:").format(
            table=service.table_label(item.table), record=item.label, field=field_label(item.field)))
        self.values.setColumnCount(len(item.candidates))
        self.values.setHorizontalHeaderLabels([_("Value {n}").format(n=i + 1) for i in range(len(item.candidates))])
        for col, c in enumerate(item.candidates):
            shown = service.display_value(item.field, c.value, full=self._revealed(item))
            for row, text in enumerate([shown, c.user or "?", c.device_name or c.node, c.when]):
                self.values.setItem(row, col, QTableWidgetItem(text))
        self.values.clearSelection()
        self.values.setCurrentCell(-1, -1)
        self.use_button.setEnabled(False)
        sensitive = item.field in service.SENSITIVE
        self.reveal_button.setVisible(sensitive)
        self.reveal_button.setEnabled(sensitive and not self._revealed(item))
        self.new_value.setEnabled(item.field != "deleted")
        self.save_button.setEnabled(item.field != "deleted")

    def _selection_changed(self) -> None:
        chosen = bool(self.values.selectedRanges()) and self.current() is not None
        self.use_button.setEnabled(chosen)

    def _revealed(self, item) -> bool:
        return (item.table, item.row_id, item.field) in self.revealed

    def reveal_current(self) -> None:
        item = self.current()
        if item is None:
            return
        service.reveal_conflict(self.ctx.store, item)
        self.revealed.add((item.table, item.row_id, item.field))
        self._show_current()

    def use_selected(self) -> None:
        item = self.current()
        ranges = self.values.selectedRanges()
        col = ranges[0].leftColumn() if ranges else -1
        if item is None or not 0 <= col < len(item.candidates):
            return
        self._resolve(item, item.candidates[col].value)

    def use_typed(self) -> None:
        item = self.current()
        if item is None:
            return
        self._resolve(item, self.new_value.text().strip() or None)

    def _resolve(self, item: service.ConflictItem, value: Any) -> None:
        store = self.ctx.store

        def work(state):
            return service.resolve_conflict(store, item.table, item.row_id, item.field, value)

        def done(changes):
            self.new_value.clear()
            self.ctx.data_changed(changes)
            self.sig_resolved.emit(changes)
            self.refresh()

        self.ctx.tasks.run(work, title=_("Saving the decision"), on_done=done, parent=self)
