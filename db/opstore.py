"""The op log's stored form since migration 17: the same ops in about two thirds of the bytes.

The rows live in `oplog_store`; `oplog` is a view of it that gives every column its logical value
(the node id and table name as text, the row id as its UUID text, the hybrid clock stamp as text),
so readers and other tools see the op log exactly as before. What is stored differently:

- node and table: a small integer into `oplog_node` / `oplog_table` (written once per name);
- row id: a UUID in canonical lower-case text form is 16 bytes; any other id stays text;
- hlc: "<16-digit ms>-<6-digit counter>-<node>" with the op's own node is the integer
  ms << 20 | counter; any other stamp stays text.

Each conversion is exact (decoding gives back the same text) and chosen per value, so nothing an
op says is lost and chain digests (computed from the logical values) do not change. A look-up by
row id uses `rid` (the stored form: `rid(row_id)`) so the (table, row id) index serves it.
Writers go through `db.oplog` (insert_rows); the view's INSTEAD OF triggers convert the same way
(SQL below, kept equal to the Python functions by tests/test_opstore.py) for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

STORE = "oplog_store"

CREATE_NODES = "CREATE TABLE IF NOT EXISTS oplog_node (id INTEGER NOT NULL PRIMARY KEY, node TEXT NOT NULL UNIQUE)"
CREATE_TABLES = "CREATE TABLE IF NOT EXISTS oplog_table (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL UNIQUE)"
# rid, stamp and fields have no declared type: a blob, an integer or a text is kept as it is.
CREATE_STORE = ("CREATE TABLE IF NOT EXISTS oplog_store (nid INTEGER NOT NULL, counter INTEGER NOT NULL, "
                "tid INTEGER NOT NULL, rid NOT NULL, fields NOT NULL, supersedes TEXT NOT NULL, stamp NOT NULL, "
                "user TEXT, schema INTEGER NOT NULL, kind TEXT NOT NULL, prev BLOB, PRIMARY KEY (nid, counter))")
CREATE_INDEX = "CREATE INDEX IF NOT EXISTS oplog_store_tid_rid ON oplog_store (tid, rid)"

# SQL forms of the conversions (the migration and the triggers); {x} is the value, {node} the node text.
ROW_ID_SQL = ("CASE WHEN typeof({x}) = 'blob' THEN lower(hex(substr({x}, 1, 4)) || '-' || hex(substr({x}, 5, 2)) "
              "|| '-' || hex(substr({x}, 7, 2)) || '-' || hex(substr({x}, 9, 2)) || '-' || hex(substr({x}, 11))) "
              "ELSE {x} END")
RID_SQL = ("CASE WHEN typeof({x}) = 'text' AND length({x}) = 36 AND {x} GLOB '" + "-".join(
    "[0-9a-f]" * n for n in (8, 4, 4, 4, 12)) + "' THEN unhex(replace({x}, '-', '')) ELSE {x} END")
HLC_SQL = ("CASE WHEN typeof({x}) = 'integer' THEN printf('%016d-%06d-', {x} >> 20, {x} & 1048575) || {node} "
           "ELSE {x} END")
STAMP_SQL = ("CASE WHEN typeof({x}) = 'text' AND length({x}) = 24 + length({node}) AND substr({x}, 25) = {node} "
             "AND substr({x}, 1, 24) GLOB '" + "[0-9]" * 16 + "-" + "[0-9]" * 6 + "-' "
             "AND substr({x}, 1, 16) < '0008796093022208' "
             "THEN (CAST(substr({x}, 1, 16) AS INTEGER) << 20) | CAST(substr({x}, 18, 6) AS INTEGER) "
             "ELSE {x} END")

CREATE_VIEW = (
    "CREATE VIEW IF NOT EXISTS oplog AS SELECT o.rowid AS rowid, n.node AS node, o.counter AS counter, "
    "t.name AS tbl, " + ROW_ID_SQL.format(x="o.rid") + " AS row_id, o.fields AS fields, "
    "o.supersedes AS supersedes, " + HLC_SQL.format(x="o.stamp", node="n.node") + " AS hlc, o.user AS user, "
    "o.schema AS schema, o.kind AS kind, o.prev AS prev, o.rid AS rid "
    "FROM oplog_store AS o JOIN oplog_node AS n ON n.id = o.nid JOIN oplog_table AS t ON t.id = o.tid")

_NID = "(SELECT id FROM oplog_node WHERE node = {node})"
_TID = "(SELECT id FROM oplog_table WHERE name = {tbl})"
# Writes through the view (tests, tools): converted like insert_rows; the node, table, row id and
# stamp of an op are what identifies and orders it, so an update may change only the other columns.
CREATE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS oplog_insert INSTEAD OF INSERT ON oplog BEGIN "
    "INSERT OR IGNORE INTO oplog_node (node) VALUES (NEW.node); "
    "INSERT OR IGNORE INTO oplog_table (name) VALUES (NEW.tbl); "
    "INSERT INTO oplog_store (rowid, nid, counter, tid, rid, fields, supersedes, stamp, user, schema, kind, prev) "
    "VALUES (NEW.rowid, " + _NID.format(node="NEW.node") + ", NEW.counter, " + _TID.format(tbl="NEW.tbl") + ", "
    + RID_SQL.format(x="NEW.row_id") + ", NEW.fields, NEW.supersedes, "
    + STAMP_SQL.format(x="NEW.hlc", node="NEW.node") + ", NEW.user, NEW.schema, NEW.kind, NEW.prev); END",
    "CREATE TRIGGER IF NOT EXISTS oplog_delete INSTEAD OF DELETE ON oplog BEGIN "
    "DELETE FROM oplog_store WHERE rowid = OLD.rowid; END",
    "CREATE TRIGGER IF NOT EXISTS oplog_update INSTEAD OF UPDATE ON oplog BEGIN "
    "SELECT RAISE(ABORT, 'oplog: node, counter, tbl, row_id and hlc of an op cannot change') "
    "WHERE NEW.node IS NOT OLD.node OR NEW.counter IS NOT OLD.counter OR NEW.tbl IS NOT OLD.tbl "
    "OR NEW.row_id IS NOT OLD.row_id OR NEW.hlc IS NOT OLD.hlc OR NEW.rowid IS NOT OLD.rowid; "
    "UPDATE oplog_store SET fields = NEW.fields, supersedes = NEW.supersedes, user = NEW.user, "
    "schema = NEW.schema, kind = NEW.kind, prev = NEW.prev WHERE rowid = OLD.rowid; END",
)

ALL_DDL = (CREATE_NODES, CREATE_TABLES, CREATE_STORE, CREATE_INDEX, CREATE_VIEW, *CREATE_TRIGGERS)

# The logical columns read from the view (the order of db.oplog._OP_COLUMNS).
COLUMNS = ("node", "counter", "tbl", "row_id", "fields", "supersedes", "hlc", "user", "schema", "kind", "prev")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HLC = re.compile(r"([0-9]{16})-([0-9]{6})-")
_MS_LIMIT = 1 << 43  # ms << 20 stays a positive 64-bit integer (until the year 2248)


def rid(row_id):
    """The stored form of a row id (what `rid` holds): 16 bytes for a canonical UUID text."""
    if type(row_id) is str and len(row_id) == 36 and _UUID.fullmatch(row_id):
        return bytes.fromhex(row_id.replace("-", ""))
    return row_id


def row_id(stored):
    """The row id text of a stored `rid`."""
    if type(stored) is bytes:
        h = stored.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return stored


def stamp(hlc, node: str):
    """The stored form of an op's hlc (what `stamp` holds)."""
    if type(hlc) is str and len(hlc) == 24 + len(node) and hlc.endswith(node):
        m = _HLC.match(hlc)
        if m is not None:
            ms = int(m[1])
            if ms < _MS_LIMIT:
                return ms << 20 | int(m[2])
    return hlc


def hlc(stored, node: str) -> str:
    if type(stored) is int:
        return f"{stored >> 20:016d}-{stored & 0xFFFFF:06d}-{node}"
    return stored


def _ids(db, table: str, column: str, names: Iterable[str]) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    # In the caller's transaction: a rolled-back write takes its name rows too, so ids are read
    # back each time (never cached across transactions).
    db.cursor().executemany(f"INSERT OR IGNORE INTO {table} ({column}) VALUES (?)", [(n,) for n in names])
    out: dict[str, int] = {}
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        marks = ",".join("?" * len(chunk))
        out.update((n, i) for i, n in db.execute_sql(
            f"SELECT id, {column} FROM {table} WHERE {column} IN ({marks})", chunk))
    return out


INSERT = ("INSERT INTO oplog_store (nid, counter, tid, rid, fields, supersedes, stamp, user, schema, kind, prev) "
          "VALUES (?,?,?,?,?,?,?,?,?,?,?)")
INSERT_WITH_ROWID = ("INSERT INTO oplog_store (rowid, nid, counter, tid, rid, fields, supersedes, stamp, user, "
                     "schema, kind, prev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")


def insert_rows(db, rows: Sequence[Sequence], *, with_rowid: bool = False) -> None:
    """Append ops given in their logical form: (node, counter, tbl, row_id, fields (stored form,
    db.opfields), supersedes, hlc, user, schema, kind, prev), with the rowid first when with_rowid."""
    if not rows:
        return
    k = 1 if with_rowid else 0
    nids = _ids(db, "oplog_node", "node", {r[k] for r in rows})
    tids = _ids(db, "oplog_table", "name", {r[k + 2] for r in rows})
    if with_rowid:
        out = [(r[0], nids[r[1]], r[2], tids[r[3]], rid(r[4]), r[5], r[6], stamp(r[7], r[1]), *r[8:12])
               for r in rows]
        db.cursor().executemany(INSERT_WITH_ROWID, out)
    else:
        out = [(nids[r[0]], r[1], tids[r[2]], rid(r[3]), r[4], r[5], stamp(r[6], r[0]), *r[7:11]) for r in rows]
        db.cursor().executemany(INSERT, out)


def node_where() -> str:
    """`nid = ...` for a query on oplog_store naming the node by its text (one ? parameter)."""
    return "nid = (SELECT id FROM oplog_node WHERE node = ?)"


def table_where() -> str:
    """`tid = ...` for a query on oplog_store naming the table by its name (one ? parameter)."""
    return "tid = (SELECT id FROM oplog_table WHERE name = ?)"


def rowid_table(conn, schema: str = "main") -> str:
    """The table whose rowids number the ops: oplog_store, or the op log table of a file from before
    migration 17 (a backup taken before it, an older base): rowids are the same in both."""
    found = conn.execute(f"select 1 from {schema}.sqlite_master where name = '{STORE}'").fetchone()
    return STORE if found else "oplog"
