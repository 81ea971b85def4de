"""Shared steps of the volunteer screen tests."""

from __future__ import annotations


def volunteers_screen(ctx, qtbot):
    """The volunteers screen on ctx, 1200 x 760, shown and activated (as the main window does)."""
    from views.volunteers import VolunteersScreen

    screen = VolunteersScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1200, 760)
    screen.show()
    screen.activated()
    return screen
