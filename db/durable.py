"""Durability barriers: what leaves this machine (a bundle, a receipt, a hub acknowledgement)
must be on disk first.

The database runs with synchronous=NORMAL in WAL mode: a commit is atomic but the last
transactions may be lost on a power cut. That is fine for local edits, but not for a promise
made to a peer: a receipt saying "I hold these changes" written before the import is on disk
would, after a power cut, leave the sender believing we hold what we lost (and never send it
again); an op exported before it is on disk could be lost here and its number reused.

- `full_sync(db)`: the transaction run inside commits with synchronous=FULL (the write-ahead
  log is synced to disk at the commit) — used for an import's one transaction.
- `make_durable(store)`: everything committed so far is on disk when it returns (the
  write-ahead log, the file and its folder synced) — before a bundle, a receipt or a backup is
  written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def full_sync(db) -> Iterator[None]:
    """Commit the transaction opened inside with synchronous=FULL (not nested in another one)."""
    if db.in_transaction():
        yield  # (the outer transaction's commit decides; callers use this outermost)
        return
    old = int(db.execute_sql("pragma synchronous").fetchone()[0])
    if old >= 2:
        yield
        return
    db.execute_sql("pragma synchronous = FULL")
    try:
        yield
    finally:
        db.execute_sql(f"pragma synchronous = {old}")


def make_durable(store) -> None:
    """Everything committed to this database so far is on disk when this returns.

    SQLite has written every commit to the write-ahead log (and every checkpoint to the file)
    with plain writes; syncing both files, and their folder, puts them all on disk. Nothing is
    written to the database for it (a barrier changes no data, no meta value)."""
    db = store.db
    if db.in_transaction():
        raise RuntimeError("make_durable inside a transaction: its commit is not on disk yet")
    path = Path(store.path)
    for part in (Path(str(path) + "-wal"), path):
        try:
            fsync_file(part)
        except FileNotFoundError:
            pass  # no write-ahead log right now: every commit is in the file itself
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in folder durable (no-op where directories cannot be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
