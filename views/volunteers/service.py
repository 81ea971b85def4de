"""Activity sign-in (type initials, Enter), sign-out, and the hours approval in bulk."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from db.volunteers import roster, service
from db.volunteers.common import hours_text
from i18n import N_, _
from views.households.common import DictListModel, shortcut
from views.volunteers.common import RosterModel, button, error_label, fit_to_contents, run_write, save_output
from views.volunteers.roster import _table

STATUS = {"pending": N_("Pending approval"), "approved": N_("Approved"), "rejected": N_("Rejected")}


def _clock(value: str | None) -> str:
    return (value or "").replace("T", " ")[5:16]


class SignInPage(QWidget):
    """Pick the activity, type a volunteer's initials or number and press Enter: signed in."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.activity = QComboBox(self)
        self.activity.setObjectName("activityChoice")
        self.activity.currentIndexChanged.connect(lambda *_a: self.refresh_records())
        self.who = QLineEdit(self)
        self.who.setObjectName("signInInput")
        self.who.setPlaceholderText(_("Initials, name or number, then Enter to sign in"))
        self.who.returnPressed.connect(self.sign_in_typed)
        self.who.textChanged.connect(self._preview)
        self.match = QLabel(self)
        self.match.setObjectName("signInMatch")
        self.message = error_label(self)
        self.records = DictListModel(
            [("number", N_("Volunteer no.")), ("name", N_("Name")), ("sign_in", N_("Signed in")),
             ("sign_out", N_("Signed out")), ("minutes", N_("Hours")), ("status", N_("Status"))], self,
            formatters={"sign_in": lambda r: _clock(r["sign_in"]), "sign_out": lambda r: _clock(r["sign_out"]),
                        "minutes": lambda r: hours_text(r["minutes"]) if r["sign_out"] else "",
                        "status": lambda r: _(STATUS.get(r["status"], r["status"] or ""))})
        self.table = _table(self, self.records, multi=True)
        self.table.setObjectName("signInTable")
        self.travel = QSpinBox(self)
        self.travel.setRange(0, 600)
        self.travel.setSuffix(_(" min travel"))
        # A new activity: title, start and end (set length = its span).
        self.title = QLineEdit(self)
        self.title.setPlaceholderText(_("New activity title"))
        self.team = fit_to_contents(QComboBox(self))
        self.start = QDateTimeEdit(self)
        self.start.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.end = QDateTimeEdit(self)
        self.end.setDisplayFormat("yyyy-MM-dd HH:mm")
        now = dt.datetime.now().replace(minute=0, second=0, microsecond=0)
        self.start.setDateTime(now)
        self.end.setDateTime(now + dt.timedelta(hours=2))
        new = QHBoxLayout()
        for w in (self.title, self.team, self.start, self.end):
            new.addWidget(w)
        new.addWidget(button(self, _("Add activity"), self.add_activity))
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Activity"), self))
        top.addWidget(self.activity, 1)
        entry = QHBoxLayout()
        entry.addWidget(self.who, 1)
        entry.addWidget(self.match, 1)
        out = QHBoxLayout()
        out.addWidget(self.travel)
        out.addWidget(button(self, _("Sign out chosen"), self.sign_out_selected, "Alt+O"))
        out.addWidget(button(self, _("Sign out everyone at the end"), self.sign_out_all))
        self.reason = QLineEdit(self)
        self.reason.setObjectName("correctionReason")
        self.reason.setPlaceholderText(_("Reason for a correction"))
        self.corrected_out = QDateTimeEdit(self)
        self.corrected_out.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.corrected_out.setDateTime(now)
        out.addStretch(1)
        out.addWidget(self.corrected_out)
        out.addWidget(self.reason, 1)
        out.addWidget(button(self, _("Correct sign-out"), self.correct, _("changes the chosen record; logged")))
        out.addWidget(button(self, _("Print sign-in sheet"), self.print_sheet))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(new)
        layout.addLayout(top)
        layout.addLayout(entry)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(out)
        shortcut(self, "Alt+O", self.sign_out_selected)

    def refresh(self) -> None:
        store = self.ctx.store
        current = self.activity.currentData()
        self.activity.blockSignals(True)
        self.activity.clear()
        for a in service.list_activities(store, limit=300):
            self.activity.addItem(f"{_clock(a['start'])} {a['title']} · {a['team_name'] or ''}", a["id"])
        self.activity.setCurrentIndex(max(0, self.activity.findData(current)))
        self.activity.blockSignals(False)
        self.team.clear()
        self.team.addItem(_("(no team)"), None)
        for t in roster.list_teams(store):
            self.team.addItem(t["name"], t["id"])
        self.refresh_records()

    def refresh_records(self) -> None:
        aid = self.activity.currentData()
        self.records.set_rows(service.activity_records(self.ctx.store, aid) if aid else [])

    def _candidates(self) -> list[str]:
        text = self.who.text().strip()
        if not text:
            return []
        return roster.search_volunteers(self.ctx.store, roster.RosterFilters(text=text))[:8]

    def _preview(self) -> None:
        ids = self._candidates()
        rows = roster.roster_rows(self.ctx.store, ids)
        names = [f"{rows[i]['name']}（{rows[i]['number']}）" for i in ids if i in rows]
        self.match.setText("、".join(names[:5]) + ("…" if len(names) > 5 else ""))

    def sign_in_typed(self) -> None:
        aid = self.activity.currentData()
        ids = self._candidates()
        if not aid:
            self.message.setText(_("Choose or add an activity first."))
            return
        if not ids:
            self.message.setText(_("No volunteer matches “{text}”.").format(text=self.who.text()))
            return
        exact = [i for i in ids if roster.roster_rows(self.ctx.store, [i])[i]["number"] == self.who.text().strip()]
        if len(ids) > 1 and not exact:
            self.message.setText(_("Several volunteers match: type more letters or the volunteer number."))
            return
        act = service.activity(self.ctx.store, aid)
        start = dt.datetime.fromisoformat(act["start"])
        at = max(dt.datetime.now(), start) if dt.datetime.now() < dt.datetime.fromisoformat(act["end"]) else start
        store, vid = self.ctx.store, (exact or ids)[0]

        def done(_changes) -> None:
            self.message.setText("")
            self.who.clear()
            self.refresh_records()

        run_write(self.ctx, self, lambda: service.sign_in(store, activity_id=aid, volunteer_id=vid, at=at),
                  title=_("Sign-in"), done=done, message=self.message)

    def _sign_out(self, rows) -> None:
        aid = self.activity.currentData()
        if not aid:
            return
        act = service.activity(self.ctx.store, aid)
        end = dt.datetime.fromisoformat(act["end"])
        at = min(dt.datetime.now(), end) if dt.datetime.now() > dt.datetime.fromisoformat(act["start"]) else end
        store, travel = self.ctx.store, self.travel.value()
        ids = [r["id"] for r in rows if not r["sign_out"]]
        if not ids:
            return

        def done(_changes) -> None:
            self.message.setText("")
            self.refresh_records()

        run_write(self.ctx, self, lambda: service.sign_out_many(store, service_ids=ids, at=at, travel_minutes=travel),
                  title=_("Sign-out"), done=done, message=self.message)

    def correct(self) -> None:
        rows = [self.records.rows[i.row()] for i in self.table.selectionModel().selectedRows()]
        if len(rows) != 1:
            self.message.setText(_("Choose one record to correct."))
            return
        store, sid, reason = self.ctx.store, rows[0]["id"], self.reason.text()
        out = self.corrected_out.dateTime().toPython()

        def done(_changes) -> None:
            self.message.setText(_("Corrected; the change is in the corrections log."))
            self.reason.clear()
            self.refresh_records()

        run_write(self.ctx, self, lambda: service.correct_service(store, service_id=sid, reason=reason, sign_out=out),
                  title=_("Correction"), done=done, message=self.message)

    def print_sheet(self) -> None:
        from printouts import volunteers_forms

        aid = self.activity.currentData()
        if aid:
            save_output(self.ctx, self, _("Sign-in sheet") + ".pdf",
                        lambda: volunteers_forms.signin_sheet(self.ctx.store, aid)[0])

    def sign_out_selected(self) -> None:
        rows = [self.records.rows[i.row()] for i in self.table.selectionModel().selectedRows()]
        self._sign_out(rows)

    def sign_out_all(self) -> None:
        self._sign_out(list(self.records.rows))

    def add_activity(self) -> None:
        store, team, title = self.ctx.store, self.team.currentData(), self.title.text()
        start, end = self.start.dateTime().toPython(), self.end.dateTime().toPython()

        def done(changes) -> None:
            self.message.setText("")
            self.title.clear()
            self.refresh()
            self.activity.setCurrentIndex(max(0, self.activity.findData(changes[0].row_id)))
            self.refresh_records()

        run_write(self.ctx, self, lambda: service.save_activity(store, team_id=team, title=title, start=start, end=end),
                  title=_("Activity"), done=done, message=self.message)


class PendingModel(RosterModel):
    """The approval list: the ids of every waiting record; rows fetched a page at a time (all reachable)."""

    COLUMNS: list[tuple[str, str]] = [
        ("start", N_("Date")), ("activity", N_("Activity")), ("team_name", N_("Team")), ("name", N_("Name")),
        ("sign_in", N_("Signed in")), ("sign_out", N_("Signed out")), ("minutes", N_("Hours")),
        ("counted", N_("Counts"))]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            return None
        r = self.row(index.row())
        if r is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return r
        key = self.COLUMNS[index.column()][0]
        if key == "start":
            return (r["start"] or "")[:10]
        if key in ("sign_in", "sign_out"):
            return _clock(r[key])
        if key == "minutes":
            return hours_text(r["minutes"])
        if key == "counted":
            return _("Yes") if r["counted"] else _("No: below the required share")
        return r.get(key) or ""


class ApprovalPage(QWidget):
    """Records waiting for the leader's approval: choose many (Ctrl+A) and approve or reject at once, or
    approve everything the team filter shows. The list holds ids only, so every waiting record is reachable."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.team = QComboBox(self)
        self.team.currentIndexChanged.connect(lambda *_a: self.refresh_rows())
        self.approver = QLineEdit(self)
        self.approver.setObjectName("approver")
        self.approver.setPlaceholderText(_("Approved by (default: the team leader)"))
        self.rows = PendingModel(lambda ids: service.pending_rows(self.ctx.store, ids), self)
        self.table = _table(self, self.rows, multi=True)
        self.table.setObjectName("approvalTable")
        self.summary = QLabel(self)
        self.message = error_label(self)
        top = QHBoxLayout()
        top.addWidget(self.team)
        top.addWidget(self.approver, 1)
        bottom = QHBoxLayout()
        self.approve_button = button(self, _("Approve chosen"), self.approve, "Ctrl+Enter")
        self.approve_button.setObjectName("approveButton")
        bottom.addWidget(self.approve_button)
        bottom.addWidget(button(self, _("Reject chosen"), self.reject))
        self.approve_all_button = button(self, _("Approve all shown"), self.approve_all,
                                         _("every waiting record of the chosen team (or of all teams)"))
        bottom.addWidget(self.approve_all_button)
        bottom.addStretch(1)
        bottom.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(bottom)
        shortcut(self, "Ctrl+Return", self.approve)

    def refresh(self) -> None:
        current = self.team.currentData()
        self.team.blockSignals(True)
        self.team.clear()
        self.team.addItem(_("All teams"), None)
        for t in roster.list_teams(self.ctx.store):
            self.team.addItem(t["name"], t["id"])
        self.team.setCurrentIndex(max(0, self.team.findData(current)))
        self.team.blockSignals(False)
        self.refresh_rows()

    def refresh_rows(self) -> None:
        store, team = self.ctx.store, self.team.currentData()
        self.rows.set_ids(service.pending_ids(store, team_id=team))
        n, minutes = service.pending_summary(store, team_id=team)
        self.summary.setText(_("{n} records waiting, {hours} h").format(n=n, hours=hours_text(minutes)))

    def chosen(self) -> list[str]:
        return [self.rows.ids[i.row()] for i in self.table.selectionModel().selectedRows()]

    def _apply(self, fn) -> None:
        def done(_changes) -> None:
            self.message.setText("")
            self.refresh_rows()

        run_write(self.ctx, self, fn, title=_("Approve hours"), done=done, message=self.message)

    def _decide(self, reject: bool) -> None:
        ids = self.chosen()
        if not ids:
            self.message.setText(_("Choose the records first (Ctrl+A chooses all)."))
            return
        store, approver = self.ctx.store, self.approver.text()
        self._apply(lambda: service.approve_services(store, service_ids=ids, approved_by=approver, reject=reject))

    def approve(self) -> None:
        self._decide(False)

    def reject(self) -> None:
        self._decide(True)

    def confirm_all(self, n: int) -> bool:
        return QMessageBox.question(self, _("Approve all shown"), _("Approve all {n} waiting records shown?").format(
            n=n)) == QMessageBox.StandardButton.Yes

    def approve_all(self) -> None:
        n = self.rows.rowCount()
        if not n:
            self.message.setText(_("No records are waiting."))
            return
        if self.confirm_all(n):
            store, team, approver = self.ctx.store, self.team.currentData(), self.approver.text()
            self._apply(lambda: service.decide_pending(store, team_id=team, approved_by=approver))
