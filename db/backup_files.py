"""Backup files without the database engine: their names, the listeners told of every backup, and
the checked, synced copy of an open SQLite connection; the backup made before a schema migration.

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


_NAME = re.compile(r"(\d{8})-(\d{6})-([a-z]+)(?:-(\d+))?(?:-incr-(\d{8}-\d{6}-[a-z]+(?:-\d+)?))?\.sqlite")


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
        return self.path.with_name(f"{self.stem}-{self.base_key}.sqlite")

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
            name += "-incr-" + base.path.name[len(stem) + 1: -len(".sqlite")]
        target = folder / f"{name}.sqlite"
        if not target.exists():
            return target
        seq += 1


def _check_copy(dest, tmp: Path) -> None:
    """A backup counts only once it passes quick_check (on its open connection)."""
    problems = [r[0] for r in dest.execute("pragma quick_check")]
    if problems != ["ok"]:
        raise DatabaseOpenError(_("The backup just written ({path}) does not pass the check ({error}); it was "
                                  "discarded. Check the disk.").format(path=tmp.name, error=problems[0]))


def _finish(tmp: Path, target: Path) -> Path:
    """The checked copy, synced to disk, under its final name (the rename synced too)."""
    from db.durable import fsync_dir, fsync_file

    fsync_file(tmp)
    tmp.rename(target)
    fsync_dir(target.parent)
    return target


def copy_checked(source, target: Path) -> Path:
    """Back up the open SQLite connection `source` into target: written as .part, checked
    (quick_check), synced to disk, then renamed. A copy that fails the check is removed and raises."""
    tmp = target.with_suffix(".part")
    from db.accounts.cipher import backup_target

    dest = backup_target(source, tmp)  # an encrypted database's backup is encrypted with its key
    ok = False
    try:
        source.backup(dest)
        _check_copy(dest, tmp)
        ok = True
    finally:
        dest.close()
        if not ok:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
    return _finish(tmp, target)


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
        source = cipher.connect(db_path, key)
    else:
        from pysqlite3 import dbapi2 as sqlite3

        source = sqlite3.connect(str(db_path))
    try:
        target = copy_checked(source, _target(folder, db_path.stem, dt.datetime.now(), "premigrate"))
    finally:
        source.close()
    _backup_made(target)  # (rotated with the next backup: this module knows no rotation)
    return target
