"""Record a home visit: whom you met or 未遇 (nobody home) with a follow-up date."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
)

from db.errors import ValidationErrors
from db.register.households import household_members
from db.register.visits import FOLLOW_UP_DAYS_NOT_HOME, grid_worker, record_visit
from i18n import _
from views.households.common import combo, combo_value, message_label, show_message, with_message

PURPOSES = ["常规走访", "政策宣传", "信息核实", "节日慰问", "安全检查", "矛盾调解", "需求了解"]


LAST_VISITOR_KEY = "register/last_visitor"


class VisitDialog(QDialog):
    def __init__(self, ctx, *, household_id: str, address: str | None = None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.address = address
        self.setWindowTitle(_("Record visit"))
        self.saved_changes: list = []
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.addRow(_("Household"), QLabel(address or "", self))
        self.date = QLineEdit(dt.date.today().isoformat(), self)
        self.date.setObjectName("visit_date")
        # The visitor is the person set in 设置 (who works at this computer), else who was typed last
        # time, else the grid's worker, else the login name.
        operator = ctx.settings.operator_name if ctx.settings else ""
        last = str(ctx.settings.qs.value(LAST_VISITOR_KEY, "") or "") if ctx.settings else ""
        self.visitor = QLineEdit(operator or last or grid_worker(ctx.store, household_id) or ctx.user
                                 or ctx.store.user, self)
        self.not_home = QCheckBox(_("未遇: nobody was home"), self)
        self.not_home.setObjectName("not_home")
        names = [m["name"] for m in household_members(ctx.store, household_id) if m["name"]]
        self.met = combo(names, blank=True, editable=True, parent=self)
        self.met.setObjectName("met")
        self.purpose = combo(PURPOSES, blank=False, editable=True, parent=self)
        self.situation = QPlainTextEdit(self)
        self.situation.setTabChangesFocus(True)
        self.situation.setFixedHeight(60)
        self.requests = QLineEdit(self)
        self.outcome = QLineEdit(self)
        self.follow_up = QLineEdit(self)
        self.follow_up.setPlaceholderText(_("Set automatically a week later when nobody was home"))
        self.messages = {}
        for label, widget, key in ((_("Date"), self.date, "visit_date"), (_("Visitor"), self.visitor, "visitor"),
                                   ("", self.not_home, "not_home"), (_("Met"), self.met, "met"),
                                   (_("Purpose"), self.purpose, "purpose"),
                                   (_("Situation"), self.situation, "situation"),
                                   (_("Requests"), self.requests, "requests"), (_("Outcome"), self.outcome, "outcome"),
                                   (_("Follow-up date"), self.follow_up, "follow_up_date")):
            msg = message_label(self)
            form.addRow(label, with_message(widget, msg))
            self.messages[key] = msg
        self.not_home.toggled.connect(self._not_home_toggled)
        self.general = message_label(self)
        form.addRow(self.general)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.button(QDialogButtonBox.StandardButton.Save).setDefault(True)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.met.setFocus()
        self.resize(520, 480)

    def _not_home_toggled(self, checked: bool) -> None:
        self.met.setEnabled(not checked)
        if checked and not self.follow_up.text():
            try:
                day = dt.date.fromisoformat(self.date.text().strip())
                self.follow_up.setText((day + dt.timedelta(days=FOLLOW_UP_DAYS_NOT_HOME)).isoformat())
            except ValueError:
                pass

    def save(self) -> None:
        for label in self.messages.values():
            show_message(label, None)
        show_message(self.general, None)
        store, hid = self.ctx.store, self.household_id
        values = dict(household_id=hid, visit_date=self.date.text(), visitor=self.visitor.text(),
                      met=combo_value(self.met), not_home=self.not_home.isChecked(),
                      purpose=combo_value(self.purpose), situation=self.situation.toPlainText(),
                      requests=self.requests.text(), outcome=self.outcome.text(),
                      follow_up_date=self.follow_up.text().strip() or None)

        def done(changes):
            from views.households.undo_action import notify

            self.saved_changes = changes
            if self.ctx.settings and values["visitor"].strip():
                self.ctx.settings.qs.setValue(LAST_VISITOR_KEY, values["visitor"].strip())
            self.ctx.data_changed(changes)
            notify(self.parentWidget() or self, _("Visit recorded: {address}, {date}, {visitor}").format(
                address=self.address or "", date=values["visit_date"], visitor=values["visitor"]))
            self.accept()

        def failed(error):
            if isinstance(error, ValidationErrors):
                for err in error.errors:
                    show_message(self.messages.get(err.field or "") or self.general, err.message)
            else:
                self.ctx.errors.show(error, self)

        self.ctx.tasks.run(lambda _s: record_visit(store, **values), title=_("Record visit"), on_done=done,
                           on_error=failed, parent=self)
