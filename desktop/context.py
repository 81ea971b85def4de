"""AppContext: what every screen gets (the store, the task runner, errors, settings, events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from db.store import Store
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import Task, TaskRunner


class Events(QObject):
    """Application-wide notifications; views refresh from these instead of polling."""

    sig_data_changed = Signal(object)
    """Rows changed: a list of db.oplog.Change (emit on the GUI thread)."""
    sig_store_changed = Signal(object)
    """Another database file was opened: the new Store."""
    sig_backup_made = Signal(object)
    """A backup was written: its pathlib.Path (every backup, also those a task makes itself,
    e.g. before an import: emitted from the thread that made it, delivered on the GUI thread)."""
    sig_notes_changed = Signal()
    """The notes about background chores changed (see show_note); the main window shows the
    newest in its status bar."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from db.backup import add_backup_listener

        self.notes: list[str] = []
        add_backup_listener(self._backup_made)

    def show_note(self, text: str) -> Callable[[], None]:
        """Say in the status bar that a chore runs in the background (no dialog: nobody waits for
        it) until the returned function is called (call it on the GUI thread, also on failure)."""
        self.notes.append(text)
        self.sig_notes_changed.emit()
        cleared = False

        def clear() -> None:
            nonlocal cleared
            if not cleared:
                cleared = True
                self.notes.remove(text)
                self.sig_notes_changed.emit()

        return clear

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

    def run_chore(self, fn: Callable[[Any], Any], *, note: str, on_done: Callable[[Any], None] | None = None,
                  parent: QWidget | None = None) -> Task:
        """Run a background chore nobody waits for (the daily backup, tidying up after a large
        import): no progress dialog, only `note` in the status bar while it runs. An error still
        goes to the error reporter (over parent while it is open). on_done runs even when the
        screen that started the chore has been closed meanwhile."""
        clear = self.events.show_note(note)

        def done(result: Any) -> None:
            clear()
            if on_done is not None:
                on_done(result)

        def failed(error: BaseException) -> None:
            clear()
            self.errors.show(error, parent if parent is not None and shiboken6.isValid(parent) else None)

        return self.tasks.run(fn, title=note, on_done=done, on_error=failed, on_cancel=clear,
                              cancellable=False, show_progress=False)

    def data_changed(self, changes: list) -> None:
        """Tell every view what a write changed (call on the GUI thread, e.g. in on_done)."""
        if changes:
            self.events.sig_data_changed.emit(list(changes))
