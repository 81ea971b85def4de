"""Backup descriptions for the shell (time and reason from a backup's file name)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from db.backup import describe
from i18n import N_, _

REASONS = {
    "daily": N_("daily"),
    "manual": N_("made by hand"),
    "import": N_("before an import"),
    "prerestore": N_("before a restore"),
    "base": N_("after a large import"),
}


def refresh_base_in_background(ctx, parent=None):
    """After a large import, in the background: fold the write-ahead log into the database file
    (db.bulk.settle), and make a new full backup if the next backup before an import would
    otherwise have to copy the whole database (db.backup.refresh_base). Returns the task."""
    from db.backup import refresh_base
    from db.bulk import release_memory, settle

    store = ctx.store

    def work(state):
        settle(store)
        made = refresh_base(store)
        release_memory()
        return made

    def done(path) -> None:
        if path is not None:
            ctx.events.sig_backup_made.emit(path)

    # 1-3 s on a big community, and nobody needs to wait for it: no dialog, a status-bar note.
    return ctx.run_chore(work, note=_("Tidying up the database and making a backup…"), on_done=done, parent=parent)


def backup_time(path: Path) -> dt.datetime | None:
    info = describe(Path(path))
    if info is not None and info.when is not None:
        return info.when
    try:
        return dt.datetime.fromtimestamp(Path(path).stat().st_mtime)
    except OSError:
        return None


def backup_reason(path: Path) -> str:
    info = describe(Path(path))
    key = info.reason if info is not None else ""
    return _(REASONS[key]) if key in REASONS else key


def backup_kind(path: Path) -> str:
    """"full backup", or for an incremental one, which full backup it needs."""
    info = describe(Path(path))
    if info is None or not info.incremental:
        return _("full backup")
    return _("incremental, on the full backup of {time}").format(time=format_time(backup_time(info.base)))


def describe_backup(path: Path) -> str:
    """One line for lists: time, reason, full or incremental (on which), size."""
    try:
        size = format_size(Path(path).stat().st_size)
    except OSError:
        size = "?"
    return _("{time}  ·  {reason}  ·  {kind}  ·  {size}").format(
        time=format_time(backup_time(path)), reason=backup_reason(path), kind=backup_kind(path), size=size)


def format_time(when: dt.datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else _("never")


def format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("{n:.1f} MB").format(n=size / 1024 / 1024)
    return _("{n:.0f} KB").format(n=max(1, size / 1024))


def backup_now(ctx, parent=None):
    """Make a backup on the writer thread; tell everyone when it is written. Returns the task."""
    from db.backup import make_backup

    store = ctx.store

    def done(path: Path) -> None:
        ctx.events.sig_backup_made.emit(path)

    return ctx.tasks.run(lambda state: make_backup(store, "manual"), title=_("Backing up the database…"),
                         on_done=done, parent=parent, cancellable=False)
