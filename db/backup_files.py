"""Backup files without the database engine: their names, the listeners told of every backup,
writing a full backup (a snapshot of the database file's pages, compressed and encrypted:
db/backup_container.py, db/backup_pages.py) and turning one back into a database file; the backup made before a
schema migration. Backups of older versions (name-….sqlite: a plain or SQLCipher copy of the file)
are still listed and restored.

db.store uses this module before it opens a file, so it imports nothing of db.store (no import
circle db.store -> db.backup -> db.store).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from db.backup_container import SUFFIX
from db.errors import DatabaseOpenError
from i18n import _

log = logging.getLogger(__name__)

_listeners: list[Callable[[], Callable[[Path], object] | None]] = []
_listeners_lock = threading.Lock()


def add_backup_listener(fn: Callable[[Path], object]) -> None:
    """Call fn(path) after every backup, whoever made it (import, sync, daily, manual), on the
    thread that made it. Bound methods are held weakly: a listener goes away with its object."""
    ref = weakref.WeakMethod(fn) if hasattr(fn, "__self__") else (lambda: fn)
    with _listeners_lock:
        _listeners.append(ref)


def _backup_made(path: Path) -> None:
    with _listeners_lock:
        _listeners[:] = [ref for ref in _listeners if ref() is not None]
        alive = [ref() for ref in _listeners]
    for fn in alive:
        if fn is None:
            continue
        try:
            fn(path)
        except Exception:  # noqa: BLE001 - a listener must not turn a good backup into a failure
            log.exception("backup listener failed")


def backup_dir(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / "backups" / db_path.stem


_NAME = re.compile(r"(\d{8})-(\d{6})-([a-z]+)(?:-(\d+))?(?:-incr-(\d{8}-\d{6}-[a-z]+(?:-\d+)?))?\.(?:sqlite|gdbk)")
SUFFIXES = (SUFFIX, ".sqlite")  # this version's backups, and those of older versions


@dataclass(frozen=True)
class BackupInfo:
    """What a backup's file name says: when, why, and for an incremental, the full backup it needs."""

    path: Path
    when: dt.datetime | None
    reason: str
    seq: int = 0
    base_key: str | None = None  # incremental: YYYYMMDD-HHMMSS-reason[-N] of its base
    stem: str = ""  # the database's file name without suffix, which every backup name starts with

    @property
    def incremental(self) -> bool:
        return self.base_key is not None

    @property
    def base(self) -> Path | None:
        if self.base_key is None:
            return None
        for suffix in SUFFIXES:
            found = self.path.with_name(f"{self.stem}-{self.base_key}{suffix}")
            if found.is_file():
                return found
        return self.path.with_name(f"{self.stem}-{self.base_key}{SUFFIX}")

    @property
    def base_available(self) -> bool:
        return self.base is not None and self.base.is_file()

    def sort_key(self) -> tuple:
        return (self.when or dt.datetime.min, self.seq, self.path.name)


def describe(path: Path, stem: str | None = None) -> BackupInfo | None:
    """Parse a backup file name (None when it is not one of ours)."""
    path = Path(path)
    name = path.name
    stem = stem if stem is not None else path.parent.name
    match = None
    if name.startswith(stem + "-"):
        match = _NAME.fullmatch(name, len(stem) + 1)
    if match is None:
        match = _NAME.search(name)
        if match is None or match.end() != len(name) or match.start() == 0 or name[match.start() - 1] != "-":
            return None
    try:
        when = dt.datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return BackupInfo(path, when, match.group(3), int(match.group(4) or 0), match.group(5),
                      name[: match.start() - 1])


def _target(folder: Path, stem: str, now: dt.datetime, reason: str, base: BackupInfo | None = None) -> Path:
    stamp = f"{now:%Y%m%d-%H%M%S}"
    same_second = [describe(p, stem) for p in folder.iterdir() if p.name.startswith(f"{stem}-{stamp}-")]
    seqs = [i.seq for i in same_second if i is not None]
    seq = max(seqs) + 1 if seqs else 0
    while True:
        name = f"{stem}-{stamp}-{reason}" + (f"-{seq}" if seq else "")
        if base is not None:
            name += "-incr-" + base.path.name[len(stem) + 1: -len(base.path.suffix)]
        target = folder / f"{name}{SUFFIX}"
        if not target.exists():
            return target
        seq += 1


def _finish(tmp: Path, target: Path) -> Path:
    """The checked copy, synced to disk, under its final name (the rename synced too)."""
    from db.durable import fsync_dir, fsync_file

    fsync_file(tmp)
    tmp.rename(target)
    fsync_dir(target.parent)
    return target


def _last_op(conn) -> tuple[int, str]:
    from db.opstore import rowid_table

    row = conn.execute("select rowid, node, counter, hlc from oplog "
                       f"where rowid = (select max(rowid) from {rowid_table(conn)})").fetchone()
    return (row[0], f"{row[1]}|{row[2]}|{row[3]}") if row else (0, "")


def read_connection(db_path: Path, key: bytes | None = None):
    """A read-only autocommit connection to a database file (keyed when it is encrypted)."""
    from db.accounts import cipher

    db_path = Path(db_path)
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    key = key if key is not None else (cipher.key_for(db_path) if cipher.is_encrypted_file(db_path) else None)
    if key is not None:
        return cipher.connect(uri, key, uri=True, isolation_level=None)
    return cipher._plain_module().connect(uri, uri=True, isolation_level=None)


RESTORE_CACHE_KB = 96 * 1024


PAGE_LEVEL = 1  # zstandard level of a page backup (measured: bench/bench_backup.py)
PAGE_THREADS = -1  # zstandard worker threads: one per core (the caller reads and encrypts beside them)


def write_full(db_path: Path, target: Path, *, key: bytes | None = None, reason: str = "") -> Path:
    """A full backup of the database file db_path into target: one read transaction (a consistent
    snapshot beside the writers, WAL mode) streamed into a compressed, encrypted file written as
    .part, read back and checked (every frame authenticated, the stream's checksum), synced to
    disk, then renamed. The database's pages go in as they are (decrypted when it is an SQLCipher
    file: db/backup_pages.py), or its rows chunk by chunk when writers keep its WAL from being
    checkpointed. Nothing plain is written to disk."""
    import datetime as dt

    from db import backup_container as bc

    db_path, target = Path(db_path), Path(target)
    tmp = target.with_name(target.name + ".part")
    ok = False
    conn = read_connection(db_path, key)
    try:
        snap = _page_snapshot(db_path, conn, key)
        if snap is None:
            conn.execute("begin")
        node = conn.execute("select value from meta where key = 'node_id'").fetchone()
        rowid, op = _last_op(conn)
        info = {"kind": "full", "reason": reason, "created": dt.datetime.now().isoformat(timespec="seconds"),
                "node_id": node[0] if node else "", "last_rowid": rowid, "last_op": op,
                "schema": conn.execute("pragma user_version").fetchone()[0],
                "encrypted": isinstance(conn, _cipher_connection())}
        if snap is not None:
            import zstandard

            from db.backup_pages import PageError

            try:
                compressor = zstandard.ZstdCompressor(level=PAGE_LEVEL, threads=PAGE_THREADS, write_checksum=True)
                with bc.write_stream(tmp, {**info, **snap.info()}, db_path=db_path, fmt=bc.PAGES,
                                     compressor=compressor) as sink:
                    for chunk in snap.chunks():
                        sink.write(chunk)
            except PageError:
                # A page that does not read back as SQLCipher wrote it: the rows of the same
                # snapshot, through SQLite (which says what is wrong if it finds it too).
                log.warning("page backup of %s failed; writing rows", db_path.name, exc_info=True)
                tmp.unlink(missing_ok=True)
                snap.close()
                snap = None
            else:
                info.update(snap.info())
                snap.close()
                conn.execute("commit")
                _check_written(tmp, db_path, {_PAGE_BYTES: int(info["page_size"]) * int(info["page_count"])})
        if snap is None:
            counts: dict = {}
            bc.write_file(tmp, info, bc.dump(conn, counts=counts), db_path=db_path)
            conn.execute("commit")
            _check_written(tmp, db_path, counts)
        ok = True
    finally:
        conn.close()
        if not ok:
            tmp.unlink(missing_ok=True)
    return _finish(tmp, target)


def _page_snapshot(db_path: Path, conn, key: bytes | None):
    """db/backup_pages.snapshot() with a connection of its own that checkpoints (None: write rows)."""
    from db import backup_pages
    from db.accounts import cipher

    encrypted = cipher.is_encrypted_file(db_path)
    key = (key if key is not None else cipher.key_for(db_path)) if encrypted else None
    if encrypted and key is None:
        return None
    uri = db_path.resolve().as_uri()
    ckpt = cipher.connect(uri, key, uri=True, isolation_level=None) if key is not None else \
        cipher._plain_module().connect(uri, uri=True, isolation_level=None)
    try:
        ckpt.execute("pragma busy_timeout = 2000")
        return backup_pages.snapshot(conn, ckpt, db_path, key)
    except (backup_pages.PageError, *cipher.DB_ERRORS):
        if conn.in_transaction:
            conn.execute("rollback")
        return None
    finally:
        ckpt.close()


def _stream_chunks(stream, size: int = 1 << 20):
    return iter(lambda: stream.read(size), b"")


_PAGE_BYTES = " page bytes"


def _check_pages(tmp: Path, db_path: Path, expected: int) -> None:
    """A page backup counts only once it reads back whole: every frame authenticated, the
    stream's checksum right, exactly the pages announced."""
    from db import backup_container as bc

    try:
        with bc.open_stream(tmp, db_path=db_path) as (_header, stream, frames):
            size = sum(len(chunk) for chunk in _stream_chunks(stream))
            bc.finish_stream(frames)
        error = None if size == expected else _("the number of pages")
    except DatabaseOpenError as exc:
        error = exc
    if error is not None:
        raise DatabaseOpenError(_("The backup just written ({path}) does not pass the check ({error}); it was "
                                  "discarded. Check the disk.").format(path=tmp.name, error=error))


def _cipher_connection():
    from db.accounts.cipher import sqlcipher

    return sqlcipher.Connection


def _check_written(tmp: Path, db_path: Path, counts: dict) -> None:
    """A backup counts only once it reads back whole with the rows (or the pages) it was given."""
    from db import backup_container as bc

    if _PAGE_BYTES in counts:
        _check_pages(tmp, db_path, counts[_PAGE_BYTES])
        return
    try:
        last = bc.last_record(tmp, db_path=db_path)
        seen = dict(last[1]) if last and last[0] == "end" else None
    except DatabaseOpenError as exc:
        raise DatabaseOpenError(_("The backup just written ({path}) does not pass the check ({error}); it was "
                                  "discarded. Check the disk.").format(path=tmp.name, error=exc)) from exc
    if seen != counts:
        raise DatabaseOpenError(_("The backup just written ({path}) does not pass the check ({error}); it was "
                                  "discarded. Check the disk.").format(path=tmp.name, error=_("row counts")))


def target_key(db_path: Path, backup: Path | None = None) -> bytes | None:
    """The SQLCipher key a database restored at db_path gets: the database's own key when it is
    encrypted or has accounts (a plain backup is converted, never downgraded), the key of the
    encrypted database a backup was made of, or None (a plain database)."""
    from db import backup_container as bc
    from db.accounts import cipher, keyfile

    db_path = Path(db_path)
    key = cipher.key_for(db_path)
    needed = cipher.is_encrypted_file(db_path) or keyfile.path_for(db_path).is_file()
    if key is None and backup is not None:
        header = bc.read_header(backup) if bc.is_container(backup) else None
        if header is not None and header.wrap.get("kek") == "db":
            key = cipher.key_for(backup)
            needed = True
        elif header is None and cipher.is_encrypted_file(backup):
            key = cipher.key_for(backup)  # an older version's SQLCipher copy (or a damaged file)
    if key is None and needed:
        raise cipher._locked_error(db_path)
    return key


def _connect_new(target: Path, key: bytes | None):
    from db.accounts import cipher

    if key is not None:
        conn = cipher.sqlcipher.connect(str(target), isolation_level=None)
        cipher.quiet(conn)
        conn.execute(cipher.key_pragma(key))
        return conn
    return cipher._plain_module().connect(str(target), isolation_level=None)


def materialize(backup: Path, target: Path, *, db_path: Path, key: bytes | None) -> None:
    """Write the database a full backup holds into the new file target, encrypted with key when one
    is given (else plain), and check it (quick_check, row counts). A page backup is written page by
    page (encrypted again with key when it came from an SQLCipher database), or row by row when it
    came from a plain database and the target is encrypted (db/backup_pages.py). A backup of an
    older version (a file copy) is copied as it is, or read row by row into an encrypted target
    when it is plain. Raises DatabaseOpenError (in Chinese) on a damaged backup; target is then
    removed."""
    from db import backup_container as bc
    from db import backup_pages
    from db.accounts import cipher

    backup, target = Path(backup), Path(target)
    ok = False
    spool = None
    try:
        if not bc.is_container(backup) and (key is None or cipher.is_encrypted_file(backup)):
            import shutil

            shutil.copyfile(backup, target)  # an older version's copy, already as the target wants it
            _check_file(target, backup, key)
            ok = True
            return
        header = bc.read_header(backup) if bc.is_container(backup) else None
        pages = header is not None and header.format == bc.PAGES
        if pages and bool(header.info.get("cipher")) == (key is not None):
            try:
                with bc.open_stream(backup, db_path=db_path) as (head, stream, frames):
                    backup_pages.write_pages(target, _stream_chunks(stream), head.info, key)
                    bc.finish_stream(frames)
            except backup_pages.PageError as exc:
                raise bc.damaged(backup, exc) from exc
            conn = _connect_new(target, key)
            try:
                problems = [r[0] for r in conn.execute("pragma quick_check")]
            except cipher.DB_ERRORS as exc:
                problems = [str(exc)]
            finally:
                conn.close()
            if problems != ["ok"]:
                raise bc.damaged(backup, problems[0])
            ok = True
            return
        if pages:  # a plain database's pages into an encrypted target: spooled, then read as rows
            spool = backup_pages.Spool(target.with_name(target.name + ".spool"), int(header.info["page_size"]))
            try:
                with bc.open_stream(backup, db_path=db_path) as (_head, stream, frames):
                    spool.add(_stream_chunks(stream))
                    bc.finish_stream(frames)
            except backup_pages.PageError as exc:
                raise bc.damaged(backup, exc) from exc
        conn = _connect_new(target, key)
        try:
            conn.execute("pragma journal_mode = off")  # a new file: on failure it is discarded whole
            conn.execute("pragma synchronous = off")
            # The rows go in in rowid order, so each unique index (made with its table) takes
            # its keys in random order: a page cache of RESTORE_CACHE_KB keeps their pages.
            conn.execute(f"pragma cache_size = -{RESTORE_CACHE_KB}")
            if pages:
                records = backup_pages.read_rows(spool, int(header.info["page_size"]), int(header.info["reserve"]))
            elif bc.is_container(backup):
                records = bc.read_records(backup, db_path=db_path)
            else:  # a plain copy of an older version, into an encrypted database: converted
                source = read_connection(backup)
                source.execute("begin")
                records = bc.dump(source)
            try:
                loaded = bc.load(conn, records, page_size=key is None)
                conn.execute("commit")
            except (ValueError, *cipher.DB_ERRORS) as exc:
                raise bc.damaged(backup, exc) from exc
            finally:
                if not bc.is_container(backup):
                    source.close()
            if loaded.pragmas.get("journal_mode") == "wal":
                conn.execute("pragma journal_mode = wal")
            problems = [r[0] for r in conn.execute("pragma quick_check")]
            if problems != ["ok"]:
                raise bc.damaged(backup, problems[0])
        finally:
            conn.close()
        ok = True
    finally:
        if spool is not None:
            spool.close()
        if not ok:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(target) + suffix).unlink(missing_ok=True)


def _check_file(tmp: Path, backup: Path, key: bytes | None) -> None:
    """An older version's full backup is checked (quick_check) as copied, before it replaces anything."""
    from db.accounts.cipher import DB_ERRORS, open_file

    try:
        conn = open_file(tmp, f"{tmp.resolve().as_uri()}?mode=ro&immutable=1")  # keyed when encrypted
        try:
            problems = [r[0] for r in conn.execute("pragma quick_check")]
        finally:
            conn.close()
    except DB_ERRORS as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        raise DatabaseOpenError(_("The backup “{path}” is damaged ({error}). Nothing was changed; choose another "
                                  "backup.").format(path=Path(backup).name, error=problems[0]))


def protect_backup(backup: Path, db_key: bytes, *, db_path: Path) -> None:
    """When accounts are created: an older version's plain backup is encrypted in place (SQLCipher),
    and a backup made with the plain database's local key gets its data key wrapped with the
    database's key instead (the header only), so the local key can be deleted."""
    from db import backup_container as bc
    from db.accounts import cipher

    backup = Path(backup)
    if bc.is_container(backup):
        bc.rewrap(backup, "db", bc.db_kek(db_key), db_path=db_path)
    elif not cipher.is_encrypted_file(backup):
        cipher.encrypt_in_place(backup, db_key)


def backup_before_migration(db_path: Path, version: int, key: bytes | None = None) -> Path:
    """A checked full backup of a file about to be upgraded from schema `version` (before any
    migration writes to it). Read through a connection of its own; nothing is written to the file.
    An encrypted file (key given) is read with its key, and its backup is encrypted with it too."""
    db_path = Path(db_path)
    folder = backup_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    if key is not None:
        from db.accounts import cipher

        cipher.remember_key(db_path, key)
    target = write_full(db_path, _target(folder, db_path.stem, dt.datetime.now(), "premigrate"), key=key,
                        reason="premigrate")
    _backup_made(target)  # (rotated with the next backup: this module knows no rotation)
    return target
