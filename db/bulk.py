"""Large writes (a big spreadsheet, a full handover) and the write-ahead log.

SQLite folds the write-ahead log back into the database file (a checkpoint) when a commit leaves
it over 1,000 pages. After a transaction of half a gigabyte that checkpoint copies it all inside
the commit. checkpoint_deferred() leaves it for settle(), which the app runs in the background
once the import has been shown (readers see the committed data either way).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def checkpoint_deferred(store) -> Iterator[None]:
    """No automatic checkpoint at the commit of the transaction written inside."""
    db = store.db
    before = db.execute_sql("pragma wal_autocheckpoint").fetchone()[0]
    db.execute_sql("pragma wal_autocheckpoint = 0")
    try:
        yield
    finally:
        db.execute_sql(f"pragma wal_autocheckpoint = {int(before)}")


def release_memory() -> None:
    """After a bulk import: drop the search index's caches and give the freed memory back to the
    system. The C library keeps freed blocks for reuse: after a 50,000-household handover the
    process stays at 1.4 GB although only 0.3 GB is in use (glibc's malloc_trim; elsewhere only
    the caches go)."""
    import ctypes
    import ctypes.util
    import sys

    from db.register.index import clear_caches

    clear_caches()
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (e.g. musl): nothing to do


def settle(store) -> tuple[int, int]:
    """Fold the write-ahead log into the database file now. Returns (log frames, frames copied)."""
    busy, frames, copied = store.db.execute_sql("pragma wal_checkpoint(passive)").fetchone()
    return frames, copied


# -- the cyclic garbage collector around bulk work ---------------------------------------------
# Paused during the work on millions of objects (a big bundle's ops, a 150,000-row spreadsheet):
# it would walk the same objects again and again. At the end, what the work left alive is moved
# to the permanent generation (gc.freeze) instead of staying in the young generation: the next
# young collection would otherwise walk every one of those objects (~0.4 s per pass for a million
# ops, twice as they age). Reference counting still frees them all when they are dropped; the
# objects made here hold no reference cycles.

FREEZE_FROM = 100_000  # objects left in the young generation; fewer are cheap to collect

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Usable as a decorator; nests (the collector resumes when the outermost one ends)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    ok = False
    try:
        yield
        ok = True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                # After a failure nothing is frozen: what an error keeps alive is left to the collector.
                if ok and gc.get_count()[0] >= FREEZE_FROM:
                    gc.freeze()
                if _was_enabled:
                    gc.enable()
