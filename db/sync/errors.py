"""The error of the sync area (a level below identity, usb and exchange, so they need not import each other)."""

from __future__ import annotations

from db.errors import GridDeskError


class SyncError(GridDeskError):
    """A bundle, receipt or device card that cannot be used; nothing was changed."""
