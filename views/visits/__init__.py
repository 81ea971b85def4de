"""Visits screen: the households due for a visit (driven by tag frequencies) and the visit log."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from db.register.places import place_tree
from db.register.visits import recent_visits, visits_due
from i18n import N_, _
from views.households.common import OVERDUE, DictListModel, fit_columns, shortcut
from views.households.undo_action import install_undo
from views.widgets import heading

DUE_COLUMNS = [("address", N_("Address")), ("head", N_("Head of household")), ("grid", N_("Grid")),
               ("reasons", N_("Tags")), ("interval_days", N_("Every (days)")), ("last_met", N_("Last visit")),
               ("due_date", N_("Due")), ("overdue_days", N_("Days overdue"))]
LOG_COLUMNS = [("visit_date", N_("Date")), ("address", N_("Address")), ("visitor", N_("Visitor")),
               ("met", N_("Met")), ("purpose", N_("Purpose")), ("situation", N_("Situation")),
               ("outcome", N_("Outcome")), ("follow_up_date", N_("Follow-up date"))]


def _table(model, parent) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setDefaultSectionSize(26)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class VisitsScreen(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(heading(_("Visits"), self))
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs, 1)

        due_page = QWidget(self)
        dl = QVBoxLayout(due_page)
        bar = QHBoxLayout()
        self.grid = QComboBox(self)
        self.grid.setObjectName("dueGrid")
        self.grid.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # 全部网格 in full at 150 %
        self.within = QSpinBox(self)
        self.within.setRange(0, 365)
        self.within.setValue(7)
        self.within.setSuffix(_(" days ahead"))
        refresh = QPushButton(_("Refresh"), self)
        refresh.clicked.connect(self.refresh)
        self.record = QPushButton(_("Record visit"), self)
        self.record.setToolTip(_("{action} ({key})").format(action=_("Record visit"), key="Ctrl+R"))
        self.record.clicked.connect(self.record_visit)
        for w in (QLabel(_("Grid"), self), self.grid, QLabel(_("Due within"), self), self.within, refresh):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.record)
        dl.addLayout(bar)
        self.due_model = DictListModel(DUE_COLUMNS, self, formatters={
            "due_date": _due_text, "overdue_days": _overdue_text, "last_met": _last_visit_text},
            colour=lambda r, k: OVERDUE if k in ("due_date", "overdue_days") and (
                r.get("overdue_days") is None or r["overdue_days"] > 0) else None)
        self.due_view = _table(self.due_model, self)
        self.due_view.setObjectName("dueTable")
        self.due_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # an address keeps its door
        self.due_view.doubleClicked.connect(lambda _i: self.record_visit())
        fit_columns(self.due_view, ("幸福里小区10栋2单元1001室", "欧阳娜娜", "第10网格", "独居老人、低保", "182",
                                    "2026-11-25", "2026-11-25", "365"))
        dl.addWidget(self.due_view, 1)
        self.due_count = QLabel(self)
        dl.addWidget(self.due_count)
        self.tabs.addTab(due_page, _("Visits due"))

        log_page = QWidget(self)
        ll = QVBoxLayout(log_page)
        self.log_model = DictListModel(LOG_COLUMNS, self, formatters={
            "met": lambda r: _("未遇 (nobody home)") if r.get("not_home") else (r.get("met") or "")})
        self.log_view = _table(self.log_model, self)
        self.log_view.setObjectName("logTable")
        fit_columns(self.log_view, ("2026-11-25", "幸福里小区10栋2单元1001室", "欧阳娜娜", "未遇（无人在家）", "日常走访",
                                    "一切正常，无特殊情况", "已解决", "2026-11-25"))
        ll.addWidget(self.log_view)
        self.tabs.addTab(log_page, _("Visit log"))
        shortcut(self, "Ctrl+R", self.record_visit)
        self.within.valueChanged.connect(lambda _v: self.refresh())
        self.grid.currentIndexChanged.connect(lambda _i: self.refresh())
        ctx.events.sig_data_changed.connect(self._on_changes)
        self._loaded = False
        install_undo(self, ctx)

    def activated(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.grid.blockSignals(True)
            self.grid.addItem(_("All grids"), None)
            for g in place_tree(self.ctx.store):
                self.grid.addItem(g["name"], g["id"])
            self.grid.blockSignals(False)
        self.refresh()

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._loaded:
            self.activated()

    def refresh(self) -> None:
        store, within, grid = self.ctx.store, self.within.value(), self.grid.currentData()

        def work(_state):
            return visits_due(store, within_days=within, grid_id=grid), recent_visits(store, limit=1000)

        def done(result):
            due, log = result
            self.due_model.set_rows(due)
            self.log_model.set_rows(log)
            self.due_count.setText(_("{n} households due").format(n=len(due)))

        self.ctx.tasks.run(work, title=_("Visits due"), on_done=done, parent=self, io=True)

    def _on_changes(self, changes) -> None:
        if self._loaded and {c.table for c in changes} & {"visit", "person_tag", "membership", "tag", "household"}:
            self.refresh()

    def record_visit(self) -> None:
        from views.visits.visit_dialog import VisitDialog

        index = self.due_view.currentIndex()
        if self.tabs.currentIndex() != 0 or not index.isValid():
            return
        row = self.due_model.rows[index.row()]
        VisitDialog(self.ctx, household_id=row["household_id"], address=row.get("address"), parent=self).exec()


# -- what the due list says (views/visits: texts only) -------------------------------------------
def _follow_up_pending(r: dict) -> bool:
    """The latest attempt found nobody home (未遇) after the last visit where someone was met."""
    attempt, met = r.get("last_attempt"), r.get("last_met")
    return bool(attempt) and (not met or attempt > met) and bool(r.get("follow_up"))


def _due_text(r: dict) -> str:
    if not r.get("due_date"):
        return _("Never visited")
    if _follow_up_pending(r) and r.get("follow_up") == r["due_date"]:
        return _("{date} (未遇 follow-up)").format(date=r["due_date"])
    return r["due_date"]


def _overdue_text(r: dict) -> str:
    """Days past the due date; a visit not yet due shows nothing (never a negative number)."""
    days = r.get("overdue_days")
    return str(days) if days is not None and days > 0 else ""


def _last_visit_text(r: dict) -> str:
    met, attempt = r.get("last_met") or "", r.get("last_attempt") or ""
    if attempt and attempt > met:
        return _("{date} 未遇").format(date=attempt) + (_(" (met {date})").format(date=met) if met else "")
    return met
