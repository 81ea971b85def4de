"""Volunteers screen (志愿者): roster, teams, sign-in, approval, rotas, time bank, needs, stars."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from i18n import _
from views.volunteers.planning import NeedsBoard, PassbookPage, RotaPlanner, StarsPage
from views.volunteers.roster import RosterBrowser, TeamsPage
from views.volunteers.service import ApprovalPage, SignInPage
from views.widgets import heading


class VolunteersScreen(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(heading(_("Volunteers"), self))
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("volunteerTabs")
        self.roster = RosterBrowser(ctx, self)
        self.teams = TeamsPage(ctx, self)
        self.signin = SignInPage(ctx, self)
        self.approval = ApprovalPage(ctx, self)
        self.rotas = RotaPlanner(ctx, self)
        self.bank = PassbookPage(ctx, self)
        self.needs = NeedsBoard(ctx, self)
        self.stars = StarsPage(ctx, self)
        for page, label in ((self.roster, _("Roster")), (self.teams, _("Teams")), (self.signin, _("Activity sign-in")),
                            (self.approval, _("Approve hours")), (self.rotas, _("Rotas")),
                            (self.bank, _("Time bank")), (self.needs, _("Needs")), (self.stars, _("Stars"))):
            self.tabs.addTab(page, label)
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self._started = False
        self._loaded: set[int] = set()

    def activated(self) -> None:
        if not self._started:
            self._started = True
            self.roster.start()
            self._loaded.add(0)

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        self.activated()

    def _tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        refresh = getattr(page, "refresh", None)
        if page is not self.roster and callable(refresh):
            refresh()  # each page reads its data when it is shown
