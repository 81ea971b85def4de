"""Opening a GridDesk database file: checks, pragmas, migrations, node identity, clock.

A Store owns one SQLite file. Nothing is written to a file that fails the checks: it is first
inspected through a separate read-only connection.
"""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import SqliteDatabase
from pysqlite3 import dbapi2 as sqlite3

from db import migrations
from db.clock import HybridClock
from db.errors import DatabaseOpenError
from db.ids import new_node_id
from db.models import database_proxy
from i18n import _

APPLICATION_ID = 0x47524444  # "GRDD"
SQLITE_MAGIC = b"SQLite format 3\x00"
PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "cache_size": -64_000,
    "synchronous": "normal",
    "busy_timeout": 10_000,
    "temp_store": "memory",
}


def inspect_file(path: Path, key: bytes | None = None) -> tuple[int, bool]:
    """Check that path is a GridDesk database this version can open, without writing to it.

    Returns (schema version, is_new). Raises DatabaseOpenError with a message for the user.
    key: the SQLCipher key of an encrypted file (db/accounts/cipher.py).
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0, True
    if path.is_dir():
        raise DatabaseOpenError(_("“{path}” is a folder, not a GridDesk database file.").format(path=path))
    with path.open("rb") as fh:
        head = fh.read(100)
    if key is None and not head.startswith(SQLITE_MAGIC):
        from db.accounts.cipher import key_for

        key = key_for(path)
        if key is None:
            raise DatabaseOpenError(
                _("“{path}” is not a GridDesk database: it is not an SQLite database file.").format(path=path))
    try:
        if key is not None and not head.startswith(SQLITE_MAGIC):
            from db.accounts.cipher import connect as cipher_connect

            try:
                conn = cipher_connect(f"file:{path}?mode=ro", key, uri=True)
            except Exception as exc:  # noqa: BLE001 - sqlcipher3's own DatabaseError class
                raise DatabaseOpenError(_(
                    "“{path}” cannot be opened with this key: the password does not match, or the "
                    "encrypted file is damaged. Restore it from a backup.").format(path=path)) from exc
        else:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = conn.execute("pragma application_id").fetchone()[0]
            version = conn.execute("pragma user_version").fetchone()[0]
            tables = conn.execute("select count(*) from sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except DatabaseOpenError:
        raise
    except _database_errors() as exc:
        raise DatabaseOpenError(
            _("“{path}” is damaged and cannot be opened ({error}). Restore it from a backup.").format(
                path=path, error=exc)) from exc
    if app_id != APPLICATION_ID:
        if app_id == 0 and tables == 0:
            return 0, True
        raise DatabaseOpenError(
            _("“{path}” is an SQLite database of another program, not a GridDesk database.").format(path=path))
    if version > migrations.SCHEMA_VERSION:
        raise DatabaseOpenError(
            _("“{path}” was written by a newer version of GridDesk (data version {found}, this version "
              "reads up to {supported}). Please update GridDesk.").format(
                path=path, found=version, supported=migrations.SCHEMA_VERSION))
    return version, False


def _database_errors() -> tuple[type[BaseException], ...]:
    from sqlcipher3 import dbapi2 as sqlcipher

    return (sqlite3.DatabaseError, sqlcipher.DatabaseError)


def file_fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_dev}|{st.st_ino}"


class Store:
    """One open GridDesk database: peewee database, node id, hybrid clock, current user."""

    def __init__(self, path: str | os.PathLike, *, user: str | None = None, create: bool = True,
                 key: bytes | None = None):
        from db.accounts import cipher

        self.path = Path(path)
        # An encrypted file (accounts exist): the key from login, or the one this process opened it with.
        self.key = cipher.prepare(self.path, key)
        self.session = None
        version, is_new = inspect_file(self.path, self.key)
        if is_new and not create:
            raise DatabaseOpenError(_("“{path}” does not exist.").format(path=self.path))
        if is_new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        premigrate = _backup_before_migration(self.path, version, is_new, self.key)
        self.user = user or default_user()
        if self.key is not None:
            self.db = cipher.CipherDatabase(str(self.path), key=self.key, pragmas=PRAGMAS, autoconnect=True)
        else:
            self.db = SqliteDatabase(str(self.path), pragmas=PRAGMAS, autoconnect=True)
        self.db.connect(reuse_if_open=True)
        # Derived local data follows the writes of this store through its own row hooks.
        self.row_hooks: dict[str, list] = {}
        self.bulk_contexts: list = []
        from db.register.index import install_hooks
        from db.volunteers.roster import install_hooks as install_volunteer_hooks

        install_hooks(self)
        install_volunteer_hooks(self)
        self.created = is_new
        self.closed = False
        self.node_rotated = False
        self._clock_lock = threading.Lock()
        with self.activated():
            try:
                applied = migrations.upgrade(self.db, APPLICATION_ID)
            except Exception as exc:
                self.db.close()
                if premigrate is None:
                    raise
                raise DatabaseOpenError(_(
                    "Updating “{path}” to this version of GridDesk failed ({error}). The file was left as it "
                    "was; a backup made just before is {backup}.").format(
                        path=self.path, error=exc, backup=premigrate)) from exc
            self._load_identity()
            if self.key is not None:
                from db.accounts.session import bind, process_session

                signed_in = process_session(self.path)  # griddesk --login (desktop/commands/login.py)
                if signed_in is not None:
                    bind(self, signed_in)
            if applied and not is_new:
                # Ops received from a newer app version were kept; now their columns exist.
                from db import oplog

                oplog.rematerialize_newer(self, version)
        self.activate()

    # -- identity -------------------------------------------------------------------------------
    def _load_identity(self) -> None:
        meta = self.meta_all()
        node = meta.get("node_id")
        fingerprint = file_fingerprint(self.path)
        if node is None:
            node = new_node_id()
            self.set_meta(node_id=node, fingerprint=fingerprint, op_counter="0")
        elif meta.get("fingerprint") != fingerprint:
            # A copied (or restored) file: another copy may keep writing under the old node id,
            # so this one takes a new id before it writes anything.
            node = self.rotate_node_id(fingerprint=fingerprint)
        self.node_id = node
        self.clock = HybridClock(node, meta.get("hlc"))

    def rotate_node_id(self, *, fingerprint: str | None = None) -> str:
        node = new_node_id()
        previous = self.meta_all().get("node_id")
        with self.db.atomic():
            self.set_meta(node_id=node, fingerprint=fingerprint or file_fingerprint(self.path),
                          op_counter="0", previous_node_ids=",".join(
                              x for x in [self.meta_all().get("previous_node_ids"), previous] if x))
        self.node_id = node
        if hasattr(self, "clock"):
            self.clock = HybridClock(node, self.clock.last.replace(self.clock.node, node))
        self.node_rotated = True
        return node

    def own_nodes(self) -> list[str]:
        """The node ids this file has written under: the current one and those it had before."""
        return [n for n in [self.node_id, *(self.get_meta("previous_node_ids") or "").split(",")] if n]

    # -- meta -------------------------------------------------------------------------------------
    def meta_all(self) -> dict[str, str]:
        return dict(self.db.execute_sql("select key, value from meta").fetchall())

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute_sql("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: str | None) -> None:
        for key, value in values.items():
            self.db.execute_sql("insert into meta(key, value) values(?, ?) "
                                "on conflict(key) do update set value = excluded.value", (key, value))

    # -- clock ------------------------------------------------------------------------------------
    def tick(self) -> str:
        with self._clock_lock:
            return self.clock.now()

    def tick_many(self, n: int) -> list[str]:
        with self._clock_lock:
            return self.clock.now_many(n)

    def observe(self, remote_hlc: str) -> bool:
        with self._clock_lock:
            return self.clock.observe(remote_hlc)

    # -- binding ----------------------------------------------------------------------------------
    def activate(self) -> None:
        """Make the models use this database (the app has one Store; tests may have several)."""
        database_proxy.initialize(self.db)

    @contextmanager
    def activated(self) -> Iterator[Store]:
        previous = database_proxy.obj
        database_proxy.initialize(self.db)
        try:
            yield self
        finally:
            # Put the previous database back only if nobody installed another one meanwhile (a
            # task of a store that was replaced, e.g. by a restore, must not bring the old one back).
            if previous is not None and database_proxy.obj is self.db:
                database_proxy.initialize(previous)

    def schema_version(self) -> int:
        return self.db.execute_sql("pragma user_version").fetchone()[0]

    def close(self) -> None:
        # A closed store is not read again (peewee would reconnect on first use and keep the
        # file open, e.g. a status bar refreshed while a restore replaces the file).
        self.closed = True
        if database_proxy.obj is self.db:
            database_proxy.obj = None
        self.db.close()


def _backup_before_migration(path: Path, version: int, is_new: bool, key: bytes | None = None) -> Path | None:
    """Nothing touches a file before a backup exists: a checked copy before a schema migration."""
    if is_new or version >= migrations.SCHEMA_VERSION:
        return None
    from db.backup_files import backup_before_migration

    return backup_before_migration(path, version, key)


def default_user() -> str:
    """The computer's login name: who works here when no name was given."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name on some systems
        return "user"
