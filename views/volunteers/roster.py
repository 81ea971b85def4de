"""Roster (花名册) with search and filters, the volunteer dialog, and the team pages."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from db.errors import GridDeskError
from db.validation import mask_phone
from db.volunteers import roster, service
from db.volunteers.common import TEAM_KINDS, hours_text
from i18n import N_, _
from views.households.common import DictListModel, fit_columns, shortcut
from views.households.flow import FlowLayout
from views.volunteers.common import RosterModel, button, error_label, fit_to_contents, run_write, save_output

DEBOUNCE_MS = 120
COLUMN_SAMPLES = ("V000001", "欧阳娜娜", "男", "100", "生活帮困1队", "购物代办、陪伴聊天", "1000.5", "是（区市场监管局）",
                  "185****3758", "420103********6582")


def _table(parent: QWidget, model, *, multi: bool = False) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.ExtendedSelection if multi else
                          QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    # Every header readable at any text size (the values of these short lists fit the same widths).
    for col in range(model.columnCount()):
        header.resizeSection(col, max(header.sectionSizeHint(col) + 12, view.fontMetrics().horizontalAdvance("10-31 14:30") + 16))
    return view


class RosterBrowser(QWidget):
    """Search as you type: name, pinyin initials (zs), number, skill or team; filters by team and skill."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.last_search_ms = 0.0
        self.search = QLineEdit(self)
        self.search.setObjectName("rosterSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(_("Search: name, initials (zs), volunteer number, skill or team  (Ctrl+F)"))
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self.timer.start())
        self.search.returnPressed.connect(lambda: self.table.setFocus())
        self.team = QComboBox(self)
        self.team.setObjectName("teamFilter")
        self.skill = QComboBox(self)
        self.skill.setObjectName("skillFilter")
        self.party = QCheckBox(_("Party members reporting"), self)
        self.status = QComboBox(self)
        for key, label in (("active", N_("Active")), ("left", N_("Left")), ("all", N_("Everyone"))):
            self.status.addItem(_(label), key)
        for w in (self.team, self.skill, self.status):
            fit_to_contents(w)
            w.currentIndexChanged.connect(lambda *_a: self.refresh())
        self.party.toggled.connect(lambda *_a: self.refresh())
        self.model = RosterModel(lambda ids: roster.roster_rows(self.ctx.store, ids), self)
        self.table = _table(self, self.model)
        self.table.setObjectName("rosterTable")
        fit_columns(self.table, COLUMN_SAMPLES)
        self.table.doubleClicked.connect(lambda _i: self.edit_volunteer())
        self.count = QLabel(self)
        self.count.setObjectName("count")
        filters = FlowLayout()
        for w in (self.team, self.skill, self.status, self.party):
            filters.addWidget(w)
        actions = QHBoxLayout()
        actions.addWidget(button(self, _("New volunteer"), self.new_volunteer, "Ctrl+N"))
        actions.addWidget(button(self, _("Edit volunteer"), self.edit_volunteer, _("Enter")))
        actions.addWidget(button(self, _("Print roster"), self.print_roster))
        actions.addWidget(button(self, _("Export service records"), self.export_records,
                                 _("the national system's bulk-upload columns (.xlsx)")))
        actions.addWidget(button(self, _("Hours certificate"), self.certificate,
                                 _("issue a numbered certificate for the chosen volunteer")))
        actions.addWidget(button(self, _("Record sheet"), self.record_sheet,
                                 _("the chosen volunteer's approved services (志愿服务记录表, PDF)")))
        actions.addStretch(1)
        actions.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        shortcut(self, "Ctrl+F", lambda: (self.search.setFocus(), self.search.selectAll()))
        shortcut(self, "Ctrl+N", self.new_volunteer)
        shortcut(self.table, "Return", self.edit_volunteer)
        ctx.events.sig_data_changed.connect(self._data_changed)

    def start(self) -> None:
        self.reload_choices()
        self.refresh()

    def reload_choices(self) -> None:
        store = self.ctx.store
        for box, first, items in ((self.team, _("All teams"), roster.team_names(store)),
                                  (self.skill, _("All skills"), [(s, s) for s in roster.skills_in_use(store)])):
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(first, None)
            for label, data in items:
                box.addItem(label, data)
            box.setCurrentIndex(max(0, box.findData(current)))
            box.blockSignals(False)

    def filters(self) -> roster.RosterFilters:
        return roster.RosterFilters(text=self.search.text(), team_id=self.team.currentData(),
                                    skill=self.skill.currentData(), party_only=self.party.isChecked(),
                                    status=self.status.currentData())

    def refresh(self) -> None:
        started = time.perf_counter()
        ids = roster.search_volunteers(self.ctx.store, self.filters())
        self.model.set_ids(ids)
        self.last_search_ms = (time.perf_counter() - started) * 1000
        self.count.setText(_("{n} volunteers").format(n=f"{len(ids):,}"))
        if ids:
            self.table.selectRow(0)

    def current_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.ids[index.row()] if index.isValid() and index.row() < len(self.model.ids) else None

    def new_volunteer(self) -> None:
        VolunteerDialog(self.ctx, None, self).open()

    def edit_volunteer(self) -> None:
        vid = self.current_id()
        if vid:
            VolunteerDialog(self.ctx, vid, self).open()

    def print_roster(self) -> None:
        from printouts import volunteers_forms

        filters = self.filters()
        save_output(self.ctx, self, _("Volunteer roster") + ".pdf",
                    lambda: volunteers_forms.roster_list(self.ctx.store, filters)[0])

    def record_sheet(self) -> None:
        from printouts import volunteers_forms

        vid = self.current_id()
        if vid is None:
            return
        save_output(self.ctx, self, _("Volunteer service record") + ".pdf",
                    lambda: volunteers_forms.record_sheet(self.ctx.store, vid)[0])

    def export_records(self) -> None:
        from db.volunteers.export import export_services

        vid = self.current_id() if self.search.text().strip() else None
        save_output(self.ctx, self, _("Service records") + ".xlsx",
                    lambda path: export_services(self.ctx.store, path, volunteer_id=vid), kind="xlsx")

    def certificate(self) -> None:
        from db.volunteers import stars
        from printouts import volunteers_forms

        vid = self.current_id()
        if vid is None:
            return
        issuer = self.ctx.store.get_meta("vol_issuer") or _("Community residents' committee")
        try:
            changes = stars.issue_certificate(self.ctx.store, volunteer_id=vid, issuer=issuer)
        except GridDeskError as exc:
            self.ctx.errors.show(exc, self)
            return
        self.ctx.data_changed(changes)
        cid = changes[0].row_id
        save_output(self.ctx, self, _("Certificate of volunteer service hours") + ".pdf",
                    lambda: volunteers_forms.certificate(self.ctx.store, cid)[0])

    def _data_changed(self, changes) -> None:
        tables = {c.table for c in changes}
        if tables & {"volunteer", "vol_skill", "vol_team_member", "vol_team"}:
            self.reload_choices()
            self.refresh()
        elif tables & {"vol_service", "person"}:
            self.model.invalidate()


class VolunteerDialog(QDialog):
    """New or edit: a resident found by name links to the register (name and ID come from there)."""

    def __init__(self, ctx, volunteer_id: str | None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.volunteer_id = volunteer_id
        self.setWindowTitle(_("Edit volunteer") if volunteer_id else _("New volunteer"))
        # Room for a resident's name, masked ID and address, and the hints, at any text size.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("国") * 40)
        store = ctx.store
        info = roster.volunteer_info(store, volunteer_id) if volunteer_id else None
        self.name = QLineEdit(self)
        self.name.setObjectName("name")
        self.resident = fit_to_contents(QComboBox(self))
        self.resident.setObjectName("resident")
        # Find the resident as the register's search does: name, pinyin initials, ID fragment, door.
        self.find = QLineEdit(self)
        self.find.setObjectName("findResident")
        self.find.setPlaceholderText(_("name, initials (zs), part of the ID number or door (1-101)"))
        self.find.setClearButtonEnabled(True)
        self.phone = QLineEdit(self)
        self.phone.setObjectName("phone")
        # A resident's phone comes from the register, masked; showing it in full is audited.
        self.reveal_phone = QPushButton(_("Show in full"), self)
        self.reveal_phone.setObjectName("revealPhone")
        self.reveal_phone.setAutoDefault(False)
        self.reveal_phone.clicked.connect(lambda: self.show_phone())
        self.reveal_phone.setVisible(False)
        self.linked_person: str | None = None
        phone_row = QWidget(self)
        phone_layout = QHBoxLayout(phone_row)
        phone_layout.setContentsMargins(0, 0, 0, 0)
        phone_layout.addWidget(self.phone, 1)
        phone_layout.addWidget(self.reveal_phone)
        self.skills = QLineEdit(self)
        self.skills.setObjectName("skills")
        self.skills.setPlaceholderText(_("e.g. 购物代办、陪伴聊天"))
        self.availability = QLineEdit(self)
        self.availability.setObjectName("availability")
        self.availability.setPlaceholderText(_("weekday and time, e.g. 1 08:00-12:00; 6 14:00-18:00"))
        self.party = QCheckBox(_("Working party member reporting to the community (在职党员报到)"), self)
        self.employer = QLineEdit(self)
        self.team = QComboBox(self)
        self.team.addItem(_("(no team)"), None)
        for t in roster.list_teams(store):
            self.team.addItem(t["name"], t["id"])
        self.message = error_label(self)
        form = QFormLayout()
        form.addRow(_("Find in the register"), self.find)
        form.addRow(_("Resident"), self.resident)
        form.addRow(_("Name"), self.name)
        form.addRow(_("Phone"), phone_row)
        form.addRow(_("Skills"), self.skills)
        form.addRow(_("Availability"), self.availability)
        form.addRow("", self.party)
        form.addRow(_("Employer"), self.employer)
        form.addRow(_("Team"), self.team)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.name.editingFinished.connect(self._find_residents)
        self.find.textEdited.connect(self._search_register)
        self.find.returnPressed.connect(self.resident.setFocus)
        self.resident.currentIndexChanged.connect(self._resident_chosen)
        if info:
            self.name.setText(info["name"] or "")
            self.name.setReadOnly(bool(info["person_id"]))
            self._set_phone(info["person_id"], mask_phone(info["phone"]) if info["person_id"] else info["phone"])
            self.skills.setText("、".join(info["skills"]))
            self.availability.setText("; ".join(f"{s.weekday} {s.start}-{s.end}" for s in info["availability"]))
            self.party.setChecked(bool(info["party_report"]))
            self.employer.setText(info["employer"] or "")
            self.resident.addItem(_("linked to the register") if info["person_id"] else _("not a resident here"),
                                  info["person_id"])
            self.resident.setEnabled(False)
            self.find.setVisible(False)
            form.labelForField(self.find).setVisible(False)
            self.team.setVisible(False)
            form.labelForField(self.team).setVisible(False)
        else:
            self.resident.addItem(_("not a resident here"), None)

    def _search_register(self, text: str) -> None:
        if self.volunteer_id:
            return
        self.resident.blockSignals(True)
        self.resident.clear()
        for r in roster.find_residents(self.ctx.store, text):
            taken = _("（already a volunteer）") if r["volunteer"] else ""
            self.resident.addItem(" ".join(x for x in (r["name"], r["id_number"], r["address"]) if x) + taken,
                                  r["id"])
            self.resident.setItemData(self.resident.count() - 1, r["name"], Qt.ItemDataRole.UserRole + 1)
            self.resident.setItemData(self.resident.count() - 1, r["phone"], Qt.ItemDataRole.UserRole + 2)
        self.resident.addItem(_("not a resident here"), None)
        self.resident.blockSignals(False)
        self._resident_chosen()

    def _resident_chosen(self) -> None:
        """A resident picked: name and phone come from the register; otherwise they are typed."""
        if self.volunteer_id:
            return
        name = self.resident.currentData(Qt.ItemDataRole.UserRole + 1)
        linked = self.resident.currentData() is not None
        if linked and name:
            self.name.setText(name)
        self.name.setReadOnly(linked and bool(name))
        if linked:
            self._set_phone(self.resident.currentData(), self.resident.currentData(Qt.ItemDataRole.UserRole + 2))
        elif self.linked_person:
            self._set_phone(None, "")

    def _set_phone(self, person_id: str | None, shown: str | None) -> None:
        """A resident's phone (masked, from the register, not edited here) or a typed one."""
        self.linked_person = person_id
        self.phone.setText(shown or "")
        self.phone.setReadOnly(bool(person_id))
        self.phone.setPlaceholderText(_("no phone in the register") if person_id else "")
        self.reveal_phone.setVisible(bool(person_id and shown))
        self.reveal_phone.setEnabled(True)

    def show_phone(self) -> None:
        """The resident's phone in full: an explicit choice that leaves an audit entry."""
        from db.register.audit import reveal

        if not self.linked_person:
            return
        store, person = self.ctx.store, self.linked_person

        def done(value: str) -> None:
            if person == self.linked_person:
                self.phone.setText(value)
                self.reveal_phone.setEnabled(False)

        self.ctx.tasks.run(lambda _s: reveal(store, table="person", row_id=person, field="phone"),
                           title=_("Show in full"), on_done=done, parent=self,
                           on_error=lambda e: self.message.setText(getattr(e, "message", str(e))))

    def _find_residents(self) -> None:
        if self.volunteer_id or self.name.isReadOnly():
            return
        self.resident.clear()
        found = roster.residents_named(self.ctx.store, self.name.text())
        for r in found:
            self.resident.addItem(f"{r['name']} {r['birth_date'] or ''} {r['address'] or ''}", r["id"])
        self.resident.addItem(_("not a resident here"), None)

    def save(self) -> None:
        store = self.ctx.store
        try:
            skills = [s for s in self.skills.text().replace(",", "、").replace("，", "、").split("、") if s.strip()]
            slots = roster.parse_availability(self.availability.text())
            person = self.resident.currentData() if not self.volunteer_id else None
            team = self.team.currentData() if not self.volunteer_id else None
        except GridDeskError as exc:
            self.message.setText(exc.message)
            return
        values = dict(volunteer_id=self.volunteer_id, person_id=person, name=None if person else self.name.text(),
                      phone=None if person else self.phone.text(), skills=skills, availability=slots,
                      party_report=self.party.isChecked(), employer=self.employer.text(),
                      team_ids=[team] if team else None)
        if getattr(self, "saving", False):
            return  # a second Enter while the first save runs would add the volunteer twice
        self.saving = True

        def refused(exc) -> None:
            self.saving = False
            self.message.setText(exc.message)

        run_write(self.ctx, self, lambda: roster.save_volunteer(store, **values), title=_("Volunteer"),
                  done=lambda _changes: self.accept(), refused=refused)


class TeamsPage(QWidget):
    """Teams (kind, leader, size) beside the members of the chosen team and their hours."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.teams = DictListModel([("name", N_("Team")), ("kind", N_("Kind")), ("leader_name", N_("Leader")),
                                    ("members", N_("Members"))], self)
        self.team_view = _table(self, self.teams)
        self.team_view.setObjectName("teamTable")
        self.members = RosterModel(lambda ids: roster.roster_rows(self.ctx.store, ids), self)
        self.member_view = _table(self, self.members)
        self.member_view.setObjectName("memberTable")
        self.summary = QLabel(self)
        self.summary.setObjectName("teamSummary")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText(_("New team name"))
        self.kind = QComboBox(self)
        for k in TEAM_KINDS:
            self.kind.addItem(k, k)
        self.message = error_label(self)
        self.team_view.selectionModel().currentRowChanged.connect(lambda *_a: self._show_team())
        add = QHBoxLayout()
        add.addWidget(self.name, 1)
        add.addWidget(self.kind)
        add.addWidget(button(self, _("Add team"), self.add_team))
        add.addWidget(button(self, _("Make leader"), self.make_leader, _("the chosen member leads the team")))
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.team_view)
        right = QWidget(self)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.summary)
        rv.addWidget(self.member_view)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(split, 1)
        layout.addLayout(add)
        layout.addWidget(self.message)
        ctx.events.sig_data_changed.connect(self._data_changed)

    def refresh(self) -> None:
        row = self.team_view.currentIndex().row()
        self.teams.set_rows(roster.list_teams(self.ctx.store))
        if self.teams.rows:
            self.team_view.selectRow(max(0, min(row, len(self.teams.rows) - 1)))

    def current_team(self) -> dict | None:
        index = self.team_view.currentIndex()
        return self.teams.rows[index.row()] if index.isValid() and index.row() < len(self.teams.rows) else None

    def _show_team(self) -> None:
        team = self.current_team()
        if team is None:
            self.members.set_ids([])
            self.summary.setText("")
            return
        ids = roster.team_members(self.ctx.store, team["id"])
        self.members.set_ids(ids)
        total = sum(r["minutes"] for r in roster.roster_rows(self.ctx.store, ids[:2000]).values())
        self.summary.setText(_("{team} · {kind} · leader {leader} · {n} members · {hours} h approved").format(
            team=team["name"], kind=team["kind"] or "", leader=team["leader_name"] or "-", n=len(ids),
            hours=hours_text(total)))

    def add_team(self) -> None:
        store, name, kind = self.ctx.store, self.name.text(), self.kind.currentData()

        def done(_changes) -> None:
            self.message.setText("")
            self.name.clear()

        run_write(self.ctx, self, lambda: roster.save_team(store, name=name, kind=kind), title=_("Teams"),
                  done=done, message=self.message)

    def make_leader(self) -> None:
        team = self.current_team()
        index = self.member_view.currentIndex()
        if team is None or not index.isValid():
            return
        store, vid = self.ctx.store, self.members.ids[index.row()]
        run_write(self.ctx, self, lambda: roster.save_team(store, team_id=team["id"], name=team["name"],
                                                           kind=team["kind"], leader_id=vid, phone=team["phone"]),
                  title=_("Teams"), done=lambda _changes: self.message.setText(""), message=self.message)

    def _data_changed(self, changes) -> None:
        if {c.table for c in changes} & {"vol_team", "vol_team_member", "volunteer"}:
            self.refresh()


def total_hours_text(store, volunteer_id: str) -> str:
    return hours_text(service.total_minutes(store, volunteer_id))
