"""Background tasks: database writes on one writer thread, other I/O on a small pool.

A task is a plain function `fn(state)` that loops, reports `state.set_progress(done, total)` and
checks `state.is_cancelled()` (then raises db.errors.Cancelled so its transaction rolls back).
Its result comes back to the GUI thread by a queued signal, where on_done / on_error run.
Workers never touch widgets. A progress dialog with a cancel button appears only when a task is
still running after DIALOG_DELAY_MS, so quick work shows nothing; background chores (the daily
backup) pass show_progress=False and never show one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import shiboken6
from PySide6.QtCore import SIGNAL, SLOT, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QProgressDialog, QPushButton, QWidget

from db.errors import Cancelled
from i18n import _

DIALOG_DELAY_MS = 500
PROGRESS_INTERVAL_S = 0.1


class TaskState:
    """What the worker function sees: progress reporting and the cancel flag."""

    def __init__(self, emit: Callable[[int, int, str], None] | None = None,
                 min_interval: float = PROGRESS_INTERVAL_S):
        self._emit = emit
        self._cancel = threading.Event()
        self._min_interval = min_interval
        self._last_emit = 0.0
        self._last_done: int | None = None
        self.done = 0
        self.total = 0
        self.text: str | None = None
        self.emitted = 0  # how many progress updates reached the GUI (throttling is testable)

    def set_progress(self, done: int, total: int, text: str | None = None) -> None:
        """Report progress; updates are passed on at most every 0.1 s (and always at the end)."""
        self.done, self.total = int(done), int(total)
        if text is not None:
            self.text = text
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and self._last_done is not None and now - self._last_emit < self._min_interval:
            return
        if done == self._last_done and text is None and not final:
            return
        self._last_emit, self._last_done = now, done
        self.emitted += 1
        if self._emit is not None:
            self._emit(self.done, self.total, self.text or "")

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise Cancelled if the user cancelled (convenient inside loops)."""
        if self._cancel.is_set():
            raise Cancelled(_("The operation was cancelled; nothing of it was saved."))

    def cancel(self) -> None:
        self._cancel.set()

    def progress_callback(self) -> Callable[[int, int], bool]:
        """A `progress(done, total) -> keep_going` callback for db/ functions such as demo.generate."""

        def progress(done: int, total: int) -> bool:
            self.set_progress(done, total)
            return not self.is_cancelled()

        return progress


class _ProgressDialog(QProgressDialog):
    """A progress dialog that stays up until its task ends: cancelling (button, Escape, the window's
    close box) only asks the task to stop; the dialog then says so until the work really ends."""

    def __init__(self, title: str, cancel_text: str, parent: QWidget | None):
        super().__init__(title, cancel_text, 0, 0, parent)
        # QProgressDialog hides and resets itself on cancel: the task's end closes it instead.
        QObject.disconnect(self, SIGNAL("canceled()"), self, SLOT("cancel()"))
        if not cancel_text:
            self.setCancelButton(None)
        # The dialog's own button (replacing it would leave two Escape shortcuts, which then both
        # do nothing).
        self.cancel_button: QPushButton | None = self.findChild(QPushButton) if cancel_text else None
        self.task_over = False

    def _ask_cancel(self) -> None:
        if self.cancel_button is not None and self.cancel_button.isEnabled():
            self.canceled.emit()

    def reject(self) -> None:  # Escape
        if self.task_over:
            super().reject()
        else:
            self._ask_cancel()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.task_over:
            event.accept()
            return
        event.ignore()
        self._ask_cancel()

    def show_cancelling(self) -> None:
        self.setLabelText(_("Cancelling…"))
        if self.cancel_button is not None:
            self.cancel_button.setEnabled(False)


class Task(QObject):
    """One submitted task; lives on the GUI thread, its worker reports through queued signals."""

    sig_progress = Signal(int, int, str)
    """(done, total, text) re-emitted on the GUI thread for whoever wants to follow a task."""
    # The worker thread emits only argument-less signals; the values travel in Python attributes
    # (emitting Python objects across threads has crashed PySide6 with a refcount error).
    _sig_worker_progress = Signal()
    _sig_worker_finished = Signal()
    sig_done = Signal()
    """The task is over (done, failed or cancelled) and its callbacks have run."""

    def __init__(self, runner: TaskRunner, title: str, parent_widget: QWidget | None,
                 on_done, on_error, on_cancel, cancellable: bool):
        super().__init__()
        self.runner = runner
        self.title = title
        self.parent_widget = parent_widget
        self.on_done, self.on_error, self.on_cancel = on_done, on_error, on_cancel
        self.cancellable = cancellable
        self.state = TaskState(self._worker_progress)
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.dialog: _ProgressDialog | None = None
        self.dialog_shown = False
        self._outcome: tuple[Any, BaseException | None] = (None, None)
        self._sig_worker_progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._sig_worker_finished.connect(self._on_worker_finished, Qt.ConnectionType.QueuedConnection)

    # -- worker-thread side ---------------------------------------------------------------------
    def _worker_progress(self, done: int, total: int, text: str) -> None:
        self._sig_worker_progress.emit()

    def _worker_finished(self, result: Any, error: BaseException | None) -> None:
        self._outcome = (result, error)
        self._sig_worker_finished.emit()

    # -- called by the user / tests -------------------------------------------------------------
    def cancel(self) -> None:
        self.state.cancel()
        if self._dialog_alive():
            self.dialog.show_cancelling()  # stays up, saying so, until the work really ends

    @Slot()
    def _cancel_from_dialog(self) -> None:
        if self.cancellable:
            self.cancel()

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, Cancelled)

    # -- GUI-thread side ------------------------------------------------------------------------
    def _parent_alive(self) -> bool:
        return self.parent_widget is None or shiboken6.isValid(self.parent_widget)

    def _dialog_alive(self) -> bool:
        # The dialog is a child of the parent window: closing and deleting that window takes
        # the dialog with it, and the Python wrapper is left pointing at nothing.
        return self.dialog is not None and shiboken6.isValid(self.dialog)

    @Slot()
    def _show_dialog(self) -> None:
        if self.finished or self.dialog is not None:
            return
        parent = self.parent_widget if self._parent_alive() else None
        dialog = _ProgressDialog(self.title, _("Cancel") if self.cancellable else "", parent)
        dialog.setWindowTitle(self.title)
        dialog.setAutoReset(False)
        dialog.setAutoClose(False)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(380)
        dialog.setWindowModality(Qt.WindowModality.WindowModal if parent else Qt.WindowModality.ApplicationModal)
        dialog.canceled.connect(self._cancel_from_dialog)
        self.dialog = dialog
        self.dialog_shown = True
        if self.state.is_cancelled():
            dialog.show_cancelling()
        dialog.show()
        self._update_dialog(self.state.done, self.state.total, self.state.text or "")

    def _update_dialog(self, done: int, total: int, text: str) -> None:
        if not self._dialog_alive():
            return
        dialog = self.dialog
        if not self.state.is_cancelled():
            label = text or self.title
            if total > 0:
                label = _("{text}\n{done} of {total}").format(text=label, done=f"{done:,}", total=f"{total:,}")
            dialog.setLabelText(label)
        # setValue() of a modal progress dialog processes events, so the task may finish (and
        # the dialog go away) inside it: set the value last.
        if total > 0:
            dialog.setRange(0, 1000)
            dialog.setValue(min(1000, int(1000 * done / total)))
        else:
            dialog.setRange(0, 0)

    @Slot()
    def _on_progress(self) -> None:
        if self.finished:
            return
        state = self.state
        done, total, text = state.done, state.total, state.text or ""
        self._update_dialog(done, total, text)
        self.sig_progress.emit(min(done, 2**31 - 1), min(total, 2**31 - 1), text)

    @Slot()
    def _on_worker_finished(self) -> None:
        self._on_finished(*self._outcome)

    def _on_finished(self, result, error) -> None:
        self.finished = True
        self.result, self.error = result, error
        dialog, alive = self.dialog, self._dialog_alive()
        self.dialog = None
        if alive:
            dialog.canceled.disconnect(self._cancel_from_dialog)
            dialog.task_over = True
            dialog.close()
            dialog.deleteLater()
        try:
            if not self._parent_alive():
                return  # the screen that asked is gone; its stale result is dropped
            if error is None:
                if self.on_done is not None:
                    self.on_done(result)
            elif isinstance(error, Cancelled):
                if self.on_cancel is not None:
                    self.on_cancel()
            elif self.on_error is not None:
                self.on_error(error)
            else:
                self.runner.report(error, self.parent_widget)
        finally:
            self.runner._forget(self)
            self.sig_done.emit()


def _show_if_alive(ref: weakref.ref) -> None:
    task = ref()
    if task is not None and shiboken6.isValid(task):
        task._show_dialog()


class TaskRunner(QObject):
    """Runs tasks off the GUI thread; synchronous=True runs them inline (tests)."""

    def __init__(self, errors=None, *, synchronous: bool = False, dialog_delay_ms: int = DIALOG_DELAY_MS,
                 io_workers: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self.errors = errors
        self.synchronous = synchronous
        self.dialog_delay_ms = dialog_delay_ms
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="griddesk-db")
        self._io = ThreadPoolExecutor(max_workers=io_workers, thread_name_prefix="griddesk-io")
        self._active: set[Task] = set()
        self._stopped = False
        # The peewee databases that I/O tasks may have read (the shell sets this to the open store).
        self.io_databases: Callable[[], list] = list

    def run(self, fn: Callable[[TaskState], Any], *, title: str, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None, on_cancel: Callable[[], None] | None = None,
            parent: QWidget | None = None, io: bool = False, cancellable: bool = True,
            show_progress: bool = True) -> Task:
        """Start fn(state) in the background and return at once; callbacks run on the GUI thread.

        Database work runs on the single writer thread; io=True runs on the I/O pool (files,
        network, PDF rendering) and must not write the database. show_progress=False never shows
        the progress dialog (background chores that nobody waits for, e.g. the daily backup; the
        caller says what is going on some quieter way, see AppContext.status_note).
        """
        task = Task(self, title, parent, on_done, on_error, on_cancel, cancellable)
        if self._stopped:
            return task  # the app is closing: a late callback's follow-up work is not started
        task.io = io
        self._active.add(task)
        if self.synchronous:
            result, error = self._call(fn, task.state)
            task._on_finished(result, error)
            return task
        # The timer holds the task weakly: a quick task is finished and collected before it fires
        # (a bound method of a collected task once reached _show_dialog with a stale self).
        if show_progress:
            ref = weakref.ref(task)
            QTimer.singleShot(self.dialog_delay_ms, self, lambda: _show_if_alive(ref))
        executor = self._io if io else self._writer
        executor.submit(self._work, fn, task, io)
        return task

    @staticmethod
    def _call(fn, state: TaskState) -> tuple[Any, BaseException | None]:
        try:
            return fn(state), None
        except BaseException as exc:  # noqa: BLE001 - handed back to the GUI thread
            return None, exc

    def _work(self, fn, task: Task, io: bool = False) -> None:
        result, error = self._call(fn, task.state)
        if io:
            self._close_io_connections()
        task._worker_finished(result, error)

    def _close_io_connections(self) -> None:
        # peewee keeps one connection per thread; a pool thread must not keep the file open
        # (another database may be opened or a backup restored before it runs again).
        for database in self.io_databases():
            try:
                if not database.is_closed():
                    database.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def report(self, error: BaseException, parent: QWidget | None = None) -> None:
        if self.errors is not None:
            self.errors.show(error, parent)
        else:
            raise error

    def _forget(self, task: Task) -> None:
        self._active.discard(task)

    @property
    def active(self) -> list[Task]:
        return list(self._active)

    def call_on_writer(self, fn: Callable[[], Any], *, wait: bool = True, timeout: float | None = 30) -> Any:
        """Run a short fn on the writer thread after the tasks queued before it (e.g. closing
        its database connection); wait=False returns at once."""
        if self.synchronous:
            return fn()
        future = self._writer.submit(fn)
        return future.result(timeout) if wait else None

    def cancel_all(self) -> None:
        for task in list(self._active):
            task.cancel()

    @property
    def pending_writes(self) -> list[Task]:
        """Database tasks (the writer thread) not finished yet: running or queued."""
        return [t for t in self._active if not t.finished and not getattr(t, "io", False)]

    def shutdown(self, wait: bool = True) -> None:
        """Cancel what can be cancelled (an import rolls back: nothing of it is written) and let
        every queued database task run: a queued write is finished, never dropped."""
        self._stopped = True
        self.cancel_all()
        self._writer.shutdown(wait=wait, cancel_futures=False)
        self._io.shutdown(wait=wait, cancel_futures=True)
