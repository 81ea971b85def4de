"""The one place that shows errors to the user.

GridDeskError messages are already translated and written for the user: they are shown as they
are. Anything else is a bug or an environment problem: a short Chinese message, with the
technical details (traceback) folded away under "Show Details".
"""

from __future__ import annotations

import logging
import sys
import traceback

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from db.errors import Cancelled, GridDeskError
from desktop.i18n import _

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

    def show(self, error: BaseException | str, parent: QWidget | None = None) -> None:
        if isinstance(error, Cancelled):
            return  # the user asked for it; nothing to report
        message, details = describe(error)
        if details:
            log.error("unexpected error: %s", details)
        self.last_message, self.last_details = message, details
        parent = parent or QApplication.activeWindow()
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical if details else QMessageBox.Icon.Warning)
        box.setWindowTitle(_("GridDesk"))
        box.setText(message)
        if details:
            box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.last_box = box
        self.sig_shown.emit(message)
        if self.modal:
            box.exec()
        else:
            box.open()

    def install_excepthook(self) -> None:
        """Exceptions that escape a slot on the GUI thread end up here instead of a dead console."""
        previous = sys.excepthook

        def hook(exc_type, exc, tb):
            if QApplication.instance() is None or not issubclass(exc_type, Exception):
                previous(exc_type, exc, tb)
                return
            self.show(exc.with_traceback(tb) if exc is not None else exc_type())

        sys.excepthook = hook
