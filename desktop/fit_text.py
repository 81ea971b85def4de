"""Text that fits at every text size: header sections grow to their titles, dialogs to their text.

At 150 % a column sized for 100 % cuts its title (性别 showed as 生别) and a dialog opened
before the change cuts its wrapped text. One application-wide event filter fixes both when a
table header is shown or its font changes, and `refit_all()` runs after a text-size change.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QHeaderView, QStyle

# Room for the sort arrow and the frame around the title, on top of the style's margins.
EXTRA = 10


def header_text_width(header: QHeaderView, section: int) -> int:
    model = header.model()
    text = str(model.headerData(section, header.orientation(), Qt.ItemDataRole.DisplayRole) or "")
    if not text:
        return 0
    margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    width = max(header.fontMetrics().horizontalAdvance(line) for line in text.split("\n"))
    if header.isSortIndicatorShown():
        width += header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header)
    return width + 2 * margin + EXTRA


def grow_header(header: QHeaderView) -> None:
    """Widen every user-sized section narrower than its title (never narrows one)."""
    if header.model() is None or header.orientation() != Qt.Orientation.Horizontal:
        return
    for section in range(header.count()):
        if header.isSectionHidden(section):
            continue
        mode = header.sectionResizeMode(section)
        if mode not in (QHeaderView.ResizeMode.Interactive, QHeaderView.ResizeMode.Fixed):
            continue
        need = header_text_width(header, section)
        if header.sectionSize(section) < need:
            header.resizeSection(section, need)


def grow_dialog(dialog: QDialog) -> None:
    """A dialog open while the text grew: as large as its content needs (within its screen)."""
    hint = dialog.sizeHint()
    screen = dialog.screen()
    size = dialog.size().expandedTo(hint)
    if screen is not None:
        area = screen.availableGeometry()
        size = size.boundedTo(area.size())
    if size != dialog.size():
        dialog.resize(size)


def refit_all() -> None:
    app = QApplication.instance()
    if app is None:
        return
    for widget in app.allWidgets():
        if isinstance(widget, QHeaderView):
            grow_header(widget)
    for widget in app.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            grow_dialog(widget)


class HeaderFitter(QObject):
    """Application event filter: a header shown (or given a new font) grows to its titles."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind in (QEvent.Type.Show, QEvent.Type.FontChange) and isinstance(obj, QHeaderView):
            QTimer.singleShot(0, lambda h=obj: _grow_if_alive(h))
        return False


def _grow_if_alive(header: QHeaderView) -> None:
    import shiboken6

    if shiboken6.isValid(header):
        grow_header(header)


_fitter: HeaderFitter | None = None


def install(app: QApplication) -> None:
    global _fitter
    if _fitter is None:
        _fitter = HeaderFitter(app)
        app.installEventFilter(_fitter)
