"""Schema versions, keyed on `pragma user_version`; each upgrade runs in one exclusive transaction.

Version 1 is the frozen DDL in schema_v1.sql. Later versions are additive only (tables and
columns added, never renamed), so ops written by a newer app can be kept and applied later.
A new table added in version N: create it here with `create_table(Model)`; a later column on it
must use `add_column` (which skips a column the table already has).
"""

from __future__ import annotations

from pathlib import Path

from peewee import SqliteDatabase

SCHEMA_VERSION = 2
_V1_SQL = Path(__file__).with_name("schema_v1.sql")


def _columns(db: SqliteDatabase, table: str) -> set[str]:
    return {row[1] for row in db.execute_sql(f'pragma table_info("{table}")').fetchall()}


def add_column(db: SqliteDatabase, table: str, column: str, decl: str = "TEXT") -> None:
    if column not in _columns(db, table):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {decl}')


def create_table(db: SqliteDatabase, model) -> None:
    with db.bind_ctx([model]):
        model.create_table(safe=True)


def _v1(db: SqliteDatabase) -> None:
    for statement in _V1_SQL.read_text(encoding="utf-8").split(";\n"):
        if statement.strip():
            db.execute_sql(statement)


def _v2(db: SqliteDatabase) -> None:
    # Pinyin of names, for search-as-you-type by full pinyin and initials.
    add_column(db, "person", "name_pinyin")
    add_column(db, "person", "name_initials")


MIGRATIONS = {1: _v1, 2: _v2}


def upgrade(db: SqliteDatabase, application_id: int, target: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database up to `target`; returns the versions applied."""
    applied = []
    current = db.execute_sql("pragma user_version").fetchone()[0]
    for version in range(current + 1, target + 1):
        with db.atomic("EXCLUSIVE"):
            MIGRATIONS[version](db)
            if version == 1:
                db.execute_sql(f"pragma application_id = {application_id}")
            db.execute_sql(f"pragma user_version = {version}")
        applied.append(version)
    return applied
