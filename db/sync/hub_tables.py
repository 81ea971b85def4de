"""The office sync tables of a laptop database (migration 11), apart from hub_client so that
db.migrations does not import db.oplog back (an import cycle)."""

from __future__ import annotations


def create_tables(db) -> None:
    """Migration 11: the hub link of this database (one row) and the rows waiting to leave."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS sync_hub (id INTEGER PRIMARY KEY CHECK (id = 1),
        url TEXT NOT NULL, pin TEXT NOT NULL, cert_pem TEXT NOT NULL, hub_id TEXT, hub_name TEXT, epoch TEXT,
        cursor INTEGER NOT NULL DEFAULT 0, scope_token TEXT, grids TEXT, enrolled_at TEXT, last_attempt_at REAL,
        last_sync_at REAL, last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL,
        acked TEXT NOT NULL DEFAULT '{}', offset_ms INTEGER NOT NULL DEFAULT 0,
        interval_min INTEGER NOT NULL DEFAULT 15)""")
    db.execute_sql("""CREATE TABLE IF NOT EXISTS sync_hub_leave (tbl TEXT NOT NULL, row_id TEXT NOT NULL,
        at TEXT, PRIMARY KEY (tbl, row_id))""")
