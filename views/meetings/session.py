"""One meeting at work: quick sign-in with the quorum bar, agenda and minutes, paper-tally vote
entry, resolutions, and its printouts. Keyboard-first: type, Enter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.meetings import meetings as mt
from db.meetings.invitees import SignInIndex
from db.meetings.rules import parse_rule, quorum_met
from i18n import N_, _
from views.households.common import fit_columns, message_label, shortcut, show_message
from views.households.undo_action import notify
from views.meetings.models import ALERT, DONE, MUTED, RowsModel
from views.widgets import heading

SIGNIN_COLUMNS = [("sort_no", N_("No.")), ("name", N_("Name")), ("unit", N_("Building / unit")),
                  ("role", N_("Position")), ("status", N_("Attendance"))]
AGENDA_COLUMNS = [("position", N_("No.")), ("title", N_("Agenda item")), ("notes", N_("Main points"))]
MOTION_COLUMNS = [("title", N_("Motion")), ("votes_for", N_("For")), ("votes_against", N_("Against")),
                  ("votes_abstain", N_("Abstain")), ("reason", N_("Result"))]
RESOLUTION_COLUMNS = [("text", N_("Resolution")), ("owner", N_("Responsible person")), ("deadline", N_("Deadline")),
                      ("progress", N_("Progress"))]
PRINT_FORMS = (("minutes", N_("Minutes")), ("meeting-signin", N_("Sign-in sheet")), ("ballot", N_("Ballots")),
               ("notice-of-meeting", N_("Notice")), ("resolution-posting", N_("Posting of resolutions")))


def _table(model, parent, name: str, samples: tuple[str, ...] = ()) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    if samples:
        fit_columns(view, samples)
    return view


def _tally_text(r: dict, key: str) -> str:
    if r.get("options"):
        # A motion with options: each option's count, in the order of the options.
        counts = [str(getattr(o["tally"], key)) if o["tally"] is not None else "–" for o in r["options"]]
        return "/".join(counts)
    tally = r.get("tally")
    if tally is None:
        return ""
    return str(getattr(tally, key))


class MeetingSession(QWidget):
    sig_closed = Signal()
    """The user went back to the list."""

    def __init__(self, ctx, meeting_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.meeting_id = meeting_id
        self.overview: dict[str, Any] = {}
        self.index = SignInIndex([])
        self.last_signin_ms = 0.0
        self.last_pdf: Path | None = None

        self.title = heading("", self, factor=1.25)
        self.facts = QLabel(self)
        self.facts.setWordWrap(True)
        back = QPushButton(_("Back to the list"), self)
        back.setToolTip("Esc")
        back.clicked.connect(self.sig_closed.emit)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(back)
        self.quorum = QProgressBar(self)
        self.quorum.setObjectName("quorumBar")
        self.quorum.setTextVisible(True)
        self.quorum.setMinimumHeight(self.fontMetrics().height() + 10)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._signin_page(), _("Sign-in"))
        self.tabs.addTab(self._minutes_page(), _("Agenda and minutes"))
        self.tabs.addTab(self._votes_page(), _("Votes"))
        self.tabs.addTab(self._resolutions_page(), _("Resolutions"))

        prints = QHBoxLayout()
        prints.addWidget(QLabel(_("Print:"), self))
        self.print_buttons: dict[str, QPushButton] = {}
        for form, label in PRINT_FORMS:
            b = QPushButton(_(label), self)
            b.setObjectName(f"print-{form}")
            b.clicked.connect(lambda _c=False, f=form: self.print_form(f))
            self.print_buttons[form] = b
            prints.addWidget(b)
        prints.addStretch(1)
        photos = QPushButton(_("Photos of signed sheets…"), self)
        photos.setObjectName("meetingPhotos")
        photos.setToolTip("Ctrl+Shift+P")
        photos.clicked.connect(lambda: self.show_photos())
        shortcut(self, "Ctrl+Shift+P", self.show_photos)
        prints.addWidget(photos)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addLayout(top)
        layout.addWidget(self.facts)
        layout.addWidget(self.quorum)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(prints)
        shortcut(self, "Esc", self.sig_closed.emit)
        shortcut(self, "Ctrl+F", self.search.setFocus)
        self.reload()

    # -- pages ------------------------------------------------------------------------------------
    def _signin_page(self) -> QWidget:
        page = QWidget(self)
        self.search = QLineEdit(page)
        self.search.setObjectName("signinSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(_("Name, pinyin initials (zs) or door number (101); Enter signs in the first"))
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self.sign_in_current)
        self.signin_model = RowsModel(SIGNIN_COLUMNS, self, formatters={
            "status": lambda r: self._status_text(r)},
            colour=lambda r, k: (DONE if r["status"] in ("present", "proxy") else ALERT if r["status"] == "absent"
                                 else MUTED if r["status"] == "attending" else None) if k == "status" else None)
        self.signin_view = _table(self.signin_model, page, "signinTable",
                                  ("100", "欧阳娜娜", "幸福里小区10栋2单元1001室", "户代表", "列席"))
        self.signin_view.doubleClicked.connect(lambda _i: self.sign_in_current())
        self.signin_count = QLabel(page)
        buttons = QHBoxLayout()
        for text, key, slot in ((_("Sign in"), "Enter", self.sign_in_current),
                                (_("Absent…"), "Ctrl+D", self.mark_absent),
                                (_("Attending without vote"), "Ctrl+L", self.mark_attending),
                                (_("By proxy…"), "Ctrl+P", self.mark_proxy),
                                (_("Undo sign-in"), "Ctrl+U", self.mark_invited),
                                (_("Invite…"), "Ctrl+I", self.invite_people)):
            b = QPushButton(text, page)
            b.setToolTip(key)
            b.clicked.connect(slot)
            buttons.addWidget(b)
            if key != "Enter":
                shortcut(page, key, slot)
        buttons.addStretch(1)
        self.signin_message = message_label(page)
        layout = QVBoxLayout(page)
        layout.addWidget(self.search)
        layout.addWidget(self.signin_view, 1)
        layout.addWidget(self.signin_message)
        layout.addLayout(buttons)
        layout.addWidget(self.signin_count)
        return page

    def _minutes_page(self) -> QWidget:
        page = QWidget(self)
        self.agenda_model = RowsModel(AGENDA_COLUMNS, self)
        self.agenda_view = _table(self.agenda_model, page, "agendaTable", ("10", "关于加装电梯的议题讨论"))
        self.agenda_view.selectionModel().currentRowChanged.connect(lambda *_a: self._agenda_selected())
        self.notes = QPlainTextEdit(page)
        self.notes.setObjectName("agendaNotes")
        self.notes.setPlaceholderText(_("Main points of the discussion of the selected item"))
        self.summary = QPlainTextEdit(page)
        self.summary.setObjectName("summary")
        self.summary.setPlaceholderText(_("Summary of the meeting for the minutes"))
        add = QPushButton(_("Add agenda item…"), page)
        add.clicked.connect(self.add_agenda_item)
        save = QPushButton(_("Save minutes"), page)
        save.setObjectName("saveMinutes")
        save.setToolTip("Ctrl+S")
        save.clicked.connect(self.save_minutes)
        shortcut(page, "Ctrl+S", self.save_minutes)
        self.minutes_message = message_label(page)
        split = QSplitter(Qt.Orientation.Vertical, page)
        split.setObjectName("minutesSplit")
        split.setChildrenCollapsible(False)
        self.notes_label = QLabel(_("Main points of the selected agenda item:"), page)
        self.summary_label = QLabel(_("Summary of the meeting (for the minutes):"), page)
        self.notes_label.setBuddy(self.notes)
        self.summary_label.setBuddy(self.summary)
        split.addWidget(self.agenda_view)
        for label, box in ((self.notes_label, self.notes), (self.summary_label, self.summary)):
            holder = QWidget(page)
            hl = QVBoxLayout(holder)
            hl.setContentsMargins(0, 4, 0, 0)
            hl.addWidget(label)
            hl.addWidget(box, 1)
            box.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 12)
            split.addWidget(holder)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        row.addWidget(save)
        layout = QVBoxLayout(page)
        layout.addWidget(split, 1)
        layout.addWidget(self.minutes_message)
        layout.addLayout(row)
        return page

    def _votes_page(self) -> QWidget:
        page = QWidget(self)
        self.motion_model = RowsModel(MOTION_COLUMNS, self, formatters={
            "votes_for": lambda r: _tally_text(r, "votes_for"),
            "votes_against": lambda r: _tally_text(r, "votes_against"),
            "votes_abstain": lambda r: _tally_text(r, "votes_abstain"),
            "reason": lambda r: r["reason"] if r["decided"] else f"{r['outcome']}：{r['reason']}"},
            colour=lambda r, k: (DONE if r["passed"] else ALERT) if k == "reason" and r["decided"] else None)
        self.motion_view = _table(self.motion_model, page, "motionTable",
                                  ("单元门禁损坏处理方案", "12/30/8", "12/30/8", "12/30/8"))
        self.motion_view.selectionModel().currentRowChanged.connect(lambda *_a: self._motion_selected())
        self.tally: dict[str, QLineEdit] = {}
        form = self.tally_form = QFormLayout()
        for key, label in (("votes_for", _("For")), ("votes_against", _("Against")), ("votes_abstain", _("Abstain")),
                           ("area_for", _("Floor area for (m²)")), ("area_against", _("Floor area against (m²)")),
                           ("area_abstain", _("Floor area abstaining (m²)"))):
            edit = QLineEdit(page)
            edit.setObjectName(key)
            edit.returnPressed.connect(self.focusNextChild)
            self.tally[key] = edit
            form.addRow(label, edit)
        self.tally["votes_abstain"].returnPressed.disconnect()
        self.tally["votes_abstain"].returnPressed.connect(self._abstain_enter)
        self.tally["area_abstain"].returnPressed.disconnect()
        self.tally["area_abstain"].returnPressed.connect(self.save_tally)
        self.tally_message = message_label(page)
        # A motion with options: a row per option (for, against, abstain), rebuilt for each motion.
        self.options_box = QWidget(page)
        self.options_box.setObjectName("optionTally")
        self.options_grid = QGridLayout(self.options_box)
        self.options_grid.setContentsMargins(0, 0, 0, 0)
        self.option_edits: list[dict[str, QLineEdit]] = []
        self.options_box.setVisible(False)
        add = QPushButton(_("Add motion…"), page)
        add.clicked.connect(self.add_motion)
        save = QPushButton(_("Save tally"), page)
        save.setObjectName("saveTally")
        save.clicked.connect(self.save_tally)
        per_person = QPushButton(_("Votes per person…"), page)
        per_person.setObjectName("personVotesButton")
        per_person.setToolTip("Ctrl+K")
        per_person.clicked.connect(lambda: self.person_votes())
        shortcut(page, "Ctrl+K", self.person_votes)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(per_person)
        row.addStretch(1)
        row.addWidget(save)
        # The motions keep several rows at 150 % text: the tally form scrolls in its own pane below
        # a splitter instead of squeezing the table to one row.
        entry = QWidget(page)
        el = QVBoxLayout(entry)
        el.setContentsMargins(0, 4, 0, 0)
        hint = QLabel(_("Type the tally from the paper (for, against, abstain); Enter moves on."), entry)
        hint.setWordWrap(True)
        el.addWidget(hint)
        self.form_box = QWidget(entry)
        self.form_box.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        el.addWidget(self.form_box)
        el.addWidget(self.options_box)
        el.addWidget(self.tally_message)
        el.addStretch(1)
        scroll = QScrollArea(page)
        scroll.setObjectName("tallyScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(entry)
        lines = self.fontMetrics().lineSpacing()
        self.motion_view.setMinimumHeight(lines * 5 + self.motion_view.horizontalHeader().sizeHint().height())
        split = QSplitter(Qt.Orientation.Vertical, page)
        split.setObjectName("votesSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(self.motion_view)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(page)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        return page

    def _resolutions_page(self) -> QWidget:
        page = QWidget(self)
        self.resolution_model = RowsModel(RESOLUTION_COLUMNS, self, formatters={
            "owner": lambda r: r["owner"] or r["org"] or "", "progress": lambda r: f"{r['progress']}%"},
            colour=lambda r, k: ALERT if r["overdue"] and k == "deadline" else None)
        view = _table(self.resolution_model, page, "resolutionTable",
                      ("单元门禁损坏：按方案落实到位", "物业服务中心", "2026-12-31", "100%"))
        add = QPushButton(_("Add resolution…"), page)
        add.clicked.connect(self.add_resolution)
        layout = QVBoxLayout(page)
        layout.addWidget(view, 1)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    # -- loading ------------------------------------------------------------------------------------
    def reload(self) -> None:
        store, mid = self.ctx.store, self.meeting_id
        self.ctx.tasks.run(lambda _s: mt.meeting_overview(store, mid), title=_("Reading the meeting"),
                           on_done=self._loaded, parent=self, io=True)

    def _loaded(self, overview: dict[str, Any]) -> None:
        self.overview = overview
        m = overview["meeting"]
        self.title.setText(m["title"])
        when = (m["starts_at"] or "").replace("T", " ")
        self.facts.setText(_("{kind} · {when} · {place} · chair {chair} · recorder {recorder} · quorum: {rule}").format(
            kind=m["kind"], when=when, place=m["place"] or "", chair=m["chair"] or "", recorder=m["recorder"] or "",
            rule=overview["quorum_text"]))
        self.index = SignInIndex(overview["invitees"])
        self._filter(self.search.text())
        self.agenda_model.set_rows(overview["agenda"])
        self.summary.setPlainText(m["summary"] or "")
        current = self.motion_view.currentIndex().row() if self.motion_view.currentIndex().isValid() else 0
        self.motion_model.set_rows(overview["motions"])
        if overview["motions"]:
            self.motion_view.selectRow(min(current, len(overview["motions"]) - 1))
            self._motion_selected()
        self.resolution_model.set_rows(overview["resolutions"])
        self._show_area_rows(bool(overview["kind"]["double_majority"]))
        self.update_quorum()

    def _show_area_rows(self, visible: bool) -> None:
        for key in ("area_for", "area_against", "area_abstain"):
            label = self.tally_form.labelForField(self.tally[key])
            if label is not None:
                label.setVisible(visible)
            self.tally[key].setVisible(visible)

    def _status_text(self, r: dict) -> str:
        text = _(mt.ATTENDANCE.get(r["status"], r["status"] or ""))
        if r["status"] == "absent" and r.get("absence_reason"):
            text += f"（{r['absence_reason']}）"
        if r["status"] == "proxy" and r.get("proxy_holder"):
            holder = next((x["name"] for x in self.index.rows if x["id"] == r["proxy_holder"]), "")
            text += _("(proxy: {holder})").format(holder=holder)
        return text

    def update_quorum(self) -> None:
        if not self.overview:
            return
        att = mt.attendance_of(self.index.rows, self.overview["meeting"])
        rule = self.overview["rule"]
        met, _why = quorum_met(rule, att)
        need_rule = parse_rule(rule.quorum)
        need = need_rule.needed(att.entitled) if need_rule else 0
        self.quorum.setRange(0, max(1, att.entitled))
        self.quorum.setValue(min(att.participating, max(1, att.entitled)))
        if need_rule is None:
            text = _("{n} of {e} present (no quorum needed)").format(n=att.participating, e=att.entitled)
        elif met:
            text = _("{n} of {e} present: quorum reached ({need} needed)").format(
                n=att.participating, e=att.entitled, need=need)
        else:
            text = _("{n} of {e} present: {more} more needed for the quorum ({need})").format(
                n=att.participating, e=att.entitled, more=max(0, need - att.participating), need=need)
        self.quorum.setFormat(text)
        self.quorum.setProperty("met", met)
        self.quorum.setStyleSheet("QProgressBar::chunk { background: %s; }" % ("#9bd3a4" if met else "#f2c46d"))
        self.signin_count.setText(_("Present {p}, by proxy {x}, attending without vote {a}, absent {b}, not yet "
                                    "signed in {n}").format(
            p=att.present, x=att.proxies, a=att.attending, b=att.absent,
            n=sum(r["status"] == "invited" for r in self.index.rows)))

    # -- sign-in ------------------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        rows = self.index.rows
        positions = self.index.match(text, limit=len(rows)) if text.strip() else list(range(len(rows)))
        self.signin_model.set_rows([rows[i] for i in positions])
        if positions:
            self.signin_view.selectRow(0)

    def _current_invitee(self) -> dict | None:
        index = self.signin_view.currentIndex()
        row = index.row() if index.isValid() else 0
        if 0 <= row < len(self.signin_model.rows):
            return self.signin_model.rows[row]
        return None

    def _set_status(self, status: str, **kw) -> None:
        r = self._current_invitee()
        if r is None:
            return
        started = time.perf_counter()
        store, iid = self.ctx.store, r["id"]
        show_message(self.signin_message, None)

        def done(changes) -> None:
            for row in self.index.rows:
                if row["id"] == iid:
                    row["status"] = status
                    row["absence_reason"] = kw.get("absence_reason") if status == "absent" else row["absence_reason"]
                    row["proxy_holder"] = kw.get("proxy_holder") if status == "proxy" else None
            self.update_quorum()
            if status == "present" and self.search.text():
                self.search.clear()  # ready for the next person
            else:
                self.signin_model.dataChanged.emit(self.signin_model.index(0, 0),
                                                   self.signin_model.index(len(self.signin_model.rows) - 1, 4))
            self.last_signin_ms = (time.perf_counter() - started) * 1000
            notify(self, _("{name}: {status}").format(name=r["name"], status=_(mt.ATTENDANCE[status])))
            self.ctx.data_changed(changes)

        def failed(error: BaseException) -> None:
            show_message(self.signin_message, getattr(error, "message", str(error)))

        self.ctx.tasks.run(lambda _s: mt.set_attendance(store, invitee_id=iid, status=status, **kw),
                           title=_("Sign-in"), on_done=done, on_error=failed, parent=self, show_progress=False)

    def sign_in_current(self) -> None:
        self._set_status("present")

    def mark_attending(self) -> None:
        self._set_status("attending")

    def mark_invited(self) -> None:
        self._set_status("invited")

    def mark_absent(self, reason: str | None = None) -> None:
        if reason is None:
            reason, ok = QInputDialog.getText(self, _("Absent"), _("Reason for the absence (may be empty):"))
            if not ok:
                return
        self._set_status("absent", absence_reason=reason)

    def mark_proxy(self, holder_id: str | None = None) -> None:
        r = self._current_invitee()
        if r is None:
            return
        if holder_id is None:
            present = [x for x in self.index.rows if x["status"] == "present" and x["id"] != r["id"]]
            if not present:
                show_message(self.signin_message, _("Sign in the proxy holder first."))
                return
            names = [f"{x['sort_no']}. {x['name']}" for x in present]
            chosen, ok = QInputDialog.getItem(self, _("By proxy"), _("Who holds the proxy of {name}?").format(
                name=r["name"]), names, 0, False)
            if not ok:
                return
            holder_id = present[names.index(chosen)]["id"]
        self._set_status("proxy", proxy_holder=holder_id)

    def invite_people(self, *, run: bool = True):
        """Invite more people: a body from the register, partner contacts, volunteers, or a typed name."""
        from views.meetings.editor import invite_dialog

        dialog = invite_dialog(self.ctx, self.meeting_id, self)
        if run and dialog.exec():
            n = sum(c.table == "invitee" for c in dialog.changes)
            notify(self, _("{n} people added to the list.").format(n=n))
            self.reload()
        return dialog

    def invite_name(self, name: str | None = None) -> None:
        if name is None:
            name, ok = QInputDialog.getText(self, _("Invite"), _("Name of the person to add to the list:"))
            if not ok:
                return
        store, mid = self.ctx.store, self.meeting_id

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            self.reload()

        self.ctx.tasks.run(lambda _s: mt.invite(store, meeting_id=mid, people=[{"name": name}]), title=_("Invite"),
                           on_done=done, on_error=lambda e: show_message(self.signin_message,
                                                                         getattr(e, "message", str(e))), parent=self)

    # -- agenda and minutes ---------------------------------------------------------------------------
    def _agenda_selected(self) -> None:
        index = self.agenda_view.currentIndex()
        if index.isValid():
            self.notes.setPlainText(self.agenda_model.rows[index.row()]["notes"] or "")

    def add_agenda_item(self, title: str | None = None) -> None:
        if title is None:
            title, ok = QInputDialog.getText(self, _("Agenda"), _("Agenda item:"))
            if not ok:
                return
        store, mid = self.ctx.store, self.meeting_id
        self._write(lambda: mt.add_agenda_item(store, meeting_id=mid, title=title), self.minutes_message)

    def save_minutes(self) -> None:
        store, mid = self.ctx.store, self.meeting_id
        index = self.agenda_view.currentIndex()
        item = self.agenda_model.rows[index.row()]["id"] if index.isValid() else None
        notes, summary = self.notes.toPlainText(), self.summary.toPlainText()

        def work():
            changes = mt.update_meeting(store, meeting_id=mid, values={"summary": summary or None})
            if item:
                changes += mt.update_agenda_item(store, item_id=item, notes=notes or None)
            return changes

        self._write(work, self.minutes_message, note=_("Minutes saved."))

    # -- votes ----------------------------------------------------------------------------------------
    def _motion_selected(self) -> None:
        index = self.motion_view.currentIndex()
        if not index.isValid():
            return
        r = self.motion_model.rows[index.row()]
        options = r.get("options") or []
        self.form_box.setVisible(not options)
        self.options_box.setVisible(bool(options))
        if options:
            self._show_options(r)
            return
        for key, edit in self.tally.items():
            value = r.get(key)
            edit.setText("" if value is None else (str(value) if not isinstance(value, float) else f"{value:g}"))

    def _show_options(self, motion: dict) -> None:
        """One row per option: its label, for / against / abstain (and floor areas for owners), its result."""
        grid = self.options_grid
        while grid.count():
            item = grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.option_edits = []
        area = bool(self.overview.get("kind", {}).get("double_majority"))
        keys = [("votes_for", _("For")), ("votes_against", _("Against")), ("votes_abstain", _("Abstain"))]
        if area:
            keys += [("area_for", _("Floor area for (m²)")), ("area_against", _("Floor area against (m²)")),
                     ("area_abstain", _("Floor area abstaining (m²)"))]
        rule = _("one option is adopted") if motion["pick_one"] else _("each option is decided on its own")
        grid.addWidget(QLabel(_("Option ({rule})").format(rule=rule), self.options_box), 0, 0)
        for col, (_key, label) in enumerate(keys, 1):
            grid.addWidget(QLabel(label, self.options_box), 0, col)
        grid.addWidget(QLabel(_("Result"), self.options_box), 0, len(keys) + 1)
        width = self.fontMetrics().horizontalAdvance("00000") + 16
        for row, option in enumerate(motion["options"], 1):
            label = QLabel(f"{option['position']}. {option['label']}", self.options_box)
            label.setWordWrap(True)
            grid.addWidget(label, row, 0)
            edits: dict[str, QLineEdit] = {}
            for col, (key, _label) in enumerate(keys, 1):
                edit = QLineEdit(self.options_box)
                edit.setObjectName(f"option{row - 1}:{key}")
                edit.setMaximumWidth(width * (2 if key.startswith("area") else 1))
                value = option.get(key)
                edit.setText("" if value is None else (f"{value:g}" if isinstance(value, float) else str(value)))
                edit.returnPressed.connect(self.focusNextChild)
                grid.addWidget(edit, row, col)
                edits[key] = edit
            result = _("Adopted") if option["adopted"] else (option["outcome"] if option["decided"] else "")
            shown = QLabel(result, self.options_box)
            shown.setToolTip(option["reason"])
            shown.setMinimumWidth(self.fontMetrics().horizontalAdvance(_("Not decided")) + 8)
            grid.addWidget(shown, row, len(keys) + 1)
            self.option_edits.append(edits)
        grid.setColumnStretch(0, 1)
        if self.option_edits:
            last = self.option_edits[-1][keys[-1][0]]
            last.returnPressed.disconnect()
            last.returnPressed.connect(self.save_tally)

    def _abstain_enter(self) -> None:
        if self.tally["area_for"].isVisible():
            self.tally["area_for"].setFocus()
        else:
            self.save_tally()

    def add_motion(self, title: str | None = None, options: list[str] | None = None) -> None:
        """A motion, with options (one a line) when several plans or items are voted on."""
        store, mid = self.ctx.store, self.meeting_id
        if title is not None:
            self._write(lambda: mt.add_motion(store, meeting_id=mid, title=title, options=options),
                        self.tally_message)
            return
        from views.meetings.forms import Field, FormDialog

        def save(v):
            lines = (v.get("options") or "").splitlines()
            return mt.add_motion(store, meeting_id=mid, title=v["title"] or "", options=lines,
                                 pick_one=bool(v["pick_one"]), major=bool(v["major"]))

        dialog = FormDialog(self.ctx, _("Add motion"), [
            Field("title", _("What is put to the vote")),
            Field("options", _("Options (one a line, or none)"), "multiline",
                  placeholder="方案一 东侧加装\n方案二 西侧加装"),
            Field("pick_one", _("Only one option can be adopted"), "check", value=True),
            Field("major", _("Major matter (needs the kind's major rule)"), "check")], save, self)
        if dialog.exec():
            self.reload()

    def save_tally(self) -> None:
        index = self.motion_view.currentIndex()
        if not index.isValid():
            if not self.motion_model.rows:
                show_message(self.tally_message, _("Add the motion first."))
                return
            self.motion_view.selectRow(0)
            index = self.motion_view.currentIndex()
        row = self.motion_model.rows[index.row()]
        motion = row["id"]
        store = self.ctx.store
        if row.get("options"):
            typed = [{"option_id": o["id"], **{k: e.text().strip() for k, e in edits.items()}}
                     for o, edits in zip(row["options"], self.option_edits, strict=True)]
            fields = {f"option{i}:{k}": e for i, edits in enumerate(self.option_edits) for k, e in edits.items()}
            self._write(lambda: mt.record_option_tally(store, motion_id=motion, options=typed), self.tally_message,
                        note=_("Tally saved."), fields=fields)
            return
        values = {k: e.text().strip() for k, e in self.tally.items()}
        self._write(lambda: mt.record_tally(store, motion_id=motion, **values), self.tally_message,
                    note=_("Tally saved."), fields=self.tally)

    def person_votes(self, *, run: bool = True):
        """Open the per-person votes of the selected motion; returns the dialog."""
        from views.meetings.votes import PersonVotesDialog

        index = self.motion_view.currentIndex()
        if not index.isValid():
            if not self.motion_model.rows:
                show_message(self.tally_message, _("Add the motion first."))
                return None
            self.motion_view.selectRow(0)
            index = self.motion_view.currentIndex()
        dialog = PersonVotesDialog(self.ctx, self.motion_model.rows[index.row()], self.index.rows, self)
        if run:
            dialog.exec()
            self.reload()
        return dialog

    # -- resolutions ----------------------------------------------------------------------------------
    def add_resolution(self) -> None:
        from views.meetings.forms import Field, FormDialog

        store, mid = self.ctx.store, self.meeting_id
        motions = [("", None)] + [(x["title"], x["id"]) for x in self.overview.get("motions", [])]
        dialog = FormDialog(self.ctx, _("Add resolution"), [
            Field("text", _("Resolution"), "multiline"), Field("owner", _("Responsible person")),
            Field("deadline", _("Deadline"), placeholder="2026-12-31"),
            Field("motion_id", _("Motion"), "choice", motions)],
            lambda v: mt.add_resolution(store, meeting_id=mid, **v), self)
        if dialog.exec():
            self.reload()

    def show_photos(self, *, run: bool = True):
        """The meeting's photos (signed sign-in sheets, ballots): view them and attach more."""
        from db.meetings import attachments as att_service
        from views.meetings.photos import PhotoViewer

        store, mid = self.ctx.store, self.meeting_id
        dialog = PhotoViewer(self.ctx, _("Photos: {title}").format(title=self.overview.get("meeting", {}).get(
            "title", "")), lambda: att_service.attachments(store, "meeting", mid), self, owner=("meeting", mid))
        if run:
            dialog.exec()
        return dialog

    # -- writing and printing -------------------------------------------------------------------------
    def _write(self, fn, message: QLabel, *, note: str | None = None, fields: dict | None = None) -> None:
        show_message(message, None)

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            if note:
                notify(self, note)
                show_message(message, note, warning=True)
            self.reload()

        def failed(error: BaseException) -> None:
            text = getattr(error, "message", str(error))
            if isinstance(error, ValidationErrors) and fields:
                for err in error.errors:
                    if err.field in fields:
                        fields[err.field].setFocus()
                        fields[err.field].selectAll()
                        break
            show_message(message, text)

        self.ctx.tasks.run(lambda _s: fn(), title=_("Saving"), on_done=done, on_error=failed, parent=self)

    def print_form(self, form: str, path: str | None = None) -> None:
        """Render a form of this meeting off the GUI thread and save it as a PDF."""
        from db.print_jobs import PrintJob, make_pdf

        if path is None:
            default = str(Path.home() / f"{self.overview.get('meeting', {}).get('title', 'meeting')}-{form}.pdf")
            path, _filter = QFileDialog.getSaveFileName(self, _("Save as PDF"), default, "PDF (*.pdf)")
            if not path:
                return
        store, job = self.ctx.store, PrintJob(form, {"meeting": self.meeting_id})

        def done(result) -> None:
            Path(path).write_bytes(result.pdf)
            self.last_pdf = Path(path)
            notify(self, _("Wrote {path}: {title}, {pages} page(s).").format(path=path, title=result.title,
                                                                             pages=result.pages))

        self.ctx.tasks.run(lambda _s: make_pdf(store, job), title=_("Printing"), on_done=done, parent=self, io=True)
