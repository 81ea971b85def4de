"""The hub's storage: one interface, two backends (an SQLite file, or PostgreSQL via psycopg 3).

Both hold the same tables (see SCHEMA). Ops are stored exactly as received (the op's stored text,
as the device sent it), keyed by op id (node, counter), so a retried push stores nothing twice.
Writes are serialized: on SQLite one writer (a lock and BEGIN IMMEDIATE), on PostgreSQL a
transaction-level advisory lock taken first in every write transaction. Feed positions (`seq`)
are handed out inside that lock, so they commit in order: a reader that sees `committed_seq`
sees every feed row at or below it, and no row committed later can appear behind a cursor that
was already given out (the "safe checkpoint"; PostgreSQL sequences would commit out of order).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

OP_COLUMNS = ("node", "counter", "tbl", "row_id", "fields", "supersedes", "hlc", "usr", "schema", "kind")

# Portable DDL: {big} is BIGINT on both, {text} TEXT; the placeholders differ per backend.
SCHEMA = [
    "create table if not exists hub_meta (key text primary key, value text)",
    """create table if not exists hub_op (
        node text not null, counter bigint not null, tbl text not null, row_id text not null,
        fields text not null, supersedes text not null, hlc text not null, usr text, schema integer not null,
        kind text not null, device text, received_at bigint not null, primary key (node, counter))""",
    "create index if not exists hub_op_row on hub_op (tbl, row_id)",
    """create table if not exists hub_fault (node text not null, counter bigint not null, content text not null,
        device text, at bigint not null)""",
    "create table if not exists hub_node (node text primary key, top bigint not null)",
    """create table if not exists hub_row (tbl text not null, row_id text not null, g text, h text, p text,
        home text not null default '', scope text not null default '', ever text not null default '',
        conflicts integer not null default 0, primary key (tbl, row_id))""",
    "create index if not exists hub_row_h on hub_row (h)",
    "create index if not exists hub_row_p on hub_row (p)",
    """create table if not exists hub_feed (seq bigint primary key, grid text not null, kind text not null,
        tbl text not null, row_id text not null, node text, counter bigint)""",
    "create index if not exists hub_feed_grid on hub_feed (grid, seq)",
    """create table if not exists hub_device (device_id text primary key, name text, sign_public text not null,
        box_public text, node text, grids text not null, enrolled_at bigint not null, last_seen bigint,
        revoked_at bigint, pushed bigint not null default 0, pulled bigint not null default 0,
        cursor bigint not null default 0)""",
    """create table if not exists hub_code (code_id text primary key, secret_hash text not null,
        grids text not null, name text, created_at bigint not null, expires_at bigint not null,
        tries integer not null default 0, used_at bigint, used_by text)""",
    # Origin proofs (db/sync/chains.py): the heads devices signed, kept and passed on with the ops.
    """create table if not exists hub_head (node text not null, counter bigint not null, digest text not null,
        device text not null, sign_public text not null, signature text not null, primary key (node, counter))""",
    # What the hub could not prove or found odd in a device's history (db/sync/chains.py): holes
    # (ops of the device pushed past counters the hub does not hold) and forks (two histories).
    """create table if not exists hub_chain_note (node text not null, first bigint not null, last bigint not null,
        kind text not null, device text, relay text, at bigint not null, primary key (node, first, kind))""",
    # Vouchers for the keys of devices the hub did not enrol (db/sync/chains.py), given by enrolled ones.
    """create table if not exists hub_voucher (device_id text not null, by text not null, sign_public text not null,
        name text, signature text not null, primary key (device_id, by))""",
    """create table if not exists hub_review (device_id text, tbl text not null, row_id text not null,
        node text not null, counter bigint not null, at bigint not null, reason text)""",
]

META_DEFAULTS = ("epoch", "committed_seq", "hub_id")
_PARTIAL = ("create index if not exists hub_row_h ", "create index if not exists hub_row_p ")


class Storage:
    """What the hub service needs from a database; SQL is shared, the dialect hooks differ."""

    url: str
    kind: str

    # -- connections ------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    @contextmanager
    def read(self) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- dialect ----------------------------------------------------------------------------------
    def q(self, sql: str) -> str:
        return sql

    def ddl(self, sql: str) -> str:
        # Row states without a parent link (households, persons: most rows) stay out of the link
        # indexes (one b-tree insert less for each of them on every push); the lookups by link
        # (`h in (...)`, `h = any(...)`) imply not null, so both backends still use them.
        if sql.startswith(_PARTIAL):
            sql += f" where {sql.rstrip(')').rsplit('(', 1)[1]} is not null"
        return sql

    def index_sql(self, conn, name: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def in_clause(self, column: str, values: Sequence) -> Iterator[tuple[str, list]]:
        """(sql, params) parts testing `column` against values, chunked as the backend needs."""
        values = list(values)
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            yield f"{column} in ({','.join('?' * len(chunk))})", chunk

    def bulk_insert(self, conn, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if rows:
            marks = ",".join("?" * len(columns))
            conn.cursor().executemany(self.q(f"insert into {table} ({','.join(columns)}) values ({marks})"), rows)

    def bulk_upsert(self, conn, table: str, columns: Sequence[str], key: Sequence[str], rows: list[tuple]) -> None:
        if rows:
            conn.cursor().executemany(self.upsert_sql(table, columns, key), rows)

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        sets = ",".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        return self.q(f"insert into {table} ({','.join(columns)}) values ({','.join('?' * len(columns))}) "
                      f"on conflict ({','.join(key)}) do update set {sets}")

    # -- helpers shared by both -------------------------------------------------------------------
    def execute(self, conn, sql: str, params: Sequence = ()) -> Any:
        cur = conn.cursor()
        cur.execute(self.q(sql), tuple(params))
        return cur

    def fetchall(self, conn, sql: str, params: Sequence = ()) -> list[tuple]:
        return [tuple(r) for r in self.execute(conn, sql, params).fetchall()]

    def fetchone(self, conn, sql: str, params: Sequence = ()) -> tuple | None:
        row = self.execute(conn, sql, params).fetchone()
        return tuple(row) if row is not None else None

    def meta(self, conn) -> dict[str, str]:
        return dict(self.fetchall(conn, "select key, value from hub_meta"))

    def set_meta(self, conn, **values: Any) -> None:
        sql = self.upsert_sql("hub_meta", ("key", "value"), ("key",))
        conn.cursor().executemany(sql, [(k, None if v is None else str(v)) for k, v in values.items()])

    def select_in(self, conn, sql: str, column: str, values: Iterable, params: Sequence = ()) -> list[tuple]:
        """sql has one {in} placeholder: rows for all values (chunked)."""
        out: list[tuple] = []
        values = list(values)
        if not values:
            return out
        for clause, chunk in self.in_clause(column, values):
            out.extend(self.fetchall(conn, sql.format(**{"in": clause}), (*params, *chunk)))
        return out

    def columns(self, conn, table: str) -> set[str]:
        return {r[0] for r in self.fetchall(
            conn, "select column_name from information_schema.columns where table_name = ?", (table,))}

    def init_schema(self) -> None:
        with self.write() as conn:
            for ddl in SCHEMA:
                if ddl.startswith(_PARTIAL):
                    # A hub made when the link indexes held every row: made again, partial.
                    name = ddl.split()[5]
                    current = self.index_sql(conn, name)
                    if current is not None and " where " not in current.lower():
                        self.execute(conn, f"drop index {name}")
                self.execute(conn, self.ddl(ddl))
            # A hub made before origin proofs: each op's prev chain digest (hex; NULL: from before chains).
            if "prev" not in self.columns(conn, "hub_op"):
                self.execute(conn, "alter table hub_op add column prev text")
            meta = self.meta(conn)
            if "hub_id" not in meta:
                self.set_meta(conn, hub_id=secrets.token_hex(8), epoch=secrets.token_hex(8), committed_seq=0)
            elif meta.get("restored"):
                # A copy made by `griddesk-hub backup` and put back: it holds less than the devices were
                # told; a new epoch makes them push again what it lacks and read their scope again.
                self.set_meta(conn, epoch=secrets.token_hex(8), restored=None)
                self.execute(conn, "delete from hub_meta where key = 'restored'")


# -- SQLite ---------------------------------------------------------------------------------------

class SqliteStorage(Storage):
    kind = "sqlite"

    def ddl(self, sql: str) -> str:
        # The feed's position as the table's rowid: one b-tree less to write per feed entry. (Ops and
        # row states "without rowid" cost more: their rows are wide.)
        return super().ddl(sql.replace("seq bigint primary key", "seq integer primary key"))

    def index_sql(self, conn, name: str) -> str | None:
        row = self.fetchone(conn, "select sql from sqlite_master where type = 'index' and name = ?", (name,))
        return row[0] if row else None

    def in_clause(self, column: str, values: Sequence) -> Iterator[tuple[str, list]]:
        """Long lists as one JSON text parameter (json_each): one statement, not one per 500 values."""
        values = list(values)
        if len(values) <= 50:
            yield from super().in_clause(column, values)
            return
        import orjson

        for start in range(0, len(values), 50_000):
            yield f"{column} in (select value from json_each(?))", [orjson.dumps(values[start:start + 50_000]).decode()]

    def __init__(self, path: str | Path, *, init: bool = True):
        from pysqlite3 import dbapi2 as sqlite3

        self._sqlite3 = sqlite3
        self.path = Path(path)
        self.url = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._connect()
        # WAL checkpoints (copying the log into the file, and its fsync) run beside the writer, not
        # inside a push's commit; the commit itself stays durable (the log is synced).
        self._writer.execute("pragma wal_autocheckpoint = 0")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list = [self._writer]
        self._checkpoint_due = threading.Event()
        self._closing = False
        if init:
            self.init_schema()
        self._checkpointer = threading.Thread(target=self._checkpoints, daemon=True, name="hub-checkpoint")
        self._checkpointer.start()

    def _checkpoints(self) -> None:
        conn = self._connect()
        try:
            while not self._closing:
                if not self._checkpoint_due.wait(30):
                    continue  # nothing written
                self._checkpoint_due.clear()
                if self._closing:
                    break
                try:
                    conn.execute("pragma wal_checkpoint(passive)")
                except self._sqlite3.Error:
                    pass  # busy: the next one
                time.sleep(0.2)
        finally:
            conn.close()

    def columns(self, conn, table: str) -> set[str]:
        return {r[1] for r in self.fetchall(conn, f'pragma table_info("{table}")')}

    def _connect(self):
        conn = self._sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("pragma journal_mode = wal")
        # FULL: a commit is on disk before the push is acknowledged (a power cut loses nothing acknowledged).
        conn.execute("pragma synchronous = full")
        conn.execute("pragma busy_timeout = 30000")
        conn.execute("pragma cache_size = -64000")
        return conn

    @contextmanager
    def write(self):
        with self._write_lock:
            conn = self._writer
            conn.execute("begin immediate")
            try:
                yield conn
            except BaseException:
                conn.execute("rollback")
                raise
            conn.execute("commit")
        self._checkpoint_due.set()

    @contextmanager
    def read(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._all.append(conn)
        conn.execute("begin")  # one snapshot for the whole read (checkpoint and rows agree)
        try:
            yield conn
        finally:
            conn.execute("rollback")

    def close(self) -> None:
        self._closing = True
        self._checkpoint_due.set()
        if self._checkpointer.is_alive() and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(10)
        for conn in self._all:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a connection of a finished thread
                pass
        self._all = []

    def backup_to(self, target: Path) -> None:
        dest = self._sqlite3.connect(str(target))
        try:
            with self._write_lock:
                self._writer.backup(dest)
        finally:
            dest.close()


# -- PostgreSQL -----------------------------------------------------------------------------------

_SEP = "\x1f"
_LOCK_KEY = 0x47524448  # "GRDH": the advisory lock that serializes the hub's write transactions


class PostgresStorage(Storage):
    kind = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8):
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        self.url = url

        def check(conn) -> None:
            # A connection broken by a server restart is replaced, not handed out: checked on every
            # request (a round trip; skipping it for a connection that answered a moment ago handed
            # out dead connections right after a quick restart).
            ConnectionPool.check_connection(conn)

        self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True,
                                   kwargs={"autocommit": False}, timeout=30, check=check)
        self.init_schema()

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def index_sql(self, conn, name: str) -> str | None:
        row = self.fetchone(conn, "select indexdef from pg_indexes where indexname = ?", (name,))
        return row[0] if row else None

    def in_clause(self, column: str, values: Sequence) -> Iterator[tuple[str, list]]:
        values = list(values)
        for start in range(0, len(values), 20_000):
            chunk = values[start:start + 20_000]
            # One text parameter split by the server: psycopg dumps a list parameter element by element
            # in Python (half a push's time went there); ids and counters hold no unit separator.
            if all(type(v) is int for v in chunk):
                yield f"{column} = any(string_to_array(?, ',')::bigint[])", [",".join(map(str, chunk))]
            elif all(type(v) is str and v and _SEP not in v for v in chunk):
                yield f"{column} = any(string_to_array(?, ?))", [_SEP.join(chunk), _SEP]
            else:
                yield f"{column} = any(?)", [chunk]

    def bulk_insert(self, conn, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        with conn.cursor() as cur, cur.copy(f"copy {table} ({','.join(columns)}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    def bulk_upsert(self, conn, table: str, columns: Sequence[str], key: Sequence[str], rows: list[tuple]) -> None:
        """COPY into a scratch table and one insert ... on conflict: executemany is a round trip a row."""
        if len(rows) < 50:
            return super().bulk_upsert(conn, table, columns, key, rows)
        scratch = f"scratch_{table}"
        cols = ",".join(columns)
        sets = ",".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        conn.execute(f"create temporary table if not exists {scratch} (like {table} including defaults) "
                     "on commit delete rows")
        self.bulk_insert(conn, scratch, columns, rows)
        conn.execute(f"insert into {table} ({cols}) select {cols} from {scratch} "
                     f"on conflict ({','.join(key)}) do update set {sets}")
        conn.execute(f"truncate {scratch}")

    @contextmanager
    def write(self):
        with self.pool.connection() as conn:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                yield conn

    @contextmanager
    def read(self):
        with self.pool.connection() as conn:
            conn.isolation_level = self._psycopg.IsolationLevel.REPEATABLE_READ
            try:
                with conn.transaction():
                    yield conn
            finally:
                conn.isolation_level = None

    def close(self) -> None:
        self.pool.close()


def open_storage(url: str | Path) -> Storage:
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    return SqliteStorage(Path(text))
