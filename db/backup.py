"""Rotating backups with SQLite's online backup API, and restore.

Backups of /path/to/name.sqlite live in /path/to/backups/name/, named
name-YYYYMMDD-HHMMSS-reason.sqlite. One is made on the first open of each day and before any
import or restore; the newest KEEP are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from pysqlite3 import dbapi2 as sqlite3

from db.errors import DatabaseOpenError
from desktop.i18n import _

KEEP = 14
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


def list_backups(db_path: Path) -> list[Path]:
    folder = backup_dir(db_path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{Path(db_path).stem}-*.sqlite"))


def latest_backup(db_path: Path) -> Path | None:
    found = list_backups(db_path)
    return found[-1] if found else None


def make_backup(store, reason: str = "manual", *, now: dt.datetime | None = None) -> Path:
    """Copy the open database consistently (online backup) and drop the oldest copies."""
    now = now or dt.datetime.now()
    folder = backup_dir(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{store.path.stem}-{now:%Y%m%d-%H%M%S}-{reason}.sqlite"
    n = 1
    while target.exists():
        target = folder / f"{store.path.stem}-{now:%Y%m%d-%H%M%S}-{reason}-{n}.sqlite"
        n += 1
    tmp = target.with_suffix(".part")
    source = store.db.connection()
    dest = sqlite3.connect(str(tmp))
    try:
        source.backup(dest)
    finally:
        dest.close()
    tmp.rename(target)
    for old in list_backups(store.path)[:-KEEP]:
        old.unlink(missing_ok=True)
    _backup_made(target)
    return target


_LAST_OP = "select node, counter, hlc from oplog where rowid = (select max(rowid) from oplog)"


def _last_op(conn) -> tuple | None:
    row = conn.execute(_LAST_OP).fetchone()
    return tuple(row) if row else None


def backup_is_current(store, backup: Path) -> bool:
    """True when the backup holds the same op log as the open database: nothing was written since.

    The op log is append-only and every write of synced data appends to it, so the same last op
    (node, counter, clock) means the same data. A restore gives the database a new node id, so
    writes after a restore never look like an older backup.
    """
    try:
        conn = sqlite3.connect(Path(backup).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            theirs = _last_op(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return theirs is not None and theirs == _last_op(store.db.connection())


def ensure_backup(store, reason: str) -> tuple[Path, bool]:
    """A backup before a risky step: the newest one when nothing was written since it (cheap),
    else a new one. Returns (backup, made now)."""
    latest = latest_backup(store.path)
    if latest is not None and backup_is_current(store, latest):
        return latest, False
    return make_backup(store, reason), True


def daily_backup(store, *, now: dt.datetime | None = None) -> Path | None:
    """The first open of each day makes a backup; later opens that day do nothing."""
    now = now or dt.datetime.now()
    stamp = f"{store.path.stem}-{now:%Y%m%d}-"
    if any(p.name.startswith(stamp) for p in list_backups(store.path)):
        return None
    if store.created:
        return None
    return make_backup(store, "daily", now=now)


def restore(db_path: Path, backup: Path, *, user: str | None = None) -> Path | None:
    """Replace db_path with the backup; the current file is backed up first ("prerestore").

    The restored file gets a new node id (its op counter is older than what was already shared).
    Returns the safety copy of the replaced database.
    """
    from db.store import Store, inspect_file

    db_path, backup = Path(db_path), Path(backup)
    if not backup.is_file():
        raise DatabaseOpenError(_("The backup “{path}” does not exist.").format(path=backup))
    inspect_file(backup)
    safety = None
    if db_path.exists() and db_path.stat().st_size:
        current = Store(db_path, user=user, create=False)
        try:
            safety = make_backup(current, "prerestore")
        finally:
            current.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    tmp = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup, tmp)
    tmp.replace(db_path)
    restored = Store(db_path, user=user, create=False)
    try:
        if not restored.node_rotated:
            restored.rotate_node_id()
    finally:
        restored.close()
    return safety
