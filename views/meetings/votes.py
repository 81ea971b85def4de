"""Per-person votes of one motion (a roll-call, or ballots typed in one by one): the people present
or represented, keys 1 for, 2 against, 3 abstain, 0 withdraws; the cursor moves to the next person
and the tally with its outcome follows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from db.meetings import meetings as mt
from i18n import N_, _
from views.households.common import message_label, show_message
from views.meetings.models import DONE, MUTED, RowsModel
from views.meetings.session import _table

COLUMNS = [("sort_no", N_("No.")), ("name", N_("Name")), ("status", N_("Attendance")), ("choice", N_("Vote"))]
KEYS = {Qt.Key.Key_1: "for", Qt.Key.Key_2: "against", Qt.Key.Key_3: "abstain", Qt.Key.Key_0: None}


class _VoteTable(QTableView):
    def __init__(self, dialog: PersonVotesDialog):
        super().__init__(dialog)
        self.dialog = dialog

    def keyPressEvent(self, event):  # noqa: N802 - Qt API
        key = Qt.Key(event.key())
        if key in KEYS and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.dialog.vote(KEYS[key])
        else:
            super().keyPressEvent(event)


class PersonVotesDialog(QDialog):
    def __init__(self, ctx, motion: dict[str, Any], people: list[dict[str, Any]], parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.motion = motion
        self.changes: list = []
        self.setWindowTitle(_("Votes per person: {motion}").format(motion=motion["title"]))
        self.people = [p for p in people if p["status"] in ("present", "proxy")]
        self.choices: dict[str, str] = {}
        self.model = RowsModel(COLUMNS, self, formatters={
            "status": lambda r: _(mt.ATTENDANCE.get(r["status"], "")),
            "choice": lambda r: _(mt.CHOICES[self.choices[r["id"]]]) if r["id"] in self.choices else ""},
            colour=lambda r, k: (DONE if self.choices.get(r["id"]) == "for" else MUTED if r["id"] in self.choices
                                 else None) if k == "choice" else None)
        self.view = _VoteTable(self)
        template = _table(self.model, self, "personVotes", ("100", "欧阳娜娜", "委托代理", "弃权"))
        self.view.setObjectName("personVotes")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        for col in range(len(COLUMNS)):
            self.view.setColumnWidth(col, template.columnWidth(col))
        template.deleteLater()
        # A motion with options: the votes are per option; choose the option, then 1/2/3/0 as usual.
        self.option = QComboBox(self)
        self.option.setObjectName("voteOption")
        for o in motion.get("options") or []:
            self.option.addItem(f"{o['position']}. {o['label']}", o["id"])
        self.option.setVisible(bool(motion.get("options")))
        self.option.currentIndexChanged.connect(lambda _i: self.load())
        self.result_label = QLabel(self)
        self.result_label.setObjectName("personVotesResult")
        self.result_label.setWordWrap(True)
        self.message = message_label(self)
        buttons = QHBoxLayout()
        for text, choice in ((_("1 For"), "for"), (_("2 Against"), "against"), (_("3 Abstain"), "abstain"),
                             (_("0 Withdraw"), None)):
            b = QPushButton(text, self)
            b.clicked.connect(lambda _c=False, c=choice: self.vote(c))
            buttons.addWidget(b)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        close.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("Only those present or represented vote. Keys: 1 for, 2 against, 3 abstain, "
                                  "0 withdraws; the cursor moves to the next person."), self))
        layout.addWidget(self.option)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.result_label)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(close)
        fm = self.fontMetrics()
        self.resize(fm.horizontalAdvance("会") * 40, fm.lineSpacing() * 24)
        self.model.set_rows(self.people)
        if self.people:
            self.view.selectRow(0)
        self.load()

    def load(self) -> None:
        store, motion_id, option = self.ctx.store, self.motion["id"], self.option.currentData()

        def done(result) -> None:
            self.choices, outcome = result
            self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(max(0, len(self.people) - 1), 3))
            counts = {c: sum(v == c for v in self.choices.values()) for c in mt.CHOICES}
            result = outcome.reason if outcome.decided else f"{outcome.label}：{outcome.reason}"
            self.result_label.setText(_("For {f}, against {a}, abstain {b}, not yet voted {n}. {result}").format(
                f=counts["for"], a=counts["against"], b=counts["abstain"], n=len(self.people) - len(self.choices),
                result=result))

        self.ctx.tasks.run(lambda _s: (mt.motion_votes(store, motion_id, option), mt.motion_outcome(store, motion_id)),
                           title=_("Votes"), on_done=done, parent=self, io=True, show_progress=False)

    def vote(self, choice: str | None) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            return
        person = self.people[index.row()]
        store, motion_id, option = self.ctx.store, self.motion["id"], self.option.currentData()
        show_message(self.message, None)

        def done(changes) -> None:
            self.changes += changes
            self.ctx.data_changed(changes)
            if index.row() + 1 < len(self.people):
                self.view.selectRow(index.row() + 1)
            self.load()

        self.ctx.tasks.run(lambda _s: mt.record_vote(store, motion_id=motion_id, invitee_id=person["id"],
                                                     choice=choice, option_id=option),
                           title=_("Votes"), on_done=done, parent=self, show_progress=False,
                           on_error=lambda e: show_message(self.message, getattr(e, "message", str(e))))
