"""Large writes (a big spreadsheet, a full handover) and the write-ahead log.

SQLite folds the write-ahead log back into the database file (a checkpoint) when a commit leaves
it over 1,000 pages. After a transaction of half a gigabyte that checkpoint copies it all inside
the commit. checkpoint_deferred() leaves it for settle(), which the app runs in the background
once the import has been shown (readers see the committed data either way).
"""

from __future__ import annotations

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


def settle(store) -> tuple[int, int]:
    """Fold the write-ahead log into the database file now. Returns (log frames, frames copied)."""
    busy, frames, copied = store.db.execute_sql("pragma wal_checkpoint(passive)").fetchone()
    return frames, copied
