"""Household register screen: the register browser, the duplicates review and the statistics."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from i18n import _
from views.households.browser import RegisterBrowser
from views.households.duplicates import DuplicatesReview
from views.households.statistics import StatisticsView
from views.households.undo_action import install_undo
from views.widgets import heading


class HouseholdsScreen(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(heading(_("Household register"), self))
        self.tabs = QTabWidget(self)
        self.browser = RegisterBrowser(ctx, self)
        self.duplicates = DuplicatesReview(ctx, self)
        self.statistics = StatisticsView(ctx, self)
        self.tabs.addTab(self.browser, _("Register"))
        self.tabs.addTab(self.duplicates, _("Duplicates"))
        self.tabs.addTab(self.statistics, _("Statistics"))
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self._started = False
        self._stats_loaded = False
        install_undo(self, ctx)

    def activated(self) -> None:
        if not self._started:
            self._started = True
            self.browser.start()

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        self.activated()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.statistics and not self._stats_loaded:
            self._stats_loaded = True
            self.statistics.refresh()
