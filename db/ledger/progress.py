"""Progress and cancel for long ledger work, through the task runner's `state` (or nothing)."""

from __future__ import annotations

from db.bulk import bulk_gc
from db.errors import Cancelled
from i18n import _


def step(state, done: int, total: int, text: str | None = None) -> None:
    """Report progress; raise Cancelled (the caller's transaction then rolls back) if asked to stop."""
    if state is None:
        return
    state.set_progress(done, total, text)
    if state.is_cancelled():
        raise Cancelled(_("The work was cancelled; nothing was changed."))


def gc_paused():
    """The collector paused during bulk ledger work (db.bulk.bulk_gc; usable as a decorator)."""
    return bulk_gc()
