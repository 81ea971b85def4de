"""Rotating backups, full (a snapshot of the file, compressed and encrypted) or incremental, and restore.

Backups of /path/to/name.sqlite live in /path/to/backups/name/, compressed and encrypted
(db/backup_container.py; older versions' .sqlite copies are still listed and restored):
- full: name-YYYYMMDD-HHMMSS-reason[-N].gdbk, a consistent snapshot of the whole file;
- incremental: name-YYYYMMDD-HHMMSS-reason[-N]-incr-BASE.gdbk where BASE names the full backup
  (YYYYMMDD-HHMMSS-reason[-N]) it extends: the ops written since that backup plus this machine's
  own tables (db/backup_incremental.py). Cheap when little changed since the full backup.
The first open of each day makes a full backup; the backup before an import (or a restore) is
incremental when a full backup of this database exists and at most MAX_DELTA_OPS ops were
written since. The newest KEEP usable backups are kept, and every full backup a kept incremental
needs; an incremental whose base is gone is neither listed nor restorable.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from db import backup_incremental as incr
from db.backup_files import (  # noqa: F401 - part of this module's interface
    _NAME,
    SUFFIXES,
    BackupInfo,
    _backup_made,
    _finish,
    _listeners,
    _listeners_lock,
    _target,
    add_backup_listener,
    backup_before_migration,
    backup_dir,
    describe,
    materialize,
    target_key,
    write_full,
)
from db.errors import DatabaseOpenError
from i18n import _

KEEP = 14
# Reasons whose backup may be incremental (the daily and hand-made backups are always full).
INCREMENTAL_REASONS = frozenset({"import", "prerestore"})
MAX_DELTA_OPS = incr.MAX_DELTA_OPS
PART_MAX_AGE_S = 3600
log = logging.getLogger(__name__)
def _files(db_path: Path, *suffixes: str) -> list[Path]:
    """Files of the backups folder named stem-...<suffix> (no glob: a name may hold [ or *)."""
    folder = backup_dir(db_path)
    if not folder.is_dir():
        return []
    start = f"{Path(db_path).stem}-"
    return [p for p in folder.iterdir() if p.name.startswith(start) and p.name.endswith(suffixes)]


def _all_backups(db_path: Path) -> list[BackupInfo]:
    stem = Path(db_path).stem
    found = [describe(p, stem) for p in _files(db_path, *SUFFIXES)]
    return sorted((i for i in found if i is not None), key=BackupInfo.sort_key)


def backups(db_path: Path) -> list[BackupInfo]:
    """The usable backups, oldest first: full ones, and incremental ones whose base exists."""
    return [i for i in _all_backups(db_path) if not i.incremental or i.base_available]


def list_backups(db_path: Path) -> list[Path]:
    return [i.path for i in backups(db_path)]


def latest_backup(db_path: Path) -> Path | None:
    found = backups(db_path)
    return found[-1].path if found else None


def _make_full(store, target: Path, reason: str) -> Path:
    return write_full(store.path, target, key=store.key, reason=reason)


def _full_bases(store) -> Iterator[tuple[BackupInfo, incr.Base]]:
    """The full backups of this very database (same node id), newest first, with their last op."""
    for info in reversed(backups(store.path)):
        if info.incremental:
            continue
        base = incr.read_base(info.path)
        if base is not None and base.node == store.node_id:
            yield info, base


def _make_incremental(store, reason: str, now: dt.datetime) -> Path | None:
    """An incremental backup on the newest full backup of this very database, if there is one and
    the ops written since are few; else None."""
    for info, base in _full_bases(store):
        target = _target(info.path.parent, store.path.stem, now, reason, info)
        try:
            return incr.write_incremental(store, base, target, reason=reason, now=now, max_ops=MAX_DELTA_OPS)
        except incr.NotApplicable as exc:
            if str(exc) == "delta":
                return None  # an older base has even more ops since
    return None


def make_backup(store, reason: str = "manual", *, now: dt.datetime | None = None,
                incremental: bool | None = None) -> Path:
    """Back up the open database consistently and drop the oldest copies.

    incremental=None: incremental when the reason allows it (INCREMENTAL_REASONS) and a suitable
    full backup exists; False: always a full copy; True: incremental if at all possible.
    """
    from db import durable

    now = now or dt.datetime.now()
    folder = backup_dir(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    # A backup must not hold what the database itself could still lose in a power cut: restored
    # later, it would bring back op ids this database may have reused since.
    durable.make_durable(store)
    if incremental is None:
        incremental = reason in INCREMENTAL_REASONS
    target = _make_incremental(store, reason, now) if incremental else None
    if target is None:
        target = _make_full(store, _target(folder, store.path.stem, now, reason), reason)
    rotate(store.path)
    _backup_made(target)
    return target


def _ops_since_full_backup(store) -> int | None:
    """Ops written since the newest full backup of this very database (None: there is none)."""
    for _info, base in _full_bases(store):
        since = incr.ops_since(store.db.connection(), base)
        if since is not None:  # else its log is not a prefix of ours
            return since
    return None


def refresh_base(store, *, now: dt.datetime | None = None) -> Path | None:
    """After a big write (a full handover, a large spreadsheet): a new full backup when the next
    backup before an import could no longer be incremental, so that one stays cheap. Returns the
    new backup, or None when the current full backup still serves. (The app runs it in the
    background once the import has been shown.)"""
    since = _ops_since_full_backup(store)
    if since is not None and since <= MAX_DELTA_OPS // 2:
        return None
    return make_backup(store, "base", now=now, incremental=False)


def rotate(db_path: Path, keep: int = KEEP) -> list[Path]:
    """Keep the newest `keep` usable backups and the full backups they need; delete the rest
    (also incremental backups whose base is gone). Returns the deleted files."""
    everything = _all_backups(db_path)
    usable = [i for i in everything if not i.incremental or i.base_available]
    kept = {i.path for i in usable[-keep:]}
    kept |= {i.base for i in usable[-keep:] if i.incremental}
    deleted = []
    for info in everything:
        if info.path not in kept:
            info.path.unlink(missing_ok=True)
            deleted.append(info.path)
    # Half-written copies of a backup that was interrupted (a crash, a full disk): not one still
    # being written, whose file time is recent.
    stale = dt.datetime.now().timestamp() - PART_MAX_AGE_S
    for part in _files(db_path, ".part", ".sqlite-journal"):
        try:
            if part.stat().st_mtime < stale:
                part.unlink()
                deleted.append(part)
        except OSError:
            pass
    return deleted


def _snapshot(store) -> tuple[str, int, str]:
    rowid, op = incr._last_op(store.db.connection())
    return store.node_id, rowid, op


def backup_state(backup: Path) -> tuple[str, int, str] | None:
    """(node id, rowid of the last op, last op) of the database a backup holds; None if unreadable."""
    if incr.is_incremental_file(backup):
        try:
            m = incr.read_manifest(backup, verify=False, db_path=None)
            return m.get("node_id"), int(m.get("last_rowid")), m.get("last_op")
        except (DatabaseOpenError, ValueError):
            return None
    base = incr.read_base(backup)
    return (base.node, base.rowid, base.op) if base else None


def backup_is_current(store, backup: Path) -> bool:
    """True when the backup holds the same op log as the open database: nothing was written since.

    The op log is append-only and every write of synced data appends to it, so the same node id
    and the same last op (at the same place in the log) mean the same data. A restore or a copy
    gives the database a new node id, so its writes never look like an older backup's.
    """
    theirs = backup_state(backup)
    return theirs is not None and bool(theirs[2]) and theirs == _snapshot(store)


def ensure_backup(store, reason: str) -> tuple[Path, bool]:
    """A backup before a risky step: the newest one when nothing was written since it (cheap),
    else a new one (incremental when few ops were written since the newest full backup).
    Returns (backup, made now)."""
    latest = latest_backup(store.path)
    if latest is not None and backup_is_current(store, latest):
        return latest, False
    return make_backup(store, reason), True


def daily_backup(store, *, now: dt.datetime | None = None) -> Path | None:
    """The first open of each day makes a full backup; later opens that day do nothing."""
    now = now or dt.datetime.now()
    if any(not i.incremental and i.when and i.when.date() == now.date() for i in backups(store.path)):
        return None
    # A database made today counts too: the first day's work is worth a backup.
    return make_backup(store, "daily", now=now, incremental=False)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _safety_copy(db_path: Path, user: str | None) -> Path | None:
    """Back up the database about to be replaced; a file that no longer opens is kept as it is."""
    from db.store import Store

    if not db_path.exists() or not db_path.stat().st_size:
        return None
    try:
        current = Store(db_path, user=user, create=False)
    except DatabaseOpenError:
        folder = backup_dir(db_path)
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"{db_path.stem}-{dt.datetime.now():%Y%m%d-%H%M%S}-prerestore.damaged"
        shutil.copyfile(db_path, kept)
        return kept
    try:
        return make_backup(current, "prerestore")
    finally:
        current.close()


def check_version(backup: Path) -> None:
    """Refuse a backup this version cannot read, before anything is written."""
    from db import backup_container as bc
    from db import migrations
    from db.store import inspect_file

    if Path(backup).stat().st_size == 0:
        raise bc.damaged(backup, _("the file is empty"))
    if not bc.is_container(backup):
        inspect_file(backup)
        return
    header = bc.read_header(backup)
    if header is None:
        with Path(backup).open("rb") as fh:
            bc._read_header(fh, Path(backup))  # raises the reason
    if int(header.info.get("schema", 0)) > migrations.SCHEMA_VERSION:
        raise DatabaseOpenError(_("The backup “{path}” was made by a newer version of GridDesk. Please update "
                                  "GridDesk.").format(path=Path(backup).name))


def changes_only_here_after(store, backup: Path) -> int:
    """How many of this computer's changes made after the backup was taken no other computer and
    no hub has confirmed receiving: restoring it would leave them only in the safety copy (so the
    person is told, and can hand them over first)."""
    from db.sync.beliefs import only_here_since

    info = describe(Path(backup))
    if info is None or info.when is None:
        return 0
    return only_here_since(store, int(info.when.timestamp() * 1000))


def restore(db_path: Path, backup: Path, *, user: str | None = None) -> Path | None:
    """Replace db_path with the backup (full or incremental); the current file is backed up first.

    The restored database is built next to db_path and checked before anything is replaced: a
    damaged backup, or an incremental one whose base is missing, raises DatabaseOpenError and
    changes nothing. The restored file gets a new node id (its op counter is older than what was
    already shared). Returns the safety copy of the replaced database.
    """
    from db.models import database_proxy
    from db.store import Store, inspect_file

    db_path, backup = Path(db_path), Path(backup)
    if not backup.is_file():
        raise DatabaseOpenError(_("The backup “{path}” does not exist.").format(path=backup))
    refuse_if_in_use(db_path)
    info = describe(backup)
    tmp = db_path.with_name(db_path.name + ".restoring")
    _remove(tmp)
    key = target_key(db_path, backup)  # an encrypted database stays encrypted (and a plain backup is converted)
    try:
        if incr.is_incremental_file(backup) or (info is not None and info.incremental):
            manifest = incr.read_manifest(backup, db_path=db_path)
            incr.build(tmp, manifest, user=user, db_path=db_path, key=key)
        else:
            check_version(backup)
            materialize(backup, tmp, db_path=db_path, key=key)
            inspect_file(tmp, key)
        from db.durable import fsync_file

        fsync_file(tmp)  # on disk before it replaces the database (the rename is synced below)
        safety = _safety_copy(db_path, user)
    except BaseException:
        _remove(tmp)
        raise
    # Checked again right before the swap, holding SQLite's exclusive lock while it happens.
    with _exclusive(db_path):
        for suffix in ("-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        tmp.replace(db_path)
    from db.durable import fsync_dir

    fsync_dir(db_path.parent)
    _remove(tmp)  # the temporary file's -wal/-shm, if any were left
    previous = database_proxy.obj
    restored = Store(db_path, user=user, create=False)
    try:
        if not restored.node_rotated:
            restored.rotate_node_id()
        from db import durable

        durable.make_durable(restored)  # the new node id on disk before anything is written under it
    finally:
        restored.close()
        if previous is not None and previous is not restored.db:
            database_proxy.initialize(previous)
    return safety


# -- the database in use by another GridDesk ------------------------------------------------------

def _in_use_error(db_path: Path) -> DatabaseOpenError:
    return DatabaseOpenError(_(
        "“{path}” is open in another GridDesk window or program (or a command is still running on it). "
        "Close it there first, then restore again. Nothing was changed.").format(path=Path(db_path).name))


class _exclusive:
    """SQLite's own locking: an exclusive lock on the database, which fails at once while any other
    connection (another GridDesk process, or this one) has the file open in WAL mode."""

    WAIT_S = 3.0

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.conn = None

    def __enter__(self):
        if not self.db_path.exists() or not self.db_path.stat().st_size:
            return self
        import time

        from db.accounts import cipher

        plain = cipher._plain_module()
        # A read that was just finishing in this process (a background search, a chore) releases
        # the file within moments: wait a little before saying someone else has it open.
        deadline = time.monotonic() + self.WAIT_S
        while True:
            # Keyed when the file is encrypted (its key is known once it was opened), plain otherwise.
            conn = cipher.open_file(self.db_path, self.db_path.resolve().as_uri(), timeout=0, isolation_level=None)
            try:
                conn.execute("pragma locking_mode = exclusive")
                conn.execute("begin exclusive")
            except (plain.OperationalError, cipher.sqlcipher.OperationalError) as exc:
                conn.close()
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise _in_use_error(self.db_path) from exc
            except cipher.DB_ERRORS:
                conn.close()  # not a database (a damaged file being replaced): nobody can use it
                return self
            self.conn = conn
            return self

    def __exit__(self, *exc):
        if self.conn is not None:
            try:
                self.conn.execute("rollback")
            except Exception:  # noqa: BLE001 - nothing to roll back
                pass
            self.conn.close()
        return False


def database_in_use(db_path: Path) -> bool:
    """True while another connection (e.g. another GridDesk process) has the database open."""
    try:
        with _exclusive(db_path):
            return False
    except DatabaseOpenError:
        return True


def refuse_if_in_use(db_path: Path) -> None:
    """Raise DatabaseOpenError (in Chinese) while another GridDesk has the database open."""
    with _exclusive(db_path):
        pass
