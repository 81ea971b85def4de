"""Honest placeholders for screens that a later version provides."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from i18n import N_, _
from views.widgets import heading


class PlaceholderScreen(QWidget):
    """Says plainly that this function is not there yet, and what it will do."""

    title = N_("Coming soon")
    purpose = N_("This function will be provided in a later version.")

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        layout.addWidget(heading(_(self.title), self))
        self.note = QLabel(_("This function will be provided in a later version."), self)
        self.note.setObjectName("placeholderNote")
        layout.addWidget(self.note)
        self.purpose_label = QLabel(_(self.purpose), self)
        self.purpose_label.setWordWrap(True)
        self.purpose_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.purpose_label)
        layout.addStretch(1)


class HouseholdsPlaceholder(PlaceholderScreen):
    title = N_("Household register")
    purpose = N_("Here you will keep the households and residents of your grid: addresses, members, "
                 "relations, tags such as subsistence allowance or living alone, and moves in and out.")


class VisitsPlaceholder(PlaceholderScreen):
    title = N_("Visits")
    purpose = N_("Here you will record household visits and follow up on what residents asked for.")


class MeetingsPlaceholder(PlaceholderScreen):
    title = N_("Meetings")
    purpose = N_("Here you will plan meetings, take attendance and keep the minutes.")


class VolunteersPlaceholder(PlaceholderScreen):
    title = N_("Volunteers")
    purpose = N_("Here you will keep volunteers, their teams, shifts and service hours.")


class PrintingPlaceholder(PlaceholderScreen):
    title = N_("Printing")
    purpose = N_("Here you will print registers, visit forms and household cards.")


class SyncPlaceholder(PlaceholderScreen):
    title = N_("Sync and handover")
    purpose = N_("Here you will exchange changes with the community office and hand over data by USB stick.")
