"""Errors raised by db/; their messages are already translated for the user."""

from __future__ import annotations


class GridDeskError(Exception):
    """Base for errors whose message can be shown to the user as it is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DatabaseOpenError(GridDeskError):
    """The file is not a GridDesk database, is damaged, or comes from a newer version."""


class ValidationError(GridDeskError):
    """One bad value: which field, which row (if any), and what is wrong."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.field = field
        self.row = row


class ValidationErrors(GridDeskError):
    """Several bad values found at once; nothing was written."""

    def __init__(self, errors: list[ValidationError]):
        super().__init__("\n".join(e.message for e in errors))
        self.errors = errors


class Cancelled(GridDeskError):
    """The user cancelled a long task; nothing of it was kept."""
