"""Backup descriptions for the shell (time and reason from a backup's file name)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from desktop.i18n import N_, _

_NAME = re.compile(r"-(\d{8})-(\d{6})-([a-z]+)(?:-\d+)?\.sqlite$")

REASONS = {
    "daily": N_("daily"),
    "manual": N_("made by hand"),
    "import": N_("before an import"),
    "prerestore": N_("before a restore"),
}


def backup_time(path: Path) -> dt.datetime | None:
    match = _NAME.search(Path(path).name)
    if match:
        try:
            return dt.datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
        except ValueError:
            pass
    try:
        return dt.datetime.fromtimestamp(Path(path).stat().st_mtime)
    except OSError:
        return None


def backup_reason(path: Path) -> str:
    match = _NAME.search(Path(path).name)
    key = match.group(3) if match else ""
    return _(REASONS[key]) if key in REASONS else key


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
