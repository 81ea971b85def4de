"""The screens of the main window, in navigation order.

Each entry is (key, N_(English label), "module:Class"). A screen class is
`Class(ctx: AppContext, parent=None)`, a QWidget, with an optional `activated()` that the main
window calls each time the user switches to it. Screens are imported and created lazily, on
first show. To build a screen, replace its placeholder entry with your own (one line).
"""

from __future__ import annotations

import importlib

from i18n import N_

SCREENS: list[tuple[str, str, str]] = [
    ("households", N_("Household register"), "views.households:HouseholdsScreen"),
    ("visits", N_("Visits"), "views.visits:VisitsScreen"),
    ("meetings", N_("Meetings"), "views.placeholder:MeetingsPlaceholder"),
    ("volunteers", N_("Volunteers"), "views.placeholder:VolunteersPlaceholder"),
    ("printing", N_("Printing"), "views.printing:PrintingScreen"),
    ("sync", N_("Sync and handover"), "views.sync:SyncScreen"),
    ("settings", N_("Settings"), "views.settings:SettingsScreen"),
]


def screen_class(spec: str) -> type:
    """Import "module:Class" and return the class."""
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
