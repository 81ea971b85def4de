"""Shared helpers for the sync tests: replicas that trust each other, content snapshots."""

from __future__ import annotations

from pathlib import Path

from db import opstore
from db.models import SYNCED_MODELS
from db.store import Store
from db.sync import identity


def make_replicas(folder: Path, names: list[str]) -> list[Store]:
    stores = [Store(folder / f"{n}.sqlite", user=n) for n in names]
    ids = [identity.identity(s) for s in stores]
    for s in stores:
        for other in ids:
            if other.device_id != identity.identity(s).device_id:
                identity.trust_device(s, other.card())
    return stores


def _synced_tables(store: Store) -> dict:
    """Every synced table's rows and the conflict queue."""
    db = store.db
    snap = {}
    for model in SYNCED_MODELS:
        table = model._meta.table_name
        snap[table] = sorted(db.execute_sql(f'select * from "{table}"').fetchall())
    snap["conflict"] = sorted(db.execute_sql("select tbl, row_id, field from conflict").fetchall())
    return snap


def content(store: Store) -> dict:
    """Everything synced plus the op log and the conflict queue: what must not change."""
    snap = _synced_tables(store)
    # The op log's logical columns (the view also names each op's rowid, which differs by file).
    snap["oplog"] = sorted(store.db.execute_sql(f"select {','.join(opstore.COLUMNS)} from oplog").fetchall())
    return snap


def synced_content(store: Store) -> dict:
    """Everything synced, the conflict queue and which ops are there (node, counter)."""
    snap = _synced_tables(store)
    snap["ops"] = sorted(store.db.execute_sql("select node, counter from oplog").fetchall())
    return snap
