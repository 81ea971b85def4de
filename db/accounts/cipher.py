"""SQLCipher files: opening with the raw database key, encrypting a plain database, the key registry.

The database key is 32 random bytes given to SQLCipher as a raw key (x'…'), so opening costs no
key derivation (the password's argon2id derivation happens once, at login: keyfile.py). SQLCipher
encrypts every page of the file and of its WAL; the search index and every derived table are
tables of the same file. temp_store=memory (db/store.py) keeps sorts and temporary tables off disk.

Opened keys are remembered for the process by database path, so code that opens the same file
again (a restore, a backup of it, the writer thread) needs no key passed around.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from peewee import SqliteDatabase
from sqlcipher3 import dbapi2 as sqlcipher

from db.errors import DatabaseOpenError
from i18n import _

SQLITE_MAGIC = b"SQLite format 3\x00"
_keys: dict[str, bytes] = {}
_lock = threading.Lock()
_TMP_SUFFIXES = (".restoring", ".encrypting", ".part")


def key_pragma(key: bytes) -> str:
    return f"pragma key = \"x'{key.hex()}'\""


def quiet(conn) -> None:
    """No SQLCipher log lines on stderr (a wrong key is reported to the user instead)."""
    conn.execute("pragma cipher_log_level = NONE")


def is_encrypted_file(path: Path) -> bool:
    """A non-empty file that does not start with SQLite's plain header (SQLCipher's starts random)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as fh:
            return not fh.read(16).startswith(SQLITE_MAGIC)
    except OSError:
        return False


def _norm(path: Path) -> str:
    return str(Path(path).resolve())


def remember_key(db_path: Path, key: bytes) -> None:
    with _lock:
        _keys[_norm(db_path)] = key


def forget_key(db_path: Path) -> None:
    with _lock:
        _keys.pop(_norm(db_path), None)


def key_for(path: Path) -> bytes | None:
    """The key of an opened database for path: the database itself, its temporary copies
    (name.restoring, …) and its backups (backups/<stem>/…) share the database's key."""
    path = Path(path)
    norm = _norm(path)
    with _lock:
        if norm in _keys:
            return _keys[norm]
        for suffix in _TMP_SUFFIXES:
            if norm.endswith(suffix) and norm[: -len(suffix)] in _keys:
                return _keys[norm[: -len(suffix)]]
        for db, key in _keys.items():
            p = Path(db)
            if path.resolve().parent == p.parent / "backups" / p.stem:
                return key
    return None


def connect(path: Path | str, key: bytes, *, uri: bool = False, **kwargs):
    """An sqlcipher3 connection to an encrypted file (raises DatabaseError on a wrong key)."""
    conn = sqlcipher.connect(str(path), uri=uri, **kwargs)
    try:
        quiet(conn)
        conn.execute(key_pragma(key))
        conn.execute("select count(*) from sqlite_master").fetchone()
    except Exception:
        conn.close()
        raise
    return conn


class CipherDatabase(SqliteDatabase):
    """peewee's SqliteDatabase over sqlcipher3: every new connection (one per thread) is keyed."""

    def __init__(self, database, *, key: bytes, **kwargs):
        self._cipher_key = key
        super().__init__(database, **kwargs)

    def _connect(self):
        conn = sqlcipher.connect(self.database, timeout=self._timeout, isolation_level=None,
                                 **self.connect_params)
        try:
            quiet(conn)
            conn.execute(key_pragma(self._cipher_key))
            self._add_conn_hooks(conn)
        except Exception:
            conn.close()
            raise
        return conn


def backup_target(source_conn, path: Path):
    """A connection to write a backup of source_conn into: keyed like the source when it is an
    SQLCipher connection (the backup is then encrypted with the database's key)."""
    if isinstance(source_conn, sqlcipher.Connection):
        key = key_for(path)
        if key is None:
            raise RuntimeError("no key for an encrypted backup")
        conn = sqlcipher.connect(str(path))
        conn.execute(key_pragma(key))
        return conn
    from pysqlite3 import dbapi2 as sqlite3

    return sqlite3.connect(str(path))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encrypt_copy(plain: Path, target: Path, key: bytes, progress=None) -> None:
    """Write an encrypted copy of the plain SQLite file `plain` to `target` (sqlcipher_export)."""
    plain, target = Path(plain), Path(target)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    conn = sqlcipher.connect(str(plain), isolation_level=None)
    try:
        if conn.execute("pragma journal_mode").fetchone()[0] == "wal":
            conn.execute("pragma wal_checkpoint(TRUNCATE)")
        version = conn.execute("pragma user_version").fetchone()[0]
        app_id = conn.execute("pragma application_id").fetchone()[0]
        if progress is not None:
            steps = [0]

            def tick() -> int:
                steps[0] += 1
                progress(steps[0])
                return 0

            conn.set_progress_handler(tick, 100_000)
        conn.execute("attach database ? as enc key \"x'" + key.hex() + "'\"", (str(target),))
        conn.execute("select sqlcipher_export('enc')")
        conn.execute(f"pragma enc.user_version = {int(version)}")
        conn.execute(f"pragma enc.application_id = {int(app_id)}")
        conn.execute("detach database enc")
    finally:
        conn.close()
    _fsync(target)


def encrypt_in_place(path: Path, key: bytes, progress=None) -> None:
    """Replace the plain SQLite file `path` (closed, checkpointed) by its encrypted form."""
    path = Path(path)
    tmp = path.with_name(path.name + ".encrypting")
    encrypt_copy(path, tmp, key, progress)
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


class DatabaseLocked(DatabaseOpenError):
    """The file is encrypted (or has accounts) and nobody has logged in: show the login."""


def _locked_error(path: Path) -> DatabaseLocked:
    return DatabaseLocked(_("“{path}” is encrypted: log in to open it.").format(path=path))


def prepare(path: Path, key: bytes | None) -> bytes | None:
    """The key to open path with (None: a plain database without accounts).

    A plain file beside a key file (accounts were created, the encryption was interrupted, or a
    plain backup was restored) is encrypted now: a database with accounts is never downgraded.
    """
    from db.accounts.keyfile import path_for

    path = Path(path)
    encrypted = is_encrypted_file(path)
    has_keys = path_for(path).is_file()
    if key is None and (encrypted or has_keys):
        key = key_for(path)
    if key is None:
        if has_keys:
            raise _locked_error(path)
        return None  # plain, or not a database of ours (inspect_file says which)
    if not encrypted and path.is_file() and path.stat().st_size > 0:
        encrypt_in_place(path, key)
    remember_key(path, key)
    return key


def _plain_module():
    from pysqlite3 import dbapi2 as sqlite3

    return sqlite3


DB_ERRORS: tuple[type[BaseException], ...] = (_plain_module().Error, sqlcipher.Error)


def open_file(path: Path, uri: str, **kwargs):
    """A connection (uri=True) to a file of ours that is not the open database (a backup): keyed
    with sqlcipher3 when it is encrypted, or is a new file beside an encrypted database (its
    backups are encrypted with its key); plain pysqlite3 otherwise. ATTACH on a keyed connection
    uses the same key, so an attached backup or database of the same family needs no KEY clause."""
    path = Path(path)
    new = not path.exists() or path.stat().st_size == 0
    key = key_for(path) if (new or is_encrypted_file(path)) else None
    if key is None:
        return _plain_module().connect(uri, uri=True, **kwargs)
    conn = sqlcipher.connect(uri, uri=True, **kwargs)
    quiet(conn)
    conn.execute(key_pragma(key))
    return conn


def application_id(path: Path) -> int | None:
    """The application id of an encrypted file whose key is known (None otherwise)."""
    key = key_for(path)
    if key is None:
        return None
    try:
        conn = connect(f"{Path(path).resolve().as_uri()}?mode=ro", key, uri=True)
        try:
            return conn.execute("pragma application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlcipher.Error:
        return None


def attach_key(path: Path) -> tuple[str, tuple]:
    """The KEY clause and its parameter for ATTACHing `path` (empty for a plain file). SQLCipher
    does not carry a raw key over to an attached file; a bound parameter keeps it out of logs."""
    key = key_for(path) if is_encrypted_file(path) else None
    return (" key ?", (f"x'{key.hex()}'",)) if key is not None else ("", ())
