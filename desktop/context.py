"""AppContext: what every screen gets (the store, the task runner, errors, settings, events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from db.store import Store
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import TaskRunner


class Events(QObject):
    """Application-wide notifications; views refresh from these instead of polling."""

    sig_data_changed = Signal(object)
    """Rows changed: a list of db.oplog.Change (emit on the GUI thread)."""
    sig_store_changed = Signal(object)
    """Another database file was opened: the new Store."""
    sig_backup_made = Signal(object)
    """A backup was written: its pathlib.Path (every backup, also those a task makes itself,
    e.g. before an import: emitted from the thread that made it, delivered on the GUI thread)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from db.backup import add_backup_listener

        add_backup_listener(self._backup_made)

    def _backup_made(self, path) -> None:
        try:
            self.sig_backup_made.emit(path)
        except RuntimeError:  # the Qt object is already gone
            pass


@dataclass
class AppContext:
    store: Store
    tasks: TaskRunner
    errors: ErrorReporter
    settings: Settings
    events: Events = field(default_factory=Events)
    user: str = ""
    # The running application (desktop.app.Shell) when there is one: open/create databases,
    # restore backups, rebuild the window. None in tests that build screens alone.
    shell: Any = None

    def __post_init__(self) -> None:
        if not self.user and self.store is not None:
            self.user = self.store.user

    def data_changed(self, changes: list) -> None:
        """Tell every view what a write changed (call on the GUI thread, e.g. in on_done)."""
        if changes:
            self.events.sig_data_changed.emit(list(changes))
