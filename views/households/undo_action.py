"""Ctrl+Z in the register and visit screens: undo the last edit and say in the status bar what was
undone. Messages to the status bar go through notify()."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit, QMainWindow, QWidget

from db.register import undo as undo_service
from i18n import _
from views.households.common import shortcut

STATUS_MS = 15_000


def notify(widget: QWidget, text: str) -> None:
    """Show a short confirmation in the main window's status bar (and remember it on the widget)."""
    widget.setProperty("lastStatus", text)
    window = widget.window()
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, STATUS_MS)


def undo_last(ctx, parent: QWidget) -> None:
    store = ctx.store
    if undo_service.last_edit(store) is None:
        notify(parent, _("There is nothing to undo."))
        return
    what = undo_service.describe_last_edit(store)

    def done(changes):
        ctx.data_changed(changes)
        notify(parent, _("Undone: {what}").format(what=what))

    ctx.tasks.run(lambda _s: undo_service.undo_last_edit(store), title=_("Undo: {what}").format(what=what),
                  on_done=done, parent=parent)


class _LineEditUndo(QObject):
    """A line edit keeps Ctrl+Z for its own text only while it has typing to undo; the register's
    search field never does (its text is retyped in a moment, an edit is not)."""

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QLineEdit)
                and event.matches(QKeySequence.StandardKey.Undo)
                and (obj.isReadOnly() or not obj.isUndoAvailable() or obj.property("registerUndo"))):
            event.ignore()
            return True
        return False


def install_undo(screen: QWidget, ctx) -> None:
    """Ctrl+Z anywhere in the screen undoes the last register edit."""
    shortcut(screen, "Ctrl+Z", lambda: undo_last(ctx, screen), context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
    screen._line_edit_undo = _LineEditUndo(screen)  # noqa: SLF001 - keep it alive with the screen
    for edit in screen.findChildren(QLineEdit):
        edit.installEventFilter(screen._line_edit_undo)  # noqa: SLF001
