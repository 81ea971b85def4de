"""Progress and cancel for long ledger work, through the task runner's `state` (or nothing)."""

from __future__ import annotations

from db.errors import Cancelled
from desktop.i18n import _


def step(state, done: int, total: int, text: str | None = None) -> None:
    """Report progress; raise Cancelled (the caller's transaction then rolls back) if asked to stop."""
    if state is None:
        return
    state.set_progress(done, total, text)
    if state.is_cancelled():
        raise Cancelled(_("The work was cancelled; nothing was changed."))
