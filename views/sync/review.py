"""办公室待审: what the office hub holds for a person to decide, on the office's administrator computer.

Three kinds (hub/review.py): an edit a laptop made after its record had moved out of its grids
(keep it, or undo it), a change number that arrived with other content (looked into: mark it
as seen; it stays on record), and a conflict between devices (settle it with the newest value
here, or choose in the Conflicts tab). The list is fetched and every decision carried out as a
background task (db.sync.hub_client: one service each, the local part in one transaction).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.sync import hub_client
from db.sync.conflicts import field_label
from db.sync.labels import table_label
from i18n import N_, _

HEADERS = [N_("Kind of item"), N_("Record"), N_("Sent by"), N_("When"), N_("Details")]
KIND_LABELS = {"left_scope": N_("Edit after a move"), "fault": N_("Changed copy of a change"),
               "conflict": N_("Conflict between devices")}
# Which decisions fit which kind (the buttons enabled for the selected item).
DECISIONS = {"left_scope": ("keep", "undo"), "fault": ("seen",), "conflict": ("newest",)}


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms else ""


def _field(name: str) -> str:
    label = field_label(name)
    if label == name and name.endswith("_id"):
        return table_label(name[:-3]) if table_label(name[:-3]) != name[:-3] else field_label(name[:-3])
    return label


def describe(item: hub_client.ReviewItem) -> str:
    """The details column: what changed and where the record is now."""
    fields = "、".join(_field(f) for f in item.fields)
    grids = "、".join(item.grids)
    if item.kind == "left_scope":
        return _("changed {fields}; the record is now in {grids}").format(fields=fields or "—", grids=grids or "—")
    if item.kind == "fault":
        return _("number {key} arrived with other content ({fields}); the stored one is kept").format(
            key=item.key.split(":")[-1], fields=fields or "—")
    return _("{n} field(s) with several values; in {grids}").format(n=item.conflicts, grids=grids or "—")


class HubReviewTab(QWidget):
    """The 办公室待审 tab: the office hub's review queue, with the decisions that fit the selected item.
    Shown on the office's administrator computer only (SyncScreen)."""

    sig_decided = Signal(object)  # the sync result of a decision that sent a change, or None

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.items: list[hub_client.ReviewItem] = []
        layout = QVBoxLayout(self)
        intro = QLabel(_("What the office hub holds for the office to decide: edits that laptops made after a "
                         "record had moved out of their grids, changes that arrived twice with different content, "
                         "and conflicts between devices. Nothing here was dropped; each decision is sent to the "
                         "hub."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        top = QHBoxLayout()
        self.summary = QLabel(_("Not loaded yet."))
        self.summary.setWordWrap(True)
        top.addWidget(self.summary, 1)
        self.refresh_button = QPushButton(_("Load from the hub"))
        self.refresh_button.clicked.connect(self.load)
        top.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels([_(h) for h in HEADERS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in range(len(HEADERS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.keep_button = QPushButton(_("Keep the edit"))
        self.undo_button = QPushButton(_("Undo the edit"))
        self.seen_button = QPushButton(_("Looked into: mark as seen"))
        self.newest_button = QPushButton(_("Settle with the newest value"))
        self.buttons = {"keep": self.keep_button, "undo": self.undo_button, "seen": self.seen_button,
                        "newest": self.newest_button}
        for decision, button in self.buttons.items():
            button.clicked.connect(lambda _checked=False, d=decision: self.decide(d))
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.hint = QLabel(_("A conflict can also be settled value by value in the Conflicts tab."))
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self._selection_changed()

    # -- loading ------------------------------------------------------------------------------------
    def load(self, *, quiet: bool = False) -> None:
        """Fetch the queue (quiet: after an automatic sync, a failure only shows in the summary)."""
        store = self.ctx.store

        def work(state):
            state.set_progress(0, 0, _("Asking the office hub…"))
            return hub_client.review_queue(store)

        self.refresh_button.setEnabled(False)
        self.ctx.tasks.run(work, title=_("Review queue"), on_done=self.show_queue,
                           on_error=lambda e: self._failed(e, quiet),
                           on_cancel=lambda: self.refresh_button.setEnabled(True), parent=self,
                           show_progress=not quiet)

    def _failed(self, error, quiet: bool = False) -> None:
        self.refresh_button.setEnabled(True)
        self.summary.setText(str(error))
        if not quiet:
            self.ctx.errors.show(error, self)

    def show_queue(self, queue: hub_client.ReviewQueue) -> None:
        self.refresh_button.setEnabled(True)
        self.items = queue.items
        c = queue.counts
        if not self.items:
            self.summary.setText(_("Nothing waits for a decision."))
        else:
            self.summary.setText(_("{left} edit(s) after a move · {faults} changed copies · {conflicts} conflict(s)"
                                   ).format(left=c.get("left_scope", 0), faults=c.get("fault", 0),
                                            conflicts=c.get("conflict", 0)))
        self.table.setRowCount(len(self.items))
        for row, item in enumerate(self.items):
            who = item.device_name or ""
            if item.user:
                who = f"{item.user} · {who}" if who else item.user
            values = [_(KIND_LABELS.get(item.kind, item.kind)),
                      f"{table_label(item.tbl)}：{item.label}" if item.label else table_label(item.tbl),
                      who, _when(item.at_ms), describe(item)]
            for column, text in enumerate(values):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()
        self._selection_changed()

    # -- deciding -----------------------------------------------------------------------------------
    def current(self) -> hub_client.ReviewItem | None:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows and rows[0].row() < len(self.items) else None

    def _selection_changed(self) -> None:
        item = self.current()
        fitting = DECISIONS.get(item.kind, ()) if item else ()
        for decision, button in self.buttons.items():
            button.setEnabled(decision in fitting)

    def decide(self, decision: str) -> None:
        item = self.current()
        if item is None or decision not in DECISIONS.get(item.kind, ()):
            return
        store = self.ctx.store

        def work(state):
            def progress(phase, done, total):
                state.set_progress(done, total, _("Sending changes…") if phase == "push" else _("Receiving…"))
            state.set_progress(0, 0, _("Carrying out the decision…"))
            result = hub_client.decide_review(store, item, decision, progress=progress)
            return result, hub_client.review_queue(store)

        def done(answer):
            result, queue = answer
            if result is not None:
                self.ctx.data_changed(result.changes)
            self.show_queue(queue)
            self.sig_decided.emit(result)

        self.ctx.tasks.run(work, title=_("Review queue"), on_done=done, on_error=lambda e: self.ctx.errors.show(e, self),
                           parent=self)
