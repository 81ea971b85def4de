"""Durability barriers: what leaves this machine (a bundle, a receipt, a hub acknowledgement)
must be on disk first.

The database runs with synchronous=NORMAL in WAL mode: a commit is atomic but the last
transactions may be lost on a power cut. That is fine for local edits, but not for a promise
made to a peer: a receipt saying "I hold these changes" written before the import is on disk
would, after a power cut, leave the sender believing we hold what we lost (and never send it
again); an op exported before it is on disk could be lost here and its number reused.

- `full_sync(db)`: the transaction run inside commits with synchronous=FULL (the write-ahead
  log is synced to disk at the commit) — used for an import's one transaction.
- `make_durable(store)`: everything committed so far is on disk when it returns (one small
  commit with synchronous=FULL, which syncs the whole write-ahead log) — before a bundle or a
  receipt is written.
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
    """Everything committed to this database so far is on disk when this returns."""
    import datetime as dt

    db = store.db
    if db.in_transaction():
        raise RuntimeError("make_durable inside a transaction: its commit is not on disk yet")
    with full_sync(db), db.atomic():
        store.set_meta(durable_at=dt.datetime.now().isoformat(timespec="seconds"))


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
