"""Progress and cancel for long ledger work, through the task runner's `state` (or nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


LEDGER_CACHE_KIB = 24_000  # SQLite's page cache during a large import (it counts in the peak memory)


@contextmanager
def bounded_cache(store) -> Iterator[None]:
    """A smaller page cache while a ledger is checked or written: the register file is read and
    written in order, a block at a time, so a big cache saves little and costs memory."""
    db = store.db
    old = db.execute_sql("pragma cache_size").fetchone()[0]
    if old < 0 and -old > LEDGER_CACHE_KIB:
        db.execute_sql(f"pragma cache_size = -{LEDGER_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute_sql(f"pragma cache_size = {int(old)}")
