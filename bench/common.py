"""Shared helpers: a cached demo community database of a given size."""

from __future__ import annotations

import shutil
import time
from pathlib import Path


def demo_db(workdir: Path, households: int, seed: int = 1) -> Path:
    """A demo database with `households` households, generated once per workdir and reused."""
    from db.migrations import SCHEMA_VERSION

    # Keyed on the schema version too: a cached file from an older build may lack newer tables.
    path = workdir / f"demo-{households}-{seed}-v{SCHEMA_VERSION}.sqlite"
    if not path.exists():
        from db.demo import generate
        from db.store import Store

        tmp = workdir / f"building-{households}.sqlite"
        for leftover in workdir.glob(f"building-{households}.sqlite*"):
            leftover.unlink()
        store = Store(tmp)
        generate(store, households=households, seed=seed)
        store.db.execute_sql("pragma wal_checkpoint(truncate)")
        store.close()
        shutil.move(tmp, path)
    return path


def fresh_copy(source: Path, target: Path) -> Path:
    """A byte copy of a demo database (it gets a new node id when opened, as copies should)."""
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    shutil.copyfile(source, target)
    return target


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
