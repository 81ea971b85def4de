"""Duplicates review: candidate pairs across the register; merging keeps both histories."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from db.register.persons import duplicate_pairs, merge_persons
from db.validation import mask_id
from i18n import N_, _
from views.households.common import DictListModel

REASONS = {"id_number": N_("same ID number"), "name_birth": N_("same name and birth date")}
COLUMNS = [("reasons", N_("Why")), ("a_name", N_("Person A")), ("a_birth", N_("Birth date")), ("a_id", N_("ID number")),
           ("a_address", N_("Address")), ("b_name", N_("Person B")), ("b_birth", N_("Birth date")),
           ("b_id", N_("ID number")), ("b_address", N_("Address"))]


class DuplicatesReview(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = DictListModel(COLUMNS, self, formatters={
            "reasons": lambda r: "、".join(_(REASONS.get(x, x)) for x in r["reasons"]),
            "a_name": lambda r: r["person_a"].get("name") or "", "b_name": lambda r: r["person_b"].get("name") or "",
            "a_birth": lambda r: r["person_a"].get("birth_date") or "",
            "b_birth": lambda r: r["person_b"].get("birth_date") or "",
            "a_id": lambda r: mask_id(r["person_a"].get("id_number")),
            "b_id": lambda r: mask_id(r["person_b"].get("id_number")),
            "a_address": lambda r: r["person_a"].get("current_address") or "",
            "b_address": lambda r: r["person_b"].get("current_address") or ""})
        self.view = QTableView(self)
        self.view.setObjectName("duplicatesTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        find = QPushButton(_("Find duplicates"), self)
        find.clicked.connect(self.refresh)
        self.keep_a = QPushButton(_("Merge: keep A"), self)
        self.keep_a.clicked.connect(lambda: self.merge(keep_first=True))
        self.keep_b = QPushButton(_("Merge: keep B"), self)
        self.keep_b.clicked.connect(lambda: self.merge(keep_first=False))
        self.status = QLabel(_("Persons with the same ID number, or the same name and birth date. Merging keeps "
                               "both records and their history; nothing is deleted."), self)
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        for w in (find, self.keep_a, self.keep_b):
            bar.addWidget(w)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def refresh(self) -> None:
        store = self.ctx.store

        def done(pairs):
            self.model.set_rows(pairs)
            self.status.setText(_("{n} candidate pairs.").format(n=len(pairs)))

        self.ctx.tasks.run(lambda _s: duplicate_pairs(store), title=_("Find duplicates"), on_done=done,
                           parent=self, io=True)

    def merge(self, *, keep_first: bool) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            return
        pair = self.model.rows[index.row()]
        keep, dup = (pair["a"], pair["b"]) if keep_first else (pair["b"], pair["a"])
        store = self.ctx.store

        def done(changes):
            self.ctx.data_changed(changes)
            self.refresh()

        self.ctx.tasks.run(lambda _s: merge_persons(store, keep_id=keep, duplicate_id=dup),
                           title=_("Merge duplicates"), on_done=done, parent=self)
