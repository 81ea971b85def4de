"""A person's tag periods and life events, with the actions that change them (move out, death)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import persons as person_service
from db.register import tags as tag_service
from i18n import N_, _
from views.households.common import message_label, show_message

EVENT_LABELS = {"move_in": N_("Moved in"), "move_out": N_("Moved out"), "death": N_("Died")}


class DateDetailDialog(QDialog):
    """Ask for a date and (optionally) a text, e.g. the destination of a move."""

    def __init__(self, title: str, detail_label: str | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        self.date = QLineEdit(dt.date.today().isoformat(), self)
        form.addRow(_("Date"), self.date)
        self.detail = QLineEdit(self)
        if detail_label:
            form.addRow(detail_label, self.detail)
        else:
            self.detail.hide()
        self.message = message_label(self)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class PersonHistory(QWidget):
    def __init__(self, ctx, person_id: str, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("Tags (special groups) and their periods"), self))
        self.tag_list = QListWidget(self)
        layout.addWidget(self.tag_list)
        row = QHBoxLayout()
        self.tag_combo = QComboBox(self)
        for t in tag_service.list_tags(ctx.store):
            self.tag_combo.addItem(t["name"], t["id"])
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText(_("Reason"))
        add = QPushButton(_("Add tag"), self)
        add.setAutoDefault(False)
        add.clicked.connect(self.add_tag)
        end = QPushButton(_("End selected tag"), self)
        end.setAutoDefault(False)
        end.clicked.connect(self.end_tag)
        for w in (self.tag_combo, self.reason, add, end):
            row.addWidget(w)
        layout.addLayout(row)
        self.message = message_label(self)
        layout.addWidget(self.message)
        layout.addWidget(QLabel(_("Life events (history is kept)"), self))
        self.events = QListWidget(self)
        layout.addWidget(self.events)
        row = QHBoxLayout()
        out = QPushButton(_("Move out…"), self)
        out.setAutoDefault(False)
        out.clicked.connect(self.move_out)
        death = QPushButton(_("Record death…"), self)
        death.setAutoDefault(False)
        death.clicked.connect(self.death)
        row.addWidget(out)
        row.addWidget(death)
        row.addStretch(1)
        layout.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        self.tag_list.clear()
        self._tags = tag_service.person_tags(self.ctx.store, self.person_id)
        for t in self._tags:
            period = f"{t['start_date'] or '?'} – {t['end_date'] or _('now')}"
            self.tag_list.addItem(f"{t['name']}　{period}　{t['reason'] or ''}")
        self.events.clear()
        for pid in person_service.merged_ids(self.ctx.store, self.person_id):
            for e in person_service.life_events(self.ctx.store, pid):
                self.events.addItem(f"{e['event_date']}　{_(EVENT_LABELS.get(e['kind'], e['kind']))}　{e['detail'] or ''}")

    def _run(self, fn, title: str) -> None:
        def done(changes):
            self.ctx.data_changed(changes)
            self.refresh()

        def failed(error):
            if isinstance(error, ValidationErrors):
                show_message(self.message, error.message)
            else:
                self.ctx.errors.show(error, self)

        show_message(self.message, None)
        self.ctx.tasks.run(lambda _s: fn(), title=title, on_done=done, on_error=failed, parent=self)

    def add_tag(self) -> None:
        tag_id, reason = self.tag_combo.currentData(), self.reason.text()
        if tag_id:
            self._run(lambda: tag_service.tag_person(self.ctx.store, person_id=self.person_id, tag_id=tag_id,
                                                     reason=reason), _("Add tag"))

    def end_tag(self) -> None:
        row = self.tag_list.currentRow()
        if 0 <= row < len(self._tags):
            ptid = self._tags[row]["id"]
            self._run(lambda: tag_service.end_tag(self.ctx.store, person_tag_id=ptid), _("End selected tag"))

    def move_out(self) -> None:
        dlg = DateDetailDialog(_("Move out"), _("Moved to"), self)
        if dlg.exec():
            date, dest = dlg.date.text(), dlg.detail.text()
            self._run(lambda: person_service.move_out(self.ctx.store, person_id=self.person_id, date=date,
                                                      destination=dest), _("Move out"))

    def death(self) -> None:
        dlg = DateDetailDialog(_("Record death"), None, self)
        if dlg.exec():
            date = dlg.date.text()
            self._run(lambda: person_service.record_death(self.ctx.store, person_id=self.person_id, date=date),
                      _("Record death"))
