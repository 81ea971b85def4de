"""Schema versions, keyed on `pragma user_version`; each upgrade runs in one exclusive transaction.

Version 1 is the frozen DDL in schema_v1.sql. Later versions are additive only (tables and
columns added, never renamed), so ops written by a newer app can be kept and applied later.
A new table added in version N: create it here with `create_table(Model)`; a later column on it
must use `add_column` (which skips a column the table already has).
"""

from __future__ import annotations

import re
from pathlib import Path

from peewee import SqliteDatabase

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
    # Many residents are easiest to reach by WeChat.
    add_column(db, "person", "wechat")


def _v3(db: SqliteDatabase) -> None:
    # Register: a local search index (FTS5 trigram over a lower-case haystack), the undo stack,
    # and indexes for duplicate detection and visit look-ups.
    from db.models.register_local import RegisterSearch, RegisterShort, RegisterUndo

    create_table(db, RegisterSearch)
    create_table(db, RegisterShort)
    create_table(db, RegisterUndo)
    db.execute_sql("CREATE VIRTUAL TABLE IF NOT EXISTS register_fts USING fts5("
                   "haystack, tokenize='trigram', detail='none')")
    # Postings of name characters and pinyin first letters (persons living here), by rowid.
    db.execute_sql("CREATE TABLE IF NOT EXISTS register_chars (token TEXT NOT NULL, row INTEGER NOT NULL, "
                   "PRIMARY KEY (token, row)) WITHOUT ROWID")
    db.execute_sql("CREATE INDEX IF NOT EXISTS register_chars_row ON register_chars (row)")
    db.execute_sql('CREATE INDEX IF NOT EXISTS "person_id_number" ON "person" ("id_number")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "person_name_birth" ON "person" ("name", "birth_date")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "visit_household_date" ON "visit" ("household_id", "visit_date")')
    # An empty register has a complete (empty) index; otherwise it is built on first use.
    empty = db.execute_sql("select count(*) from person").fetchone()[0] == 0
    db.execute_sql("INSERT INTO meta(key, value) VALUES('register_index', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("ok" if empty else "stale",))


def _v4(db: SqliteDatabase) -> None:
    # Ledger import/export: saved mappings, department templates, undoable import batches.
    from db.models.ledger import LEDGER_MODELS

    for model in LEDGER_MODELS:
        create_table(db, model)


def _v6(db: SqliteDatabase) -> None:
    # Sync and handover: device keys, trusted devices, acknowledged vectors, exchange history.
    from db.models.sync import SYNC_MODELS

    for model in SYNC_MODELS:
        create_table(db, model)


# Version numbers may have gaps (areas developed in parallel reserve their own numbers);
# a missing number is simply skipped.
def _v7(db: SqliteDatabase) -> None:
    # Register search: the postings of 1-2 character terms move from a table of (token, row) pairs
    # (3 million rows and two B-trees for 150,000 persons) into a contentless FTS5 table of
    # space-separated tokens by the same rowid: written ten times faster, a seventh of the size.
    from db.register.postings import CREATE_POSTINGS, FTS_HASH_SIZE

    db.execute_sql(CREATE_POSTINGS)
    db.execute_sql("DROP TABLE IF EXISTS register_chars")
    # The trigram table without per-row sizes (no ranking is done): 10 % cheaper to write.
    db.execute_sql("DROP TABLE IF EXISTS register_fts")
    db.execute_sql("CREATE VIRTUAL TABLE register_fts USING fts5(haystack, tokenize='trigram', detail='none', "
                   "columnsize=0)")
    for table in ("register_fts", "register_tok"):
        # Bulk writes (an import of 150,000 rows) flush fewer, larger segments: ~25 % faster.
        db.execute_sql(f"INSERT INTO {table}({table}, rank) VALUES('hashsize', {FTS_HASH_SIZE})")
    # A register with persons is indexed again on first use (ensure_index); an empty one is complete.
    empty = db.execute_sql("select count(*) from register_search").fetchone()[0] == 0
    db.execute_sql("INSERT INTO meta(key, value) VALUES('register_index', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("ok" if empty else "stale",))


def _v8(db: SqliteDatabase) -> None:
    # Sync invariants: the same op id seen with different content is kept here (db/sync/faults.py).
    from db.models.sync_faults import SYNC_FAULT_MODELS

    for model in SYNC_FAULT_MODELS:
        create_table(db, model)


def _v9(db: SqliteDatabase) -> None:
    # Meetings, minutes and residents' matters (db/models/meetings.py).
    from db.models.meetings import MEETINGS_MODELS

    for model in MEETINGS_MODELS:
        create_table(db, model)
    db.execute_sql('CREATE INDEX IF NOT EXISTS "meeting_starts_at" ON "meeting" ("starts_at")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "matter_raised_on" ON "matter" ("raised_on")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "attachment_owner" ON "attachment" ("owner_table", "owner_id")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "agenda_item_matter" ON "agenda_item" ("matter")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "invitee_proxy_holder" ON "invitee" ("proxy_holder")')


def _v10(db: SqliteDatabase) -> None:
    # Volunteer rosters: teams, volunteers, service records, time bank, rotas, needs (synced),
    # and the local search rows.
    from db.models.volunteers import VOLUNTEER_INDEXES, VOLUNTEER_LOCAL_MODELS, VOLUNTEER_MODELS

    for model in (*VOLUNTEER_MODELS, *VOLUNTEER_LOCAL_MODELS):
        create_table(db, model)
    for statement in VOLUNTEER_INDEXES:
        db.execute_sql(statement)


def _v11(db: SqliteDatabase) -> None:
    # Office sync: the link to the office hub (address, pinned certificate, epoch, cursor) and the
    # rows that left this laptop's grids and wait for their own changes to be acknowledged.
    from db.sync.hub_tables import create_tables

    create_tables(db)


def _v12(db: SqliteDatabase) -> None:
    # Accounts of this laptop (local, inside the encrypted file): db/accounts/models.py.
    db.execute_sql("CREATE TABLE IF NOT EXISTS account (login TEXT NOT NULL PRIMARY KEY, display_name TEXT, "
                   "role TEXT NOT NULL, grid_ids TEXT NOT NULL DEFAULT '', created_at TEXT, "
                   "disabled INTEGER NOT NULL DEFAULT 0)")


def _v13(db: SqliteDatabase) -> None:
    # Rare characters (生僻字): readings people add for characters pypinyin lacks (synced).
    from db.models.rare import RARE_MODELS

    for model in RARE_MODELS:
        create_table(db, model)


def _v16(db: SqliteDatabase) -> None:
    # Meetings: motions with several options (rows), per-person votes on an option.
    from db.models.meetings import MEETINGS_OPTION_MODELS

    for model in MEETINGS_OPTION_MODELS:
        create_table(db, model)
    add_column(db, "motion", "pick_one", "INTEGER")
    add_column(db, "vote", "option_id", "TEXT")
    db.execute_sql('CREATE INDEX IF NOT EXISTS "motion_option_motion" ON "motion_option" ("motion_id", "position")')
    # The foreign key's own index is the start of that one (migration 14 drops such indexes).
    db.execute_sql('DROP INDEX IF EXISTS "motion_option_motion_id"')
def _redundant_indexes(db: SqliteDatabase) -> list[str]:
    """Plain indexes whose columns are those of another (whole-table) index of the same table or
    the start of them: the other one serves every look-up they serve (e.g. a foreign key's own
    index beside a named index on the same column, or on that column and the visit date)."""
    found: dict[str, list[tuple[str, tuple, bool, bool]]] = {}
    for table, name, sql in db.execute_sql(
            "select tbl_name, name, sql from sqlite_master where type = 'index'").fetchall():
        cols = tuple((r[2], r[3], r[4]) for r in db.execute_sql(f'pragma index_xinfo("{name}")') if r[5])
        unique, partial = db.execute_sql('select "unique", partial from pragma_index_list(?) where name = ?',
                                         (table, name)).fetchone()
        found.setdefault(table, []).append((name, cols, sql is not None and not unique, bool(partial)))
    drop: list[str] = []
    for indexes in found.values():
        for name, cols, plain, partial in indexes:
            if not plain or partial or any(c[0] is None for c in cols):
                continue
            for other, other_cols, other_plain, other_partial in indexes:
                if other == name or other in drop or other_partial or other_cols[:len(cols)] != cols:
                    continue
                # A longer one, or the same columns where the other one is kept (unique, or first by name).
                if len(other_cols) > len(cols) or not other_plain or other < name:
                    drop.append(name)
                    break
    return sorted(drop)


def _v14(db: SqliteDatabase) -> None:
    # A smaller file: the op log says each op's column names once per column list (db/opfields.py),
    # and indexes another index already serves are dropped. upgrade() compacts the file after.
    from db import opfields

    db.execute_sql(opfields.CREATE_KEYS)
    total = db.execute_sql("select count(*) from oplog where typeof(fields) = 'text'").fetchone()[0]
    if total:
        _pack_oplog(db, total)
    for name in _redundant_indexes(db):
        db.execute_sql(f'DROP INDEX "{name}"')


def _pack_oplog(db: SqliteDatabase, total: int) -> None:
    """Copy the op log into a new table with packed fields (rowids kept), then put it in place:
    a copy in rowid order writes full pages, an update in place would leave them two-thirds empty."""
    import orjson

    from db import opfields

    table_sql = db.execute_sql("select sql from sqlite_master where type = 'table' and name = 'oplog'").fetchone()[0]
    index_sql = [r[0] for r in db.execute_sql(
        "select sql from sqlite_master where type = 'index' and tbl_name = 'oplog' and sql is not null")]
    columns = [r[1] for r in db.execute_sql("pragma table_info(oplog)")]
    col_sql = ",".join(f'"{c}"' for c in columns)
    db.execute_sql("DROP TABLE IF EXISTS oplog_v14")
    db.execute_sql(re.sub(r'^CREATE TABLE\s+("oplog"|oplog|`oplog`|\[oplog\])', 'CREATE TABLE "oplog_v14"',
                          table_sql, count=1, flags=re.IGNORECASE))
    packer = opfields.Packer(db)
    loads = orjson.loads
    seen = [0]

    def pack(stored):
        seen[0] += 1
        if type(stored) is not str:
            return stored
        try:
            return packer.pack_text(stored, loads(stored))
        except orjson.JSONDecodeError:
            return stored  # kept as it is (never expected)

    db.connection().create_function("griddesk_pack_fields", 1, pack, deterministic=True)
    select_sql = ",".join("griddesk_pack_fields(fields)" if c == "fields" else f'"{c}"' for c in columns)
    insert = (f"insert into oplog_v14 (rowid, {col_sql}) select rowid, {select_sql} from oplog "
              "where rowid > ? and rowid <= ? order by rowid")
    lo, top = db.execute_sql("select coalesce(min(rowid), 1) - 1, coalesce(max(rowid), 0) from oplog").fetchone()
    step = 50_000
    while lo < top:
        db.execute_sql(insert, (lo, lo + step))
        packer.flush()
        lo += step
        report(14, min(seen[0], total), total)
    db.execute_sql("DROP TABLE oplog")
    db.execute_sql('ALTER TABLE oplog_v14 RENAME TO oplog')
    for sql in index_sql:
        db.execute_sql(sql)


# Progress of a long migration step: listeners get (version, done, total).
_progress_listeners: list = []


def add_progress_listener(fn) -> None:
    if fn not in _progress_listeners:
        _progress_listeners.append(fn)


def remove_progress_listener(fn) -> None:
    if fn in _progress_listeners:
        _progress_listeners.remove(fn)


def report(version: int, done: int, total: int) -> None:
    for fn in list(_progress_listeners):
        fn(version, done, total)
def _v15(db: SqliteDatabase) -> None:
    # Changes that prove who made them (db/sync/chains.py): each op names the chain digest of its
    # node's previous op (computed here for the ops already in the log, in order per node), the
    # heads devices signed, and notes about what could not be proven.
    from db.models.chains import CHAIN_MODELS
    from db.sync.chains import fill_log

    add_column(db, "oplog", "prev", "BLOB")
    for model in CHAIN_MODELS:
        create_table(db, model)
    fill_log(db, progress=lambda done, total: report(15, done, total))


def _v17(db: SqliteDatabase) -> None:
    # A smaller op log (db/opstore.py): node and table names as small integers, UUID row ids as
    # 16 bytes, clock stamps as integers; `oplog` becomes a view giving the same logical rows.
    # Copied in rowid order (rowids kept: backups name ops by them), the index built after.
    from db import opstore

    if db.execute_sql("select type from sqlite_master where name = 'oplog'").fetchone()[0] == "view":
        return
    db.execute_sql(opstore.CREATE_NODES)
    db.execute_sql(opstore.CREATE_TABLES)
    db.execute_sql("INSERT OR IGNORE INTO oplog_node (node) SELECT DISTINCT node FROM oplog ORDER BY node")
    db.execute_sql("INSERT OR IGNORE INTO oplog_table (name) SELECT DISTINCT tbl FROM oplog ORDER BY tbl")
    db.execute_sql("DROP TABLE IF EXISTS oplog_store")
    db.execute_sql(opstore.CREATE_STORE)
    total = db.execute_sql("select count(*) from oplog").fetchone()[0]
    insert = ("INSERT INTO oplog_store (rowid, nid, counter, tid, rid, fields, supersedes, stamp, user, schema, kind, "
              "prev) SELECT o.rowid, n.id, o.counter, t.id, " + opstore.RID_SQL.format(x="o.row_id") + ", o.fields, "
              "o.supersedes, " + opstore.STAMP_SQL.format(x="o.hlc", node="o.node") + ", o.user, o.schema, o.kind, "
              "o.prev FROM oplog AS o JOIN oplog_node AS n ON n.node = o.node JOIN oplog_table AS t ON t.name = o.tbl "
              "WHERE o.rowid > ? AND o.rowid <= ? ORDER BY o.rowid")
    lo, top = db.execute_sql("select coalesce(min(rowid), 1) - 1, coalesce(max(rowid), 0) from oplog").fetchone()
    step, done = 50_000, 0
    while lo < top:
        done += db.execute_sql(insert, (lo, lo + step)).rowcount
        lo += step
        report(17, min(done, total), total)
    if done != total:  # pragma: no cover - every op has its node and table row
        raise RuntimeError(f"migration 17 copied {done} of {total} ops")
    db.execute_sql("DROP TABLE oplog")
    for statement in (opstore.CREATE_INDEX, opstore.CREATE_VIEW, *opstore.CREATE_TRIGGERS):
        db.execute_sql(statement)
def _v18(db: SqliteDatabase) -> None:
    # Links across holes (db/sync/chains.py): ops from now on are chained through their content
    # digest; the links of ops not held here, received past holes, are kept to be passed on.
    from db.models.chains import ChainLink, ChainVoucher

    create_table(db, ChainLink)
    create_table(db, ChainVoucher)  # vouchers for device keys (no more trust on first sight)


# One line per area, so work on several registers merges without touching the same line.
MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 6: _v6, 7: _v7}
MIGRATIONS[8] = _v8  # sync invariants: op-id faults
MIGRATIONS[9] = _v9  # meetings
MIGRATIONS[10] = _v10  # volunteers
MIGRATIONS[11] = _v11  # office hub
MIGRATIONS[12] = _v12  # accounts
MIGRATIONS[13] = _v13  # rare characters
MIGRATIONS[16] = _v16  # meetings and volunteers, second round: motion options
MIGRATIONS[14] = _v14  # a smaller file: packed op fields, no redundant indexes
MIGRATIONS[15] = _v15  # origin proofs: op chains and signed heads
MIGRATIONS[17] = _v17  # a smaller op log: integer node and table, binary row ids and stamps
MIGRATIONS[18] = _v18  # origin proofs across holes: links, vouched device keys
SCHEMA_VERSION = max(MIGRATIONS)


def upgrade(db: SqliteDatabase, application_id: int, target: int | None = None) -> list[int]:
    """Bring the database up to `target`; returns the versions applied.

    Every step runs in one exclusive transaction: a step that fails leaves the file as it was
    (not half-way between two versions). db.store makes a backup before this touches a file."""
    target = SCHEMA_VERSION if target is None else target
    applied = []
    current = db.execute_sql("pragma user_version").fetchone()[0]
    if current >= target:
        return applied
    with db.atomic("EXCLUSIVE"):
        for version in range(current + 1, target + 1):
            step = MIGRATIONS.get(version)
            if step is not None:
                step(db)
            if version == 1:
                db.execute_sql(f"pragma application_id = {application_id}")
            db.execute_sql(f"pragma user_version = {version}")
            applied.append(version)
    if (14 in applied or 17 in applied) and current > 0:
        # The packed op log left free pages behind: give them back (after the commit; VACUUM
        # cannot run inside a transaction). The migration's backup was made before any of this.
        report(max(v for v in applied if v in (14, 17)), -1, -1)
        compact(db)
    return applied


def compact(db: SqliteDatabase) -> None:
    """Give a file's free pages back, in bounded memory.

    A plain VACUUM would build the new file in memory (the bundled SQLite is built with
    SQLITE_TEMP_STORE=3: 1.9 GB resident at 50,000 households). VACUUM INTO writes the compact
    copy straight to a sibling file instead (encrypted with the same key on an SQLCipher
    connection); the backup API then copies its pages back into the open database page by page,
    in one transaction (a crash leaves the old file), and the scratch file is removed."""
    path = str(db.database)
    if not path or path == ":memory:" or path.startswith("file:"):
        db.execute_sql("VACUUM")
        return
    scratch = Path(path + ".compact")
    for leftover in (scratch, Path(f"{scratch}-journal"), Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        db.execute_sql("VACUUM INTO ?", (str(scratch),))
        key = getattr(db, "_cipher_key", None)
        if key is not None:
            from db.accounts.cipher import connect

            source = connect(scratch, key)
        else:
            from pysqlite3 import dbapi2

            source = dbapi2.connect(str(scratch))
        try:
            source.backup(db.connection())
        finally:
            source.close()
    finally:
        scratch.unlink(missing_ok=True)
    # In WAL mode the compacted pages are in the WAL: write them back and let the WAL go.
    db.execute_sql("pragma wal_checkpoint(truncate)")
