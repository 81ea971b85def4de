"""Find text that does not fit: labels, buttons and table header sections shorter than their text.

A label with word wrap must be as high as its text needs at its width; other labels and buttons
as wide as their size hint; a header section as wide as its text plus the style's margins, unless
the section elides its text and carries a tooltip with the full text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QWidget,
)

SLACK = 2  # pixels: rounding of fractional font metrics


def _really_visible(w: QWidget) -> bool:
    return w.isVisible() and w.width() > 0 and w.height() > 0


def clipped_widgets(root: QWidget) -> list[str]:
    problems: list[str] = []
    for w in [root, *root.findChildren(QWidget)]:
        if not _really_visible(w):
            continue
        if isinstance(w, QLabel):
            problems += _label(w)
        elif isinstance(w, QAbstractButton) and w.text():
            hint = w.sizeHint()
            if w.hasHeightForWidth():  # e.g. a command link button: its text wraps
                need = w.heightForWidth(w.width())
                if w.height() + SLACK < need:
                    problems.append(f"button “{w.text()}”: height {w.height()} < {need}")
                continue
            if w.width() + SLACK < hint.width() or w.height() + SLACK < min(hint.height(), w.maximumHeight()):
                problems.append(f"button “{w.text()}”: {w.width()}x{w.height()} < {hint.width()}x{hint.height()}")
        elif isinstance(w, QComboBox) and w.currentText() and not w.isEditable():
            need = w.fontMetrics().horizontalAdvance(w.currentText()) + w.style().pixelMetric(
                QStyle.PixelMetric.PM_ScrollBarExtent, None, w) + 8
            if w.width() + SLACK < need:
                problems.append(f"combo box “{w.currentText()[:40]}”: width {w.width()} < {need}")
        elif isinstance(w, QLineEdit) and not w.text() and w.placeholderText():
            # The hint of an empty field ("例如：幸福里社区居民委员会") must be readable in full.
            need = w.fontMetrics().horizontalAdvance(w.placeholderText()) + 12
            if w.width() + SLACK < need:
                problems.append(f"placeholder “{w.placeholderText()[:40]}”: width {w.width()} < {need}")
        elif isinstance(w, QHeaderView) and w.orientation() == Qt.Orientation.Horizontal:
            problems += header_problems(w)
    return problems


def _label(label: QLabel) -> list[str]:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return []
    if label.wordWrap():
        need = label.heightForWidth(label.width())
        if need > 0 and label.height() + SLACK < need:
            return [f"label “{text[:40]}”: height {label.height()} < {need} at width {label.width()}"]
        return []
    hint = label.sizeHint()
    if label.width() + SLACK < hint.width():
        return [f"label “{text[:40]}”: width {label.width()} < {hint.width()}"]
    return []


def header_problems(header: QHeaderView) -> list[str]:
    model = header.model()
    if model is None:
        return []
    view = header.parent()
    elide = isinstance(view, QAbstractItemView) and view.textElideMode() != Qt.TextElideMode.ElideNone
    style = header.style()
    margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    fm = header.fontMetrics()
    problems = []
    for i in range(header.count()):
        if header.isSectionHidden(i):
            continue
        text = str(model.headerData(i, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "")
        if not text:
            continue
        need = fm.horizontalAdvance(text) + 2 * margin
        if header.isSortIndicatorShown() and header.sortIndicatorSection() == i:
            need += style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header) + margin
        size = header.sectionSize(i)
        if size + SLACK >= need:
            continue
        tip = model.headerData(i, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        if elide and tip and str(tip).strip() and size >= fm.horizontalAdvance("…") + 2 * margin + fm.horizontalAdvance(text[:1]):
            continue  # elided ("联系…") with the whole text in the tooltip
        problems.append(f"header “{text}”: {size} < {need}")
    return problems


def visible_top_levels() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]
