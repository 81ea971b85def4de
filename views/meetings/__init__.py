"""会议 screen: the meetings list and month calendar, one meeting at work (sign-in, minutes,
votes, resolutions), residents' matters, and the resolutions board."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from PySide6.QtCore import QDate, QTimer
from PySide6.QtGui import QTextCharFormat
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import db.meetings  # noqa: F401 - table and field names for the conflicts queue
from db.meetings import kinds as kinds_service
from db.meetings import meetings as mt
from i18n import N_, _
from views.households.common import shortcut
from views.households.undo_action import install_undo, notify
from views.meetings.directory import DirectoryPage
from views.meetings.matters import MattersPage
from views.meetings.models import ALERT, DONE, MUTED, LazyRowsModel, RowsModel
from views.meetings.session import MeetingSession, _table
from views.meetings.statistics import MatterStatistics
from views.meetings.week import WeekView
from views.widgets import heading

MEETING_TABLES = {"meeting", "invitee", "agenda_item", "motion", "vote", "resolution", "meeting_kind"}
MATTER_TABLES = {"matter", "progress_entry", "evaluation", "agenda_item"}
COLUMNS = [("starts_at", N_("Time")), ("title", N_("Meeting")), ("kind", N_("Kind")), ("place", N_("Place")),
           ("status", N_("Status")), ("attendance", N_("Present / invited")), ("chair", N_("Chair"))]
DAY_COLUMNS = [("time", N_("Time")), ("title", N_("Meeting")), ("status", N_("Status"))]
BOARD_COLUMNS = [("deadline", N_("Deadline")), ("text", N_("Resolution")), ("owner", N_("Responsible person")),
                 ("progress", N_("Progress")), ("meeting", N_("Meeting"))]


def _status_colour(r: dict, key: str):
    if key != "status":
        return None
    return DONE if r["status"] == "held" else MUTED if r["status"] == "cancelled" else None


class MeetingsScreen(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session: MeetingSession | None = None
        self.open_ms = 0.0
        self._loaded = False
        self.stack = QStackedWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        home = QWidget(self)
        hl = QVBoxLayout(home)
        hl.setContentsMargins(24, 18, 24, 18)
        hl.addWidget(heading(_("Meetings"), home))
        self.tabs = QTabWidget(home)
        hl.addWidget(self.tabs, 1)
        self.tabs.addTab(self._list_page(), _("Meetings"))
        self.tabs.addTab(self._calendar_page(), _("Calendar"))
        self.matters = MattersPage(ctx, self)
        self.tabs.addTab(self.matters, _("Residents' matters"))
        self.tabs.addTab(self._board_page(), _("Resolutions board"))
        self.matter_stats = MatterStatistics(ctx, self)
        self.tabs.addTab(self.matter_stats, _("Statistics of matters"))
        self.directory = DirectoryPage(ctx, self)
        self.tabs.addTab(self.directory, _("Kinds and partners"))
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())
        self.stack.addWidget(home)
        self.home = home
        ctx.events.sig_data_changed.connect(self._on_changes)
        install_undo(self, ctx)

    # -- pages ---------------------------------------------------------------------------------------
    def _list_page(self) -> QWidget:
        page = QWidget(self)
        self.search = QLineEdit(page)
        self.search.setObjectName("meetingSearch")
        self.search.setPlaceholderText(_("Search meetings: title or place  (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self.timer.start())
        self.search.returnPressed.connect(lambda: self.view.setFocus())
        self.kind = QComboBox(page)
        self.kind.setObjectName("kindFilter")
        # The kinds arrive after the first show: the width follows them (全部类型 in full at 150 %).
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.status = QComboBox(page)
        self.status.addItem(_("Any status"), None)
        for key, label in mt.STATUSES.items():
            self.status.addItem(_(label), key)
        for box in (self.kind, self.status):
            box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.model = LazyRowsModel(COLUMNS, lambda ids: mt.meeting_rows(self.ctx.store, ids), self,
                                   tasks=self.ctx.tasks, formatters={
                                       "starts_at": lambda r: (r["starts_at"] or "").replace("T", " "),
                                       "status": lambda r: _(mt.STATUSES.get(r["status"], r["status"] or "")),
                                       "attendance": lambda r: f"{r['present']} / {r['invited']}"},
                                   colour=_status_colour)
        self.view = _table(self.model, page, "meetingTable", (
            "2026-12-14 19:30", "建设新村5栋业主大会/三方联动会议", "业主大会/三方联动会议", "社区党群服务中心", "计划中",
            "出席 / 应到", "李网格员"))
        self.view.doubleClicked.connect(lambda _i: self.open_current())
        shortcut(self.view, "Return", self.open_current)
        self.count = QLabel(page)
        bar = QHBoxLayout()
        for w in (self.search, self.kind, self.status):
            bar.addWidget(w)
        buttons = QHBoxLayout()
        for text, keys, slot in ((_("Schedule a meeting…"), "Ctrl+N", self.new_meeting),
                                 (_("Open"), _("Enter"), self.open_current),
                                 (_("Edit…"), "Ctrl+E", self.edit_current)):
            b = QPushButton(text, page)
            b.setToolTip(keys)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        shortcut(page, "Ctrl+N", self.new_meeting)
        shortcut(page, "Ctrl+E", self.edit_current)
        shortcut(page, "Ctrl+F", self.search.setFocus)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count)
        layout.addLayout(buttons)
        return page

    def _calendar_page(self) -> QWidget:
        page = QWidget(self)
        self.calendar = QCalendarWidget(page)
        self.calendar.setObjectName("meetingCalendar")
        self.calendar.setGridVisible(True)
        self.calendar.currentPageChanged.connect(lambda _y, _m: self.load_month())
        self.calendar.selectionChanged.connect(self._day_selected)
        self.calendar.activated.connect(lambda _d: self._open_day_first())
        self.day_model = RowsModel(DAY_COLUMNS, self, formatters={
            "time": lambda r: (r["starts_at"] or "")[11:16],
            "status": lambda r: _(mt.STATUSES.get(r["status"], ""))})
        self.day_view = _table(self.day_model, page, "dayTable", ("19:30", "建设新村5栋居民议事会", "已召开"))
        self.day_view.doubleClicked.connect(lambda i: self.open_meeting(self.day_model.rows[i.row()]["id"]))
        self.month_days: dict[str, list[dict]] = {}
        month = QWidget(page)
        ml = QHBoxLayout(month)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.calendar, 3)
        ml.addWidget(self.day_view, 2)
        self.week = WeekView(self.ctx, page)
        self.week.sig_open.connect(self.open_meeting)
        self.calendar_stack = QStackedWidget(page)
        self.calendar_stack.addWidget(month)
        self.calendar_stack.addWidget(self.week)
        switch = QHBoxLayout()
        self.calendar_buttons: dict[str, QPushButton] = {}
        for key, text in (("month", _("Month")), ("week", _("Week"))):
            b = QPushButton(text, page)
            b.setObjectName(f"calendar-{key}")
            b.setCheckable(True)
            b.setAutoExclusive(True)
            b.clicked.connect(lambda _c=False, k=key: self.show_calendar(k))
            self.calendar_buttons[key] = b
            switch.addWidget(b)
        self.calendar_buttons["month"].setChecked(True)
        switch.addStretch(1)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(switch)
        layout.addWidget(self.calendar_stack, 1)
        return page

    def show_calendar(self, which: str) -> None:
        """Month (calendar and the chosen day's meetings) or week (seven day columns); the week
        shown is the one of the day chosen in the month."""
        self.calendar_buttons[which].setChecked(True)
        if which == "week":
            self.calendar_stack.setCurrentWidget(self.week)
            self.week.show_week(self.calendar.selectedDate().toPython())
            self.week.view.setFocus()
        else:
            self.calendar_stack.setCurrentIndex(0)
            self.load_month()

    def _board_page(self) -> QWidget:
        page = QWidget(self)
        self.board_model = RowsModel(BOARD_COLUMNS, self, formatters={
            "owner": lambda r: r["owner"] or r["org"] or "", "progress": lambda r: f"{r['progress']}%"},
            colour=lambda r, k: ALERT if r["overdue"] and k in ("deadline", "progress") else
            (DONE if r["done_on"] and k == "progress" else None))
        self.board_view = _table(self.board_model, page, "boardTable", (
            "2026-12-31", "单元门禁损坏：按方案落实到位", "物业服务中心", "100%"))
        progress = QPushButton(_("Report progress…"), page)
        progress.setToolTip("Ctrl+P")
        progress.clicked.connect(self.report_progress)
        shortcut(page, "Ctrl+P", self.report_progress)
        self.board_count = QLabel(page)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.board_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.board_count, 1)
        row.addWidget(progress)
        layout.addLayout(row)
        return page

    # -- loading ---------------------------------------------------------------------------------------
    def activated(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.open_started = time.perf_counter()
            self.kind.addItem(_("All kinds"), None)
            store = self.ctx.store

            def kinds_ready(kinds) -> None:
                self.kind.blockSignals(True)
                for k in kinds:
                    self.kind.addItem(k["name"], k["id"])
                self.kind.blockSignals(False)

            # The standard kinds are written once (on the writer), then listed.
            self.ctx.tasks.run(lambda _s: (kinds_service.ensure_default_kinds(store),
                                           kinds_service.list_kinds(store))[1],
                               title=_("Meetings"), on_done=kinds_ready, parent=self, show_progress=False)
        self.refresh()

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._loaded:
            self.activated()

    def refresh(self) -> None:
        store = self.ctx.store
        text, kind, status = self.search.text().strip() or None, self.kind.currentData(), self.status.currentData()
        started = time.perf_counter()

        def work(_s):
            ids = mt.meeting_ids(store, kind_id=kind, status=status, text=text)
            return ids, mt.meeting_rows(store, ids[:LazyRowsModel.PAGE])

        def done(result) -> None:
            ids, first = result
            self.model.set_ids(ids, first)
            self.count.setText(_("{n} meetings").format(n=len(ids)))
            if ids and not self.view.currentIndex().isValid():
                self.view.selectRow(0)
            self.open_ms = (time.perf_counter() - started) * 1000

        self.ctx.tasks.run(work, title=_("Meetings"), on_done=done, parent=self, io=True)
        self._tab_changed()

    def _tab_changed(self) -> None:
        i = self.tabs.currentIndex()
        if i == 1:
            if self.calendar_stack.currentWidget() is self.week:
                self.week.show_week()
            else:
                self.load_month()
        elif i == 2:
            self.matters.refresh()
        elif i == 3:
            self.load_board()
        elif i == 4:
            self.matter_stats.refresh()
        elif i == 5:
            self.directory.refresh()

    def load_month(self) -> None:
        store = self.ctx.store
        month = f"{self.calendar.yearShown()}-{self.calendar.monthShown():02d}"

        def done(days) -> None:
            plain = QTextCharFormat()
            for day in self.month_days:
                self.calendar.setDateTextFormat(QDate.fromString(day, "yyyy-MM-dd"), plain)
            self.month_days = days
            marked = QTextCharFormat()
            marked.setFontWeight(700)
            marked.setBackground(self.palette().highlight().color().lighter(170))
            for day, rows in days.items():
                fmt = QTextCharFormat(marked)
                fmt.setToolTip("\n".join(f"{(r['starts_at'] or '')[11:16]} {r['title']}" for r in rows))
                self.calendar.setDateTextFormat(QDate.fromString(day, "yyyy-MM-dd"), fmt)
            self._day_selected()

        self.ctx.tasks.run(lambda _s: mt.month_days(store, month), title=_("Calendar"), on_done=done, parent=self,
                           io=True)

    def _day_selected(self) -> None:
        day = self.calendar.selectedDate().toString("yyyy-MM-dd")
        self.day_model.set_rows(self.month_days.get(day, []))

    def _open_day_first(self) -> None:
        if self.day_model.rows:
            self.open_meeting(self.day_model.rows[0]["id"])

    def load_board(self) -> None:
        store = self.ctx.store

        def done(rows) -> None:
            self.board_model.set_rows(rows)
            self.board_count.setText(_("{n} open resolutions, {late} overdue").format(
                n=sum(not r["done_on"] for r in rows), late=sum(r["overdue"] for r in rows)))

        self.ctx.tasks.run(lambda _s: mt.resolutions(store), title=_("Resolutions board"), on_done=done,
                           parent=self, io=True)

    def _on_changes(self, changes) -> None:
        if not self._loaded:
            return
        tables = {c.table for c in changes}
        if tables & MEETING_TABLES and self.stack.currentWidget() is self.home:
            self.model.invalidate()
        if tables & {"resolution", "progress_entry"} and self.tabs.currentIndex() == 3:
            self.load_board()
        if tables & MATTER_TABLES and self.tabs.currentIndex() == 4:
            self.matter_stats.refresh()

    # -- actions ---------------------------------------------------------------------------------------
    def _current_id(self) -> str | None:
        index = self.view.currentIndex()
        if index.isValid() and index.row() < len(self.model.ids):
            return self.model.ids[index.row()]
        return None

    def new_meeting(self) -> None:
        from views.meetings.editor import schedule_dialog

        dialog = schedule_dialog(self.ctx, self)
        if dialog.exec():
            created = next((c.row_id for c in dialog.changes if c.table == "meeting"), None)
            self.refresh()
            if created:
                self.open_meeting(created)

    def edit_current(self) -> None:
        from views.meetings.editor import schedule_dialog

        mid = self._current_id()
        if mid is None:
            return
        dialog = schedule_dialog(self.ctx, self, meeting=mt.get_meeting(self.ctx.store, mid))
        if dialog.exec():
            self.refresh()

    def open_current(self) -> None:
        mid = self._current_id()
        if mid:
            self.open_meeting(mid)

    def open_meeting(self, meeting_id: str) -> MeetingSession:
        if self.session is not None:
            self.stack.removeWidget(self.session)
            self.session.deleteLater()
        self.session = MeetingSession(self.ctx, meeting_id, self)
        self.session.sig_closed.connect(self.close_meeting)
        self.stack.addWidget(self.session)
        self.stack.setCurrentWidget(self.session)
        self.session.search.setFocus()
        return self.session

    def close_meeting(self) -> None:
        self.stack.setCurrentWidget(self.home)
        self.model.invalidate()
        self.view.setFocus()

    def report_progress(self, percent: int | None = None) -> None:
        index = self.board_view.currentIndex()
        if not index.isValid():
            return
        r: dict[str, Any] = self.board_model.rows[index.row()]
        text = ""
        if percent is None:
            percent, ok = QInputDialog.getInt(self, _("Report progress"), _("{text}: percent done").format(
                text=r["text"]), r["progress"], 0, 100, 10)
            if not ok:
                return
        store = self.ctx.store

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            notify(self, _("Progress saved."))
            self.load_board()

        self.ctx.tasks.run(lambda _s: mt.report_resolution_progress(store, resolution_id=r["id"], percent=percent,
                                                                    text=text or None, on=dt.date.today()),
                           title=_("Report progress"), on_done=done, parent=self)
