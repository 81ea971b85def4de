"""Rota planner (week grid, clashes highlighted with the reason), time-bank passbook, needs board,
star notices and certificates."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.volunteers import needs, roster, rotas, stars, timebank
from db.volunteers.common import POOL, WEEKDAYS, hours_text
from i18n import N_, _
from views.households.common import DictListModel, shortcut
from views.volunteers.common import CLASH_BG, button, error_label, fit_to_contents, run_write, save_output
from views.volunteers.roster import _table

VOLUNTEER_MIME = "application/x-griddesk-volunteer"


class MemberList(QListWidget):
    """The rota team's members; drag one onto a shift of the grid."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setObjectName("rotaMembers")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def sizeHint(self):  # noqa: N802 - Qt API
        """Wide enough for a name and a volunteer number at the current text size."""
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance("欧阳晓晓 V000000") + self.verticalScrollBar().sizeHint()
                      .width() + 2 * self.frameWidth() + 12)
        return hint

    def mimeData(self, items):  # noqa: N802 - Qt API
        data = QMimeData()
        if items:
            data.setData(VOLUNTEER_MIME, QByteArray(items[0].data(Qt.ItemDataRole.UserRole).encode()))
            data.setText(items[0].text())
        return data


class RotaGrid(QTableWidget):
    """The week grid; a volunteer dropped on a cell is put on that shift."""

    sig_dropped = Signal(int, int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QTableWidget.DragDropMode.DropOnly)

    def dragEnterEvent(self, event):  # noqa: N802 - Qt API
        if event.mimeData().hasFormat(VOLUNTEER_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event):  # noqa: N802 - Qt API
        if event.mimeData().hasFormat(VOLUNTEER_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802 - Qt API
        index = self.indexAt(event.position().toPoint())
        if not index.isValid() or not event.mimeData().hasFormat(VOLUNTEER_MIME):
            return
        event.acceptProposedAction()
        self.sig_dropped.emit(index.row(), index.column(), bytes(event.mimeData().data(VOLUNTEER_MIME)).decode())


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def find_one(store, text: str) -> tuple[str | None, str]:
    """One volunteer for typed initials/name/number, or (None, why not)."""
    ids = roster.search_volunteers(store, roster.RosterFilters(text=text.strip())) if text.strip() else []
    if not ids:
        return None, _("No volunteer matches “{text}”.").format(text=text)
    if len(ids) > 1:
        rows = roster.roster_rows(store, ids[:50])
        exact = [i for i in ids[:50] if rows[i]["number"] == text.strip() or rows[i]["name"] == text.strip()]
        if len(exact) == 1:
            return exact[0], ""
        return None, _("Several volunteers match: type more letters or the volunteer number.")
    return ids[0], ""


class RotaPlanner(QWidget):
    """One rota's week: rows are the shift times, columns the days. Choose a cell, type a volunteer
    and press Enter. A clash (another rota then, or not available) is shown in red with its reason."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.monday = _monday(dt.date.today())
        self.rota = QComboBox(self)
        self.rota.setObjectName("rotaChoice")
        self.rota.currentIndexChanged.connect(lambda *_a: self.refresh_grid())
        self.week_label = QLabel(self)
        self.grid = RotaGrid(self)
        self.grid.setObjectName("rotaGrid")
        self.grid.sig_dropped.connect(self.drop_volunteer)
        self.members = MemberList(self)
        self.grid.setColumnCount(7)
        self.grid.setWordWrap(True)
        self.grid.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.horizontalHeader().setMinimumSectionSize(60)
        self.grid.currentCellChanged.connect(lambda *_a: self._show_cell())
        self.who = QLineEdit(self)
        self.who.setObjectName("assignInput")
        self.who.setPlaceholderText(_("Volunteer (initials, name or number), Enter to put on the chosen shift"))
        self.who.returnPressed.connect(self.assign_typed)
        self.force = button(self, _("Assign despite the clash"), self.assign_anyway)
        self.force.setObjectName("assignAnyway")
        self.force.setEnabled(False)
        self.cell_info = QLabel(self)
        self.cell_info.setObjectName("cellInfo")
        self.cell_info.setWordWrap(True)
        self.message = error_label(self)
        self.per_shift = QSpinBox(self)
        self.per_shift.setRange(1, 10)
        self.per_shift.setValue(2)
        self.per_shift.setPrefix(_("people per shift: "))
        self.pending: tuple[str, str] | None = None
        self.shifts: dict[tuple[int, int], dict] = {}
        nav = QHBoxLayout()
        nav.addWidget(self.rota, 1)
        nav.addWidget(button(self, "◀", lambda: self.move_week(-1), _("previous week (Alt+Left)")))
        nav.addWidget(self.week_label)
        nav.addWidget(button(self, "▶", lambda: self.move_week(1), _("next week (Alt+Right)")))
        nav.addWidget(self.per_shift)
        nav.addWidget(button(self, _("Generate 4 weeks"), self.generate, _("fair rotation of the rota's team")))
        entry = QHBoxLayout()
        entry.addWidget(self.who, 1)
        entry.addWidget(self.force)
        entry.addWidget(button(self, _("Remove from shift"), self.remove_selected))
        entry.addWidget(button(self, _("Print rota"), self.print_rota, _("four weeks from the week shown")))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(nav)
        middle = QHBoxLayout()
        middle.addWidget(self.grid, 1)
        middle.addWidget(self.members)
        layout.addLayout(middle, 1)
        layout.addWidget(self.cell_info)
        layout.addLayout(entry)
        self.findings = QLineEdit(self)
        self.findings.setObjectName("patrolFindings")
        self.findings.setPlaceholderText(_("Patrol log of the chosen shift: route and findings (e.g. 无异常)"))
        self.findings.returnPressed.connect(self.log_patrol)
        log_row = QHBoxLayout()
        log_row.addWidget(self.findings, 1)
        log_row.addWidget(button(self, _("Log patrol"), self.log_patrol))
        layout.addLayout(log_row)
        layout.addWidget(self.message)
        shortcut(self, "Alt+Left", lambda: self.move_week(-1))
        shortcut(self, "Alt+Right", lambda: self.move_week(1))

    def refresh(self) -> None:
        current = self.rota.currentData()
        self.rota.blockSignals(True)
        self.rota.clear()
        for r in rotas.list_rotas(self.ctx.store):
            self.rota.addItem(f"{r['name']}（{_(rotas.KINDS.get(r['kind'], r['kind']))}）", r["id"])
        self.rota.setCurrentIndex(max(0, self.rota.findData(current)))
        self.rota.blockSignals(False)
        self.refresh_grid()

    def _fill_members(self) -> None:
        self.members.clear()
        rid = self.rota.currentData()
        rota = next((r for r in rotas.list_rotas(self.ctx.store) if r["id"] == rid), None)
        ids = roster.team_members(self.ctx.store, rota["team_id"]) if rota and rota["team_id"] else []
        rows = roster.roster_rows(self.ctx.store, ids[:300])
        for vid in ids[:300]:
            item = QListWidgetItem(f"{rows[vid]['name']} {rows[vid]['number']}", self.members)
            item.setData(Qt.ItemDataRole.UserRole, vid)
            item.setToolTip(_("drag onto a shift"))

    def drop_volunteer(self, row: int, col: int, volunteer_id: str) -> None:
        """A member dropped on a cell: the same as choosing the cell and typing the name."""
        self.grid.setCurrentCell(row, col)
        s = self.current_shift()
        if s is None:
            self.message.setText(_("Choose a shift in the grid first."))
            return
        self._assign(s["id"], volunteer_id)

    def move_week(self, step: int) -> None:
        self.monday += dt.timedelta(days=7 * step)
        self.refresh_grid()

    def set_week(self, monday: dt.date) -> None:
        self.monday = _monday(monday)
        self.refresh_grid()

    def refresh_grid(self) -> None:
        rid = self.rota.currentData()
        if getattr(self, "_members_for", None) != rid:
            self._members_for = rid
            self._fill_members()
        self.week_label.setText(_("week of {day}").format(day=self.monday.isoformat()))
        days = [self.monday + dt.timedelta(days=i) for i in range(7)]
        self.grid.setHorizontalHeaderLabels([f"{_(WEEKDAYS[i])} {d:%m-%d}" for i, d in enumerate(days)])
        week = rotas.week(self.ctx.store, rota_id=rid, monday=self.monday) if rid else []
        times = sorted({(s["start"], s["end"]) for s in week})
        self.grid.setRowCount(len(times))
        self.grid.setVerticalHeaderLabels([f"{a}-{b}" for a, b in times])
        self.shifts = {}
        self.clash_cells: list[tuple[int, int]] = []
        for s in week:
            row = times.index((s["start"], s["end"]))
            col = (dt.date.fromisoformat(s["day"]) - self.monday).days
            self.shifts[(row, col)] = s
            lines, tips = [], []
            for p in s["people"]:
                lines.append(("⚠ " if p["clashes"] else "") + (p["name"] or ""))
                if p["clashes"]:
                    tips.append(f"{p['name']}：{'；'.join(p['clashes'])}")
            item = QTableWidgetItem("\n".join(lines) or "—")
            if tips:
                item.setBackground(QBrush(CLASH_BG))
                item.setToolTip("\n".join(tips))
                self.clash_cells.append((row, col))
            self.grid.setItem(row, col, item)
        self.grid.resizeRowsToContents()
        self._show_cell()

    def current_shift(self) -> dict | None:
        return self.shifts.get((self.grid.currentRow(), self.grid.currentColumn()))

    def _show_cell(self) -> None:
        s = self.current_shift()
        if s is None:
            self.cell_info.setText("")
            return
        parts = [f"{s['day']} {s['start']}-{s['end']}"]
        for p in s["people"]:
            parts.append(p["name"] + (f"（{_('clash')}：{'；'.join(p['clashes'])}）" if p["clashes"] else ""))
        self.cell_info.setText("  ".join(parts))

    def assign_typed(self) -> None:
        s = self.current_shift()
        if s is None:
            self.message.setText(_("Choose a shift in the grid first."))
            return
        vid, why = find_one(self.ctx.store, self.who.text())
        if vid is None:
            self.message.setText(why)
            return
        self._assign(s["id"], vid)

    def _assign(self, shift_id: str, vid: str, *, allow_clash: bool = False) -> None:
        store = self.ctx.store

        def refused(exc) -> None:
            self.message.setText(exc.message)
            clash = not allow_clash and bool(rotas.clash_reasons_of(exc))
            self.pending = (shift_id, vid) if clash else None
            self.force.setEnabled(clash)

        run_write(self.ctx, self, lambda: rotas.assign(store, shift_id=shift_id, volunteer_id=vid,
                                                       allow_clash=allow_clash),
                  title=_("Rota"), done=self._done, refused=refused)

    def assign_anyway(self) -> None:
        if self.pending is None:
            return
        shift_id, vid = self.pending
        self._assign(shift_id, vid, allow_clash=True)

    def _done(self, changes) -> None:
        self.pending = None
        self.force.setEnabled(False)
        self.message.setText("")
        self.who.clear()
        row, col = self.grid.currentRow(), self.grid.currentColumn()
        self.refresh_grid()
        self.grid.setCurrentCell(row, col)

    def remove_selected(self) -> None:
        s = self.current_shift()
        vid, why = find_one(self.ctx.store, self.who.text()) if self.who.text().strip() else (None, "")
        if s is None or vid is None:
            self.message.setText(why or _("Type the volunteer to remove from the chosen shift."))
            return
        store, shift_id = self.ctx.store, s["id"]
        run_write(self.ctx, self, lambda: rotas.unassign(store, shift_id=shift_id, volunteer_id=vid),
                  title=_("Rota"), done=self._done, message=self.message)

    def log_patrol(self) -> None:
        s = self.current_shift()
        if s is None:
            self.message.setText(_("Choose a shift in the grid first."))
            return
        store, shift_id, findings = self.ctx.store, s["id"], self.findings.text()

        def done(_changes) -> None:
            self.findings.clear()
            self.message.setText(_("Patrol log saved."))

        run_write(self.ctx, self, lambda: rotas.log_patrol(store, shift_id=shift_id, route=None, findings=findings),
                  title=_("Patrol log"), done=done, message=self.message)

    def print_rota(self) -> None:
        from printouts import volunteers_forms

        rid = self.rota.currentData()
        if rid:
            first = self.monday
            save_output(self.ctx, self, self.rota.currentText() + ".pdf",
                        lambda: volunteers_forms.rota_sheet(self.ctx.store, rid, first=first,
                                                            last=first + dt.timedelta(days=27))[0])

    def generate(self) -> None:
        rid = self.rota.currentData()
        rota = next((r for r in rotas.list_rotas(self.ctx.store) if r["id"] == rid), None)
        if rota is None or not rota["team_id"]:
            self.message.setText(_("This rota has no team: the generator rotates a team's members."))
            return
        store, monday, per_shift = self.ctx.store, self.monday, self.per_shift.value()

        def work(_s):
            people = roster.team_members(store, rota["team_id"])
            return rotas.generate(store, [rotas.RotaPlan(rid, people, monday, weeks=4, per_shift=per_shift,
                                                         leader_id=rota["leader"], place=rota["place"])])

        def done(result) -> None:
            loads = list(result.loads.get(rid, {}).values()) or [0]
            self.message.setText(_("{shifts} shifts, {n} places filled, {open} open; shifts per person {lo}-{hi}.")
                                 .format(shifts=result.shifts, n=result.assignments, open=result.unfilled,
                                         lo=min(loads), hi=max(loads)))
            self.refresh_grid()

        def failed(error: BaseException) -> None:
            self.message.setText(getattr(error, "message", str(error)))

        self.ctx.tasks.run(work, title=_("Generate 4 weeks"), on_done=done, on_error=failed, parent=self)


class PassbookPage(QWidget):
    """The time-bank passbook of one account (a volunteer's, a team's or the pool), with withdraw,
    transfer and donate; a team's account holds hours earned as a group: it takes group-service
    deposits and can only donate them. Reads and writes run as tasks."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.account: str | None = None
        self.group = False
        self.who = QLineEdit(self)
        self.who.setObjectName("bankAccount")
        self.who.setPlaceholderText(_("Volunteer (initials, name or number), Enter; or “pool”"))
        self.who.returnPressed.connect(self.open_typed)
        self.team = fit_to_contents(QComboBox(self))
        self.team.setObjectName("bankTeam")
        self.team.addItem(_("Team account…"), None)
        self.team.activated.connect(lambda _i: self._team_chosen())
        self.title = QLabel(self)
        self.title.setObjectName("bankTitle")
        self.warning = error_label(self)
        self.warning.setObjectName("overdraftWarning")
        self.entries = DictListModel(
            [("at", N_("Date")), ("kind", N_("Entry")), ("minutes", N_("Hours")), ("balance", N_("Balance")),
             ("other", N_("From / to")), ("note", N_("Note"))], self,
            formatters={"at": lambda r: (r["at"] or "")[:10], "kind": lambda r: _(KIND_LABELS.get(r["kind"], r["kind"])),
                        "minutes": lambda r: ("+" if r["minutes"] > 0 else "-") + hours_text(abs(r["minutes"])),
                        "balance": lambda r: hours_text(r["balance"]) if r["balance"] >= 0
                        else "-" + hours_text(-r["balance"])})
        self.table = _table(self, self.entries)
        self.table.setObjectName("passbookTable")
        self.hours = QSpinBox(self)
        self.hours.setRange(1, 100_000)
        self.hours.setSuffix(_(" min"))
        self.hours.setValue(60)
        self.note = QLineEdit(self)
        self.note.setPlaceholderText(_("Note, e.g. the service received"))
        self.relative = QComboBox(self)
        self.relative.setObjectName("relative")
        self.activity = QComboBox(self)
        self.activity.setObjectName("groupActivity")
        self.message = error_label(self)
        self.buttons = {
            "withdraw": button(self, _("Withdraw"), self.withdraw),
            "donate": button(self, _("Donate to pool"), self.donate),
            "transfer": button(self, _("Transfer"), self.transfer),
            "group": button(self, _("Deposit group service"), self.deposit_group,
                            _("The team served as a group at the chosen activity: its hours go to the team's "
                              "account and can only be donated.")),
            "print": button(self, _("Print passbook"), self.print_page)}
        top = QHBoxLayout()
        top.addWidget(self.who, 1)
        top.addWidget(self.team)
        ops = QHBoxLayout()
        ops.addWidget(self.hours)
        ops.addWidget(self.note, 1)
        ops.addWidget(self.buttons["withdraw"])
        ops.addWidget(self.buttons["donate"])
        ops.addWidget(self.relative)
        ops.addWidget(self.buttons["transfer"])
        group = QHBoxLayout()
        group.addWidget(self.activity, 2)
        group.addWidget(self.buttons["group"])
        group.addStretch(1)
        group.addWidget(self.buttons["print"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.title)
        layout.addWidget(self.warning)
        layout.addWidget(self.table, 1)
        layout.addLayout(ops)
        layout.addLayout(group)
        layout.addWidget(self.message)
        self._enable()

    def refresh(self) -> None:
        store = self.ctx.store

        def work(_s):
            overdrawn = timebank.overdrafts(store)
            names = [timebank.account_name(store, a) for a, _m in overdrawn[:10]]
            return names, timebank.team_accounts(store)

        def done(result) -> None:
            names, teams = result
            self.team.blockSignals(True)
            self.team.clear()
            self.team.addItem(_("Team account…"), None)
            for t in teams:
                self.team.addItem(_("{team}: {hours} h").format(team=t["name"], hours=hours_text(t["balance"]))
                                  if t["balance"] else t["name"], t["id"])
            if self.account:
                self.team.setCurrentIndex(max(0, self.team.findData(self.account)))
            self.team.blockSignals(False)
            if self.account is None:
                self.warning.setText(_("Overdrawn accounts after merges: {names}").format(names="、".join(names))
                                     if names else "")
            else:
                self.show_account(self.account)

        self.ctx.tasks.run(work, title=_("Time bank"), on_done=done, parent=self, io=True, show_progress=False)

    def open_typed(self) -> None:
        text = self.who.text().strip()
        if text.lower() in ("pool", "公益池"):
            self.show_account(POOL)
            return
        team = self.team.findText(text)
        if team > 0:
            self.show_account(self.team.itemData(team))
            return
        vid, why = find_one(self.ctx.store, text)
        if vid is None:
            self.message.setText(why)
            return
        self.message.setText("")
        self.show_account(vid)

    def _team_chosen(self) -> None:
        team = self.team.currentData()
        if team:
            self.message.setText("")
            self.show_account(team)

    def show_account(self, account: str) -> None:
        store = self.ctx.store
        self.account = account

        def done(view) -> None:
            if view["account"] != self.account:
                return
            balance = view["balance"]
            self.group = view["group"]
            self.title.setText(_("{name}: balance {hours} h").format(
                name=view["name"], hours=hours_text(balance) if balance >= 0 else "-" + hours_text(-balance)))
            if balance < 0:
                self.warning.setText(_("Overdrawn by {hours} h: entries from two computers were merged; no "
                                       "withdrawal until deposits cover it.").format(hours=hours_text(-balance)))
            elif self.group:
                self.warning.setText(_("Hours earned by the team as a group: they can only be donated to the pool."))
            else:
                self.warning.setText("")
            self.entries.set_rows(view["entries"])
            self.relative.clear()
            for r in view["relatives"]:
                self.relative.addItem(f"{r.name}（{r.relation}）" + ("" if r.eligible else f" ✗ {r.reason}"),
                                      r.person_id)
            self.activity.clear()
            for a in view.get("activities", []):
                self.activity.addItem(f"{(a['start'] or '')[:10]} {a['title']}", a["id"])
            self.team.blockSignals(True)
            self.team.setCurrentIndex(max(0, self.team.findData(account)))
            self.team.blockSignals(False)
            self._enable()

        def work(_s):
            view = timebank.account_overview(store, account)
            if view["group"]:
                from db.volunteers.service import list_activities

                view["activities"] = list_activities(store, team_id=account, limit=200)
            return view

        self.ctx.tasks.run(work, title=_("Time bank"), on_done=done, parent=self, io=True, show_progress=False)

    def _enable(self) -> None:
        """A team's account only donates (and takes group deposits); a person's withdraws and transfers."""
        opened = self.account is not None
        person = opened and not self.group and self.account != POOL
        self.buttons["withdraw"].setEnabled(person)
        self.buttons["transfer"].setEnabled(person)
        self.relative.setVisible(not self.group)
        self.buttons["transfer"].setVisible(not self.group)
        self.buttons["donate"].setEnabled(opened and self.account != POOL)
        self.buttons["group"].setVisible(self.group)
        self.activity.setVisible(self.group)
        self.buttons["print"].setEnabled(opened)

    def _run(self, fn) -> None:
        if self.account is None:
            self.message.setText(_("Open an account first."))
            return
        account = self.account

        def done(changes) -> None:
            self.message.setText("")
            self.ctx.data_changed(changes)
            if self.group:
                self.refresh()  # the team's balance in the choice follows
            else:
                self.show_account(account)

        def failed(error: BaseException) -> None:
            self.message.setText(getattr(error, "message", str(error)))

        self.ctx.tasks.run(lambda _s: fn(), title=_("Time bank"), on_done=done, on_error=failed, parent=self)

    def print_page(self) -> None:
        from printouts import volunteers_forms

        if self.account:
            account = self.account
            save_output(self.ctx, self, _("Time bank passbook") + ".pdf",
                        lambda: volunteers_forms.passbook_page(self.ctx.store, account)[0])

    def withdraw(self) -> None:
        store, account, minutes, note = self.ctx.store, self.account, self.hours.value(), self.note.text()
        self._run(lambda: timebank.withdraw(store, account=account, minutes=minutes, note=note))

    def donate(self) -> None:
        store, account, minutes, note = self.ctx.store, self.account, self.hours.value(), self.note.text()
        self._run(lambda: timebank.donate(store, account=account, minutes=minutes, note=note))

    def transfer(self) -> None:
        store, account, minutes, note = self.ctx.store, self.account, self.hours.value(), self.note.text()
        person = self.relative.currentData()
        self._run(lambda: timebank.transfer(store, source=account, person_id=person, minutes=minutes, note=note))

    def deposit_group(self) -> None:
        store, account, minutes, note = self.ctx.store, self.account, self.hours.value(), self.note.text()
        activity = self.activity.currentData()
        if not activity:
            self.message.setText(_("Activity: choose the activity the team served at as a group."))
            return
        self._run(lambda: timebank.deposit_group_service(store, team_id=account, activity_id=activity,
                                                          minutes=minutes, note=note or None))


KIND_LABELS = {"deposit": N_("Deposit"), "withdraw": N_("Withdrawal"), "transfer": N_("Transfer"),
               "donate": N_("Donation")}


class NeedsBoard(QWidget):
    """Residents' needs with suggested helpers (same building first), match with Enter."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.needs = DictListModel(
            [("name", N_("Resident")), ("address", N_("Address")), ("help", N_("Help needed")), ("skill", N_("Skill")),
             ("frequency", N_("How often")), ("when", N_("When")), ("status", N_("Status")),
             ("helpers", N_("Helpers"))], self,
            formatters={"when": lambda r: (_(WEEKDAYS[r["weekday"] - 1]) if r["weekday"] else "") +
                        (f" {r['start']}-{r['end']}" if r["start"] else ""),
                        "status": lambda r: _(NEED_STATUS.get(r["status"], r["status"] or ""))})
        self.need_view = _table(self, self.needs)
        self.need_view.setObjectName("needTable")
        self.suggestions = DictListModel([("name", N_("Suggested helper")), ("number", N_("Volunteer no.")),
                                          ("load", N_("Needs already")), ("reason", N_("Why"))], self)
        self.suggest_view = _table(self, self.suggestions)
        self.suggest_view.setObjectName("suggestionTable")
        self.need_view.selectionModel().currentRowChanged.connect(lambda *_a: self._suggest())
        self.message = error_label(self)
        row = QHBoxLayout()
        row.addWidget(button(self, _("Match the chosen helper"), self.match, _("Enter in the suggestions")))
        row.addWidget(button(self, _("Add needs from the register's tags"), self.add_from_tags))
        row.addStretch(1)
        self.done_from = QDateTimeEdit(self)
        self.done_from.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.done_to = QDateTimeEdit(self)
        self.done_to.setDisplayFormat("yyyy-MM-dd HH:mm")
        now = dt.datetime.now().replace(second=0, microsecond=0)
        self.done_from.setDateTime(now - dt.timedelta(hours=1))
        self.done_to.setDateTime(now)
        row.addWidget(self.done_from)
        row.addWidget(self.done_to)
        row.addWidget(button(self, _("Record service done"), self.record_done,
                             _("by the chosen suggested helper; counts as hours once approved")))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.need_view, 2)
        layout.addWidget(QLabel(_("Suggested helpers: with the skill and free then, nearest first (same building, "
                                  "compound, grid)"), self))
        layout.addWidget(self.suggest_view, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        shortcut(self.suggest_view, "Return", self.match)

    def refresh(self) -> None:
        row = self.need_view.currentIndex().row()
        self.needs.set_rows(needs.list_needs(self.ctx.store))
        if self.needs.rows:
            self.need_view.selectRow(max(0, min(row, len(self.needs.rows) - 1)))

    def current_need(self) -> dict | None:
        i = self.need_view.currentIndex()
        return self.needs.rows[i.row()] if i.isValid() and i.row() < len(self.needs.rows) else None

    def _suggest(self) -> None:
        need = self.current_need()
        found = needs.suggest(self.ctx.store, need_id=need["id"]) if need else []
        self.suggestions.set_rows([s.__dict__ for s in found])
        if found:
            self.suggest_view.selectRow(0)

    def match(self) -> None:
        need = self.current_need()
        i = self.suggest_view.currentIndex()
        if need is None or not i.isValid():
            return
        store, need_id, helper = self.ctx.store, need["id"], self.suggestions.rows[i.row()]["volunteer_id"]

        def done(_changes) -> None:
            self.message.setText("")
            self.refresh()

        run_write(self.ctx, self, lambda: needs.match(store, need_id=need_id, volunteer_id=helper),
                  title=_("Needs"), done=done, message=self.message)

    def record_done(self) -> None:
        need = self.current_need()
        i = self.suggest_view.currentIndex()
        helper = self.suggestions.rows[i.row()]["volunteer_id"] if i.isValid() and i.row() < len(self.suggestions.rows) \
            else None
        if need is None or helper is None:
            self.message.setText(_("Choose the need and the helper first."))
            return
        store, need_id = self.ctx.store, need["id"]
        start, end = self.done_from.dateTime().toPython(), self.done_to.dateTime().toPython()

        def done(_changes) -> None:
            self.message.setText(_("Service recorded; it waits for approval under “Approve hours”."))

        run_write(self.ctx, self, lambda: needs.record_need_service(store, need_id=need_id, volunteer_id=helper,
                                                                    sign_in=start, sign_out=end),
                  title=_("Needs"), done=done, message=self.message)

    def add_from_tags(self) -> None:
        helps = {"独居老人": ("每周代买菜", "购物代办"), "空巢老人": ("陪伴聊天", "陪伴聊天"), "孤寡老人": ("上门探访", "陪伴聊天"),
                 "残疾人": ("上门理发", "理发"), "留守儿童": ("课业辅导", "课业辅导"), "困境儿童": ("课业辅导", "课业辅导")}
        store = self.ctx.store

        def work():
            wanted = []
            for c in needs.candidates_from_tags(store, limit=50):
                help_text, skill = helps.get(c["tag"].split("、")[0], ("上门探访", None))
                wanted.append({"person_id": c["person_id"], "help": help_text, "skill": skill})
            return needs.save_needs(store, wanted)

        def done(changes) -> None:
            self.message.setText(_("{n} needs added.").format(n=len(changes)))
            self.refresh()

        run_write(self.ctx, self, work, title=_("Needs"), done=done, message=self.message)


NEED_STATUS = {"open": N_("Awaiting a helper"), "matched": N_("Matched"), "closed": N_("Closed")}


class StarsPage(QWidget):
    """Star levels: the preset, the public-notice list (公示), awarding, certificates."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.preset = QComboBox(self)
        self.preset.setObjectName("starPreset")
        for key, (label, limits) in stars.PRESETS.items():
            self.preset.addItem(f"{_(label)}：{'/'.join(map(str, limits))} h", key)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.counts = QLabel(self)
        self.counts.setObjectName("starCounts")
        self.list = DictListModel([("name", N_("Name")), ("number", N_("Volunteer no.")), ("teams", N_("Teams")),
                                   ("level", N_("Star level")), ("hours", N_("Hours")),
                                   ("notice_until", N_("Notice until"))], self,
                                  formatters={"level": lambda r: "★" * (r["level"] or 0)})
        self.view = _table(self, self.list)
        self.view.setObjectName("noticeTable")
        # Certificate numbers given twice (two laptops issuing offline): listed, and one renumbered.
        self.dup_warning = error_label(self)
        self.dup_warning.setObjectName("duplicateCertificates")
        self.dups = DictListModel([("number", N_("Certificate no.")), ("name", N_("Name")),
                                   ("issued", N_("Issued")), ("handler", N_("Handler"))], self)
        self.dup_view = _table(self, self.dups)
        self.dup_view.setObjectName("duplicateTable")
        self.renumber_button = button(self, _("Renumber the chosen certificate"), self.renumber,
                                      _("give it the next free number of the register; reprint it"))
        self.message = error_label(self)
        top = QHBoxLayout()
        top.addWidget(self.preset, 1)
        top.addWidget(button(self, _("Post new stars for notice"), self.post))
        top.addWidget(button(self, _("Award stars whose notice is over"), self.award))
        top.addWidget(button(self, _("Print notice list"), self.print_notice))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addWidget(QLabel(_("On public notice (公示)"), self))
        layout.addWidget(self.view, 1)
        layout.addWidget(self.dup_warning)
        layout.addWidget(self.dup_view)
        layout.addWidget(self.renumber_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.message)

    def _refresh_duplicates(self) -> None:
        found = stars.duplicate_certificates(self.ctx.store)
        self.dups.set_rows(found)
        numbers = sorted({c["number"] for c in found})
        self.dup_warning.setText(_("Certificate numbers given twice (issued offline on two computers): {numbers}. "
                                   "Renumber one of each pair and reprint it.").format(numbers="、".join(numbers))
                                 if found else "")
        for widget in (self.dup_warning, self.dup_view, self.renumber_button):
            widget.setVisible(bool(found))
        self.dup_view.setMaximumHeight(self.dup_view.verticalHeader().defaultSectionSize() * min(len(found) + 1, 6)
                                       + 8)

    def renumber(self) -> None:
        rows = self.dup_view.selectionModel().selectedRows()
        if not rows:
            self.message.setText(_("Choose one of the certificates that share a number first."))
            return
        store, cid = self.ctx.store, self.dups.rows[rows[0].row()]["id"]

        def done(_changes) -> None:
            self.message.setText(_("Certificate renumbered: {number}").format(
                number=stars.certificate(store, cid)["number"]))
            self._refresh_duplicates()

        run_write(self.ctx, self, lambda: stars.renumber_certificate(store, certificate_id=cid), title=_("Stars"),
                  done=done, message=self.message)

    def refresh(self) -> None:
        store = self.ctx.store
        self._refresh_duplicates()
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(0, self.preset.findData(store.get_meta("vol_star_preset") or "national")))
        self.preset.blockSignals(False)
        counts = stars.level_counts(store)
        self.counts.setText("  ".join(f"{'★' * lv}：{counts.get(lv, 0)}" for lv in range(5, 0, -1)))
        self.list.set_rows(stars.notices(store))

    def print_notice(self) -> None:
        from printouts import volunteers_forms

        save_output(self.ctx, self, _("Public notice of volunteer star levels") + ".pdf",
                    lambda: volunteers_forms.star_notice(self.ctx.store)[0])

    def _preset_changed(self) -> None:
        self.ctx.store.set_meta(vol_star_preset=self.preset.currentData())
        self.refresh()

    def post(self) -> None:
        """Star levels of every volunteer (40,000 in a large community): on the writer, not the GUI thread."""
        store = self.ctx.store

        def done(changes) -> None:
            self.message.setText(_("{n} new stars posted for public notice.").format(n=len(changes)))
            self.refresh()
            self.ctx.data_changed(changes)

        self.ctx.tasks.run(lambda _s: stars.post_notices(store), title=_("Stars"), on_done=done, parent=self)

    def award(self) -> None:
        store = self.ctx.store

        def done(changes) -> None:
            self.message.setText(_("{n} stars awarded.").format(n=len(changes)))
            self.refresh()
            self.ctx.data_changed(changes)

        self.ctx.tasks.run(lambda _s: stars.award_due(store), title=_("Stars"), on_done=done, parent=self)
