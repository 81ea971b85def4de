"""Incremental backups: the ops appended since a full backup, plus this machine's own tables.

The op log is append-only and is the truth of every synced table, so a database equals
"a full backup of it + the ops appended since + the local tables that are not derived from the
log". An incremental backup is a small SQLite database (application id GRDI), built in memory and
stored like a full backup, compressed and encrypted (db/backup_container.py; its manifest is in
the file's header too), in the same backups folder as its base. (Older versions wrote it as an
SQLite file, plain or SQLCipher: still read.) Its tables:

- ``backup_manifest`` (key, value): format, base file name and the base's last op, the snapshot's
  node id, last op, row counts of the synced tables, the copied tables, and a SHA-256 digest of
  everything else in the file (a damaged file is refused before anything is changed);
- ``oplog_delta``: the op log rows after the base's last op, with their rowids;
- one table per local table that is not derived (meta, undo stack, device keys, trusted devices,
  acknowledgements, exchange history, ledger mappings/templates/batches, and any local table added
  later: everything that is neither synced, nor the op log, nor in ``DERIVED_TABLES``, nor a
  virtual table or its shadow tables — full-text indexes, derived by the row hooks).

Restoring copies the base, appends the delta to its op log, re-materialises the rows the delta
touches (db.oplog.materialize: the same merge that made them; its row hooks refresh the search
index and the conflict queue), replaces the local tables, and checks the result against the
manifest. The base is valid only while the database keeps its node id: a restore or a detected
copy takes a new node id, and the next backup before an import is a full one again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from db import backup_container as bc
from db import migrations, opstore
from db.accounts.cipher import DB_ERRORS, attach_key, open_file
from db.accounts.cipher import application_id as cipher_application_id
from db.errors import DatabaseOpenError
from db.opstore import rowid_table
from i18n import _

FORMAT = 1
APPLICATION_ID = 0x47524449  # "GRDI": an incremental backup, not a database
# Local tables rebuilt from the synced tables or the op log: never copied.
# The op log (db/opstore.py): its ops go as a delta, its name tables follow them.
OPLOG_TABLES = frozenset({"oplog", opstore.STORE, "oplog_node", "oplog_table"})
DERIVED_TABLES = frozenset({"conflict", "register_search", "register_short", "register_fts", "register_chars"})
# Above this many ops since the newest full backup, a full copy is made instead. Measured on the
# 50,000-household demo (2-core laptop): an incremental backup costs ~7 us and ~240 bytes per op
# (0.03 s / 0.3 MB for 1,000 ops, 0.36 s / 12 MB for 50,000), a full copy 1.8-3.3 s / 800 MB;
# restoring an incremental copies the base (~1.5 s) and merges the delta with its search-index
# refresh (~0.3 ms per op: 15-24 s for 50,000 ops). 20,000 keeps a restore within ~10 s, and
# a database that received 20,000 ops since its last full copy gets a new full copy (the base of
# the next incrementals) once, which an import that large hardly notices.
MAX_DELTA_OPS = 20_000
_SQLITE_MAGIC = b"SQLite format 3\x00"


class NotApplicable(Exception):
    """No incremental backup possible now (no base, other node, delta too large): make a full one."""


@dataclass
class Base:
    path: Path
    node: str
    rowid: int  # rowid of its last op (0: empty log)
    op: str  # "node|counter|hlc" of that op ('' when none)


@dataclass
class Manifest:
    path: Path
    values: dict[str, str]
    tables: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def base_name(self) -> str:
        return self.values["base"]

    @property
    def base_path(self) -> Path:
        return self.path.parent / self.base_name

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def _uri(path: Path, mode: str = "ro") -> str:
    """A URI for sqlite3.connect(uri=True). A backup is never written once made: "ro" opens it
    immutable, so reading it leaves no -wal/-shm files next to it (full backups keep the WAL flag
    of the database they copy)."""
    uri = f"{Path(path).resolve().as_uri()}?mode={mode}"
    return uri + "&immutable=1" if mode == "ro" else uri


def is_incremental_file(path: Path) -> bool:
    """Whether the file is an incremental backup (its header says so; for an older version's
    SQLite file: its application id)."""
    if bc.is_container(path):
        header = bc.read_header(path)
        return header is not None and header.info.get("kind") == "incremental"
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(100)
    except OSError:
        return False
    if len(head) == 100 and not head.startswith(_SQLITE_MAGIC):
        return cipher_application_id(path) == APPLICATION_ID  # an encrypted database's backup
    return len(head) == 100 and head.startswith(_SQLITE_MAGIC) and int.from_bytes(head[68:72], "big") == APPLICATION_ID


def _op_key(row) -> str:
    return f"{row[0]}|{row[1]}|{row[2]}" if row else ""


def _last_op(conn, schema: str = "main") -> tuple[int, str]:
    row = conn.execute(f"select rowid, node, counter, hlc from {schema}.oplog "
                       f"where rowid = (select max(rowid) from {schema}.{rowid_table(conn, schema)})").fetchone()
    return (row[0], _op_key(row[1:])) if row else (0, "")


def _op_at(conn, rowid: int, schema: str = "main") -> str:
    if rowid == 0:
        return ""
    row = conn.execute(f"select node, counter, hlc from {schema}.oplog where rowid = ?", (rowid,)).fetchone()
    return _op_key(row) if row else "?"


def ops_since(conn, base: Base) -> int | None:
    """Ops of the open database (conn) written after `base`; None when its log is not a prefix of ours."""
    if _op_at(conn, base.rowid) != base.op:
        return None
    return conn.execute(f"select count(*) from {rowid_table(conn)} where rowid > ?", (base.rowid,)).fetchone()[0]


def read_base(path: Path) -> Base | None:
    """The node id and last op of a full backup (None when it cannot be read)."""
    if bc.is_container(path):
        header = bc.read_header(path)
        if header is None or header.info.get("kind") != "full" or not header.info.get("node_id"):
            return None
        info = header.info
        return Base(Path(path), info["node_id"], int(info.get("last_rowid", 0)), info.get("last_op", ""))
    try:
        conn = open_file(path, _uri(path))
        try:
            node = conn.execute("select value from meta where key = 'node_id'").fetchone()
            rowid, op = _last_op(conn)
        finally:
            conn.close()
    except DB_ERRORS:
        return None
    return Base(Path(path), node[0] if node else "", rowid, op) if node else None


def _tables(conn, schema: str) -> dict[str, str]:
    return {name: sql or "" for name, sql in conn.execute(
        f"select name, sql from {schema}.sqlite_master where type = 'table'")}


def _columns(conn, schema: str, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'pragma {schema}.table_info("{table}")')]


def copied_tables(conn, schema: str = "main") -> list[str]:
    """Local tables that are neither synced, nor the op log, nor derived: copied in full."""
    from db.models import SYNCED_MODELS

    synced = {m._meta.table_name for m in SYNCED_MODELS}
    tables = _tables(conn, schema)
    virtual = [name for name, sql in tables.items() if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    out = []
    for name in sorted(tables):
        if name.startswith("sqlite_") or name in synced or name in OPLOG_TABLES or name in DERIVED_TABLES:
            continue
        if name in virtual or any(name.startswith(v + "_") for v in virtual):
            continue  # a virtual table and its shadow tables (derived, e.g. full-text search)
        out.append(name)
    return out


def _digest(conn, schema: str = "main") -> str:
    """SHA-256 of every table in the incremental file except the digest itself, in a fixed order."""
    h = hashlib.sha256()
    for name in sorted(_tables(conn, schema)):
        h.update(f"\x00table {name}\x00".encode())
        where = " where key != 'digest'" if name == "backup_manifest" else ""
        for row in conn.execute(f'select * from {schema}."{name}"{where} order by rowid'):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _scratch(encrypted: bool):
    """An in-memory database (the incremental backup is at most MAX_DELTA_OPS ops and this
    machine's local tables), from the SQLite library that can ATTACH the database."""
    from db.accounts import cipher

    module = cipher.sqlcipher if encrypted else cipher._plain_module()
    conn = module.connect(":memory:", isolation_level=None)
    if encrypted:
        cipher.quiet(conn)
    return conn


def scratch_incremental(store, base: Base, *, reason: str, now: dt.datetime, max_ops: int = MAX_DELTA_OPS):
    """The incremental backup of the open database against `base`, as an in-memory database
    (raises NotApplicable). Returns (connection, manifest values); the caller closes it."""
    from db.models import SYNCED_MODELS

    key_sql, key_param = attach_key(store.path)
    conn = _scratch(bool(key_param))
    ok = False
    try:
        conn.execute(f"pragma application_id = {APPLICATION_ID}")
        conn.execute("attach database ? as src" + key_sql, (f"{store.path.resolve().as_uri()}?mode=ro", *key_param))
        conn.execute("begin")  # one read snapshot of the source for everything below
        node = conn.execute("select value from src.meta where key = 'node_id'").fetchone()
        if not node or node[0] != base.node:
            raise NotApplicable("node")
        if _op_at(conn, base.rowid, "src") != base.op:
            raise NotApplicable("not a prefix")
        last_rowid, last_op = _last_op(conn, "src")
        delta = conn.execute(f"select count(*) from src.{rowid_table(conn, 'src')} where rowid > ?",
                             (base.rowid,)).fetchone()[0]
        if delta > max_ops:
            raise NotApplicable("delta")
        # Every column of the op log as it is (a later version may add some), in its logical form
        # (db/opstore.py: the view's own rowid and stored row id are not columns of an op).
        op_cols = ",".join(f'"{c}"' for c in _columns(conn, "src", "oplog") if c not in ("rowid", "rid"))
        conn.execute(f"create table main.oplog_delta as select rowid as rid, {op_cols} "
                     "from src.oplog where rowid > ? order by rowid", (base.rowid,))
        tables = copied_tables(conn, "src")
        for name in tables:
            conn.execute(f'create table main."{name}" as select * from src."{name}"')
        counts = {m._meta.table_name: conn.execute(f'select count(*) from src."{m._meta.table_name}"').fetchone()[0]
                  for m in SYNCED_MODELS}
        schema = conn.execute("pragma src.user_version").fetchone()[0]
        values = {
            "format": str(FORMAT), "kind": "incremental", "reason": reason, "created": now.isoformat(),
            "base": base.path.name, "base_node": base.node, "base_rowid": str(base.rowid), "base_op": base.op,
            "node_id": node[0], "last_rowid": str(last_rowid), "last_op": last_op, "delta_ops": str(delta),
            "schema": str(schema), "tables": orjson.dumps(tables).decode(),
            "counts": orjson.dumps(counts).decode(),
        }
        conn.execute("create table main.backup_manifest (key text primary key, value text)")
        conn.executemany("insert into main.backup_manifest values (?, ?)", values.items())
        digest = _digest(conn)
        conn.execute("insert into main.backup_manifest values ('digest', ?)", (digest,))
        conn.execute("commit")
        conn.execute("detach database src")
        ok = True
    finally:
        if not ok:
            conn.close()
    return conn, {**values, "digest": digest}


def write_incremental(store, base: Base, target: Path, *, reason: str, now: dt.datetime,
                      max_ops: int = MAX_DELTA_OPS) -> Path:
    """Write an incremental backup of the open database against `base` (raises NotApplicable)."""
    from db.backup_files import _finish

    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    conn, values = scratch_incremental(store, base, reason=reason, now=now, max_ops=max_ops)
    ok = False
    try:
        conn.execute("begin")
        info = {"kind": "incremental", "reason": reason, "schema": int(values["schema"]), "manifest": values}
        bc.write_file(tmp, info, bc.dump(conn), db_path=store.path)
        conn.execute("commit")
        # It counts as a backup only once it reads back whole and matches (then synced, renamed).
        read_manifest(tmp, db_path=store.path)
        ok = True
    finally:
        conn.close()
        if not ok:
            tmp.unlink(missing_ok=True)
    return _finish(tmp, target)


def _damaged(path: Path, error: object) -> DatabaseOpenError:
    return DatabaseOpenError(
        _("The incremental backup “{path}” is damaged or incomplete ({error}). Nothing was changed; "
          "choose another backup.").format(path=Path(path).name, error=error))


def read_manifest(path: Path, *, verify: bool = True, db_path: Path | None = None) -> Manifest:
    """An incremental backup's manifest; with verify, the file is read whole (decrypted, its
    structure and digest checked). db_path: the database it is restored into (for its key)."""
    path = Path(path)
    if not is_incremental_file(path):
        raise _damaged(path, _("not an incremental backup file"))
    if bc.is_container(path):
        if verify:
            conn = load_scratch(path, db_path=db_path)
            try:
                values = _verified_values(conn, path)
            finally:
                conn.close()
        else:
            values = dict(bc.read_header(path).info.get("manifest") or {})
    else:
        try:
            conn = open_file(path, _uri(path))
            try:
                if verify:
                    problems = [r[0] for r in conn.execute("pragma quick_check")]
                    if problems != ["ok"]:
                        raise _damaged(path, problems[0])
                    values = _verified_values(conn, path)
                else:
                    values = dict(conn.execute("select key, value from backup_manifest"))
            finally:
                conn.close()
        except DB_ERRORS as exc:
            raise _damaged(path, exc) from exc
    try:
        fmt = int(values.get("format", "0"))
        tables = list(orjson.loads(values["tables"]))
        counts = dict(orjson.loads(values["counts"]))
        schema = int(values["schema"])
        int(values["base_rowid"]), int(values["last_rowid"]), values["base"]
    except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise _damaged(path, exc) from exc
    if fmt > FORMAT or schema > migrations.SCHEMA_VERSION:
        raise DatabaseOpenError(
            _("The backup “{path}” was made by a newer version of GridDesk. Please update GridDesk.").format(
                path=path))
    return Manifest(path, values, tables, counts)


def _verified_values(conn, path: Path, schema: str = "main") -> dict:
    try:
        values = dict(conn.execute(f"select key, value from {schema}.backup_manifest"))
        if values.get("digest") != _digest(conn, schema):
            raise _damaged(path, _("its content does not match its checksum"))
    except DB_ERRORS as exc:
        raise _damaged(path, exc) from exc
    return values


def load_into(conn, path: Path, *, schema: str, db_path: Path | None) -> None:
    """Read an incremental backup file (this version's) into the empty database `schema` of conn."""
    try:
        bc.load(conn, bc.read_records(path, db_path=db_path), schema=schema, untyped=True)
    except bc.Damaged as exc:
        raise _damaged(path, exc.reason) from exc
    except (ValueError, *DB_ERRORS) as exc:
        raise _damaged(path, exc) from exc


def load_scratch(path: Path, *, db_path: Path | None):
    """An in-memory database holding an incremental backup (this version's file)."""
    conn = _scratch(False)
    try:
        load_into(conn, path, schema="main", db_path=db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def check_base(manifest: Manifest) -> Path:
    """The base full backup an incremental needs: present and the very one it was made on."""
    base = manifest.base_path
    if not base.is_file():
        raise DatabaseOpenError(
            _("The incremental backup “{path}” needs the full backup “{base}”, which no longer exists. "
              "Nothing was changed; choose a full backup or a newer one.").format(
                path=manifest.path.name, base=manifest.base_name))
    found = read_base(base)
    if found is None or found.node != manifest.get("base_node") or found.op != manifest.get("base_op") \
            or found.rowid != int(manifest.get("base_rowid")):
        raise DatabaseOpenError(
            _("The full backup “{base}” is not the one the incremental backup “{path}” was made on "
              "(it was replaced or damaged). Nothing was changed.").format(
                path=manifest.path.name, base=manifest.base_name))
    return base


def _mismatch(manifest: Manifest, what: str) -> DatabaseOpenError:
    return DatabaseOpenError(
        _("Restoring the incremental backup “{path}” did not give the saved state ({what}). "
          "Nothing was changed.").format(path=manifest.path.name, what=what))


def build(target: Path, manifest: Manifest, *, user: str | None = None, db_path: Path | None = None,
          key: bytes | None = None) -> None:
    """Write the database as it was at the incremental backup into `target` (a new file).

    The base is copied, the delta ops are appended to its op log and merged (rows, conflicts and
    the search index follow through db.oplog), the local tables are replaced by the saved ones,
    and the result is checked against the manifest. Raises DatabaseOpenError on any mismatch.
    """
    from db import oplog
    from db.backup_files import materialize
    from db.models import database_proxy, synced_model
    from db.store import Store, inspect_file

    base = check_base(manifest)
    materialize(base, target, db_path=db_path or target, key=key)
    inspect_file(target, key)  # (the copy, not the base: reading a WAL-mode file leaves -shm next to it)
    previous = database_proxy.obj
    if key is not None:
        from db.accounts import cipher

        cipher.remember_key(target, key)
    store = Store(target, user=user, key=key, create=False)
    try:
        db = store.db
        base_index = store.get_meta("register_index")
        if bc.is_container(manifest.path):
            db.execute_sql("attach database ':memory:' as inc" + (" key ''" if key is not None else ""))
            load_into(db.connection(), manifest.path, schema="inc", db_path=db_path)
        else:
            key_sql, key_param = attach_key(manifest.path)
            db.execute_sql("attach database ? as inc" + key_sql, (str(manifest.path.resolve()), *key_param))
        try:
            with db.atomic():
                conn = db.connection()
                if _last_op(conn) != (int(manifest.get("base_rowid")), manifest.get("base_op")):
                    raise _mismatch(manifest, _("the base's op log"))
                saved = set(_columns(conn, "inc", "oplog_delta"))
                # Into the stored form (db/opstore.py), in bounded batches.
                op_cols = ",".join(f'"{c}"' if c in saved else "NULL" for c in opstore.COLUMNS)
                delta = conn.execute(f"select rid, {op_cols} from inc.oplog_delta order by rid")
                while batch := delta.fetchmany(5_000):
                    opstore.insert_rows(db, batch, with_rowid=True)
                if "oplog_keys" in manifest.tables:
                    # The column lists of packed ops (db/opfields.py), before the merge reads them.
                    conn.execute("insert or ignore into main.oplog_keys (id, names) select id, names from inc.oplog_keys")
                touched: dict[str, list[str]] = defaultdict(list)
                for tbl, row_id in conn.execute("select distinct tbl, row_id from inc.oplog_delta order by tbl, row_id"):
                    touched[tbl].append(row_id)
                with oplog.deferred_hooks(store):
                    for tbl, row_ids in touched.items():
                        model = synced_model(tbl)
                        if model is not None:  # ops of a newer schema stay in the log, as they did
                            oplog.materialize(store, model, row_ids)
                here = _tables(conn, "main")
                for name in manifest.tables:
                    if name not in here:
                        continue  # (cannot happen with a schema up to ours; kept for safety)
                    theirs = set(_columns(conn, "inc", name))
                    cols = ",".join(f'"{c}"' for c in _columns(conn, "main", name) if c in theirs)
                    conn.execute(f'delete from main."{name}"')
                    conn.execute(f'insert into main."{name}" ({cols}) select {cols} from inc."{name}"')
                # The search index was refreshed for the delta on top of the base's index: it is
                # complete only when the base's index was in the state the saved database said.
                if store.get_meta("register_index") != base_index:
                    store.set_meta(register_index="stale")
                if _last_op(conn) != (int(manifest.get("last_rowid")), manifest.get("last_op")):
                    raise _mismatch(manifest, _("the op log"))
                for table, count in manifest.counts.items():
                    if table in here and conn.execute(f'select count(*) from main."{table}"').fetchone()[0] != count:
                        raise _mismatch(manifest, table)
        finally:
            db.execute_sql("detach database inc")
        db.execute_sql("pragma wal_checkpoint(truncate)")
    finally:
        store.close()
        if previous is not None:
            database_proxy.initialize(previous)
