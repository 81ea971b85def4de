"""The one place that shows errors to the user.

GridDeskError messages are already translated and written for the user: they are shown as they
are. Anything else is a bug or an environment problem: a short Chinese message, with the
technical details (traceback) folded away under "Show Details".
"""

from __future__ import annotations

import logging
import sys
import traceback

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from db.errors import Cancelled, GridDeskError
from i18n import _

log = logging.getLogger(__name__)


def describe(error: BaseException | str) -> tuple[str, str | None]:
    """The text shown to the user and the optional technical details."""
    if isinstance(error, str):
        return error, None
    if isinstance(error, GridDeskError):
        return error.message, None
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return _("Something went wrong and the operation was not completed. Nothing of it was saved. "
             "If this happens again, show the details below to your support contact."), details


def _usable_parent(parent: QWidget | None) -> QWidget | None:
    """The given parent if it is still alive, else the active visible window, else none."""
    for candidate in (parent, QApplication.activeWindow()):
        # Never a dialog (another message box, a progress dialog): it goes away, and would take
        # this box with it.
        while isinstance(candidate, QDialog):
            candidate = candidate.parentWidget()
        if candidate is not None and shiboken6.isValid(candidate) and candidate.isVisible():
            return candidate
    return None


class ErrorReporter(QObject):
    """Shows errors in a message box; workers hand their exceptions back here, never show them."""

    sig_shown = Signal(str)
    """Emitted with the message text each time an error is shown."""

    def __init__(self, parent: QObject | None = None, *, modal: bool = True):
        super().__init__(parent)
        # modal=False (tests) opens the box without a nested event loop.
        self.modal = modal
        self.last_message: str | None = None
        self.last_details: str | None = None
        self.last_box: QMessageBox | None = None
        self._open_boxes: set[QMessageBox] = set()

    def _box(self, error: BaseException | str, parent: QWidget | None) -> QMessageBox:
        message, details = describe(error)
        if details:
            log.error("unexpected error: %s", details)
        self.last_message, self.last_details = message, details
        box = QMessageBox(_usable_parent(parent))
        box.setIcon(QMessageBox.Icon.Critical if details else QMessageBox.Icon.Warning)
        box.setWindowTitle(_("GridDesk"))
        box.setText(message)
        if details:
            box.setDetailedText(details)
        self.last_box = box
        # A parentless open box must stay referenced until it is closed.
        self._open_boxes.add(box)
        box.finished.connect(lambda _result, b=box: self._open_boxes.discard(b))
        return box

    def show(self, error: BaseException | str, parent: QWidget | None = None) -> None:
        if isinstance(error, Cancelled):
            return  # the user asked for it; nothing to report
        box = self._box(error, parent)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.sig_shown.emit(self.last_message)
        if self.modal:
            box.exec()
        else:
            box.open()

    def ask(self, error: BaseException | str, question: str, choices: list[str],
            parent: QWidget | None = None) -> int | None:
        """Show the error with a question and one button per choice (the last one cancels).

        Returns the index of the chosen button, or None when the box was closed or is not modal.
        """
        box = self._box(error, parent)
        box.setInformativeText(question)
        buttons = []
        for n, text in enumerate(choices):
            role = QMessageBox.ButtonRole.RejectRole if n == len(choices) - 1 else QMessageBox.ButtonRole.AcceptRole
            buttons.append(box.addButton(text, role))
        self.sig_shown.emit(self.last_message)
        if not self.modal:
            box.open()
            return None
        box.exec()
        clicked = box.clickedButton()
        return buttons.index(clicked) if clicked in buttons else None

    def install_excepthook(self) -> None:
        """Exceptions that escape a slot on the GUI thread end up here instead of a dead console."""
        previous = sys.excepthook

        def hook(exc_type, exc, tb):
            if QApplication.instance() is None or not issubclass(exc_type, Exception):
                previous(exc_type, exc, tb)
                return
            self.show(exc.with_traceback(tb) if exc is not None else exc_type())

        sys.excepthook = hook
