"""Quitting never drops a write: closing the main window while database tasks are running or
queued waits for them (with a short note) or, for a running import or other long task whose
progress is on screen, asks: wait for it, or cancel it (cleanly: its transaction rolls back and
nothing of it is written) and close, or keep working."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from i18n import _


class _WaitNote(QProgressDialog):
    """'Saving the last changes…' while the window waits to close."""

    def __init__(self, parent: QWidget, text: str):
        super().__init__(text, "", 0, 0, parent)
        self.setCancelButton(None)
        self.setWindowTitle(_("Closing"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)


def may_close(window: QWidget, tasks) -> bool:
    """True: close now. False: the close is put off (waiting for writes, or the person chose to
    keep working); the window closes itself once the writes it waits for are done."""
    pending = tasks.pending_writes
    if not pending:
        note = getattr(window, "_quit_note", None)
        if note is not None and shiboken6.isValid(note):
            note.close()
        window._quit_note = None
        return True
    if getattr(window, "_quit_note", None) is not None:
        return False  # already waiting
    # A long task the person sees running (its progress dialog is up: an import, a big
    # spreadsheet) is their choice; saves and background chores are simply waited for.
    long_running = [t for t in pending if t.cancellable and t.dialog_shown]
    if long_running:
        box = QMessageBox(QMessageBox.Icon.Question, _("GridDesk is still working"),
                          _("“{task}” is still running. Wait until it is finished, or cancel it (nothing of it "
                            "is written) and close?").format(task=long_running[0].title), parent=window)
        wait = box.addButton(_("Wait, then close"), QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(_("Cancel it and close"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(_("Keep working"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(wait)
        window._quit_box = box
        box.exec()
        window._quit_box = None
        chosen = box.clickedButton()
        if chosen is cancel:
            for task in long_running:
                task.cancel()
        elif chosen is not wait:
            return False
    text = _("Saving the last changes before closing…")
    note = _WaitNote(window, text)
    window._quit_note = note
    note.show()

    def check() -> None:
        if not shiboken6.isValid(window):
            return
        if not tasks.pending_writes and getattr(window, "_quit_note", None) is note:
            window.close()

    for task in tasks.pending_writes:
        task.sig_done.connect(check, Qt.ConnectionType.QueuedConnection)
    return False
