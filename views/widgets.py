"""Small shared widgets and helpers for screens (no SQL here)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QFileDialog, QFrame, QGridLayout, QLabel, QScrollArea, QWidget

from desktop.appearance import font_notifier
from i18n import _


def scaled_font(factor: float, bold: bool = False) -> QFont:
    """The application font scaled by factor (follows the text-size setting when re-applied)."""
    font = QFont(QApplication.font())
    font.setPointSizeF(font.pointSizeF() * factor)
    font.setBold(bold)
    return font


class Heading(QLabel):
    """A screen title: larger and bold, and it follows text-size changes of the application."""

    def __init__(self, text: str, parent: QWidget | None = None, factor: float = 1.45):
        super().__init__(text, parent)
        self.factor = factor
        self.setObjectName("screenHeading")
        self.refresh_font()
        font_notifier().sig_font_changed.connect(self.refresh_font)

    def refresh_font(self) -> None:
        self.setFont(scaled_font(self.factor, bold=True))


def heading(text: str, parent: QWidget | None = None, factor: float = 1.45) -> Heading:
    return Heading(text, parent, factor)


def separator(parent: QWidget | None = None) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def save_chart_as_image(screen, default: str, file_prefix: str = "") -> None:
    """Ask where to save the chart under the mouse or with focus (else `default`) of a statistics
    screen (its `charts` dict and `save_chart(key, path)`), and say so when it cannot be written."""
    if not screen.charts:
        return
    focused = next((k for k, v in screen.charts.items() if v.underMouse() or v.hasFocus()), default)
    path, _filter = QFileDialog.getSaveFileName(screen, _("Save chart as image"), f"{file_prefix}{focused}.png",
                                                _("PNG image (*.png)"))
    if path and not screen.save_chart(focused, path):
        screen.ctx.errors.show(_("The image could not be written to {path}.").format(path=path), screen)



def nice_ticks(top: float, *, most: int = 6) -> tuple[int, int]:
    """A count axis from 0 with round steps (1, 2, 5 × 10^k) and room above the largest bar:
    (maximum, step), at most `most` intervals. 25 -> (30, 5); 7 -> (8, 2); 0 -> (2, 1)."""
    top = max(float(top), 1.0)
    step = 1
    while True:
        for factor in (1, 2, 5):
            candidate = step * factor
            maximum = candidate * (int(top * 1.1 // candidate) + 1)
            if maximum // candidate <= most:
                return int(maximum), int(candidate)
        step *= 10


def count_axis(top: float):
    """A QValueAxis for counts with nice_ticks: whole numbers at round, evenly spaced ticks."""
    from PySide6.QtCharts import QValueAxis

    maximum, step = nice_ticks(top)
    axis = QValueAxis()
    axis.setLabelFormat("%d")
    axis.setRange(0, maximum)
    axis.setTickCount(maximum // step + 1)
    axis.setMinorTickCount(0)
    return axis


CHART_MIN_EMS = 28  # a chart's minimum width in characters of the current font
CHART_MIN_LINES = 18  # and its minimum height in lines


def small_chart_font() -> QFont:
    """The font of chart axis labels: a little smaller than the text, never below 7 pt."""
    font = QFont(QApplication.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
    return font


def size_charts(owner: QWidget, charts) -> None:
    """Give each chart a readable minimum size at the current text size: every category label a
    line of its own (else Qt elides them to "…"); the page scrolls rather than squashing one."""
    fm, small = owner.fontMetrics(), QFontMetrics(small_chart_font())
    for view in charts:
        rows = int(view.property("categories") or 0)
        height = max(fm.height() * CHART_MIN_LINES, fm.height() * 8 + rows * small.height() * 2)
        width = fm.horizontalAdvance("会") * CHART_MIN_EMS
        labels = view.property("x_labels") or []
        if labels:
            # Every label under its bar in full (Qt elides one wider than its slot less the text
            # item's margins to "2…"): a label and a line's height of room per bar, plus the
            # value axis and the chart's margins.
            cell = max(small.horizontalAdvance(str(t)) for t in labels) + small.height()
            width = max(width, len(labels) * cell + fm.horizontalAdvance("会") * 6)
        view.setMinimumSize(width, height)


def arrange_charts(grid: QGridLayout, scroll: QScrollArea, charts: dict, order, columns: int,
                   force: bool = False) -> int:
    """Lay the charts out two a row when two fit side by side at their minimum width, else one;
    a chart wider than the others (every month label in full) takes a row of its own.
    Returns the number of columns now used (nothing moves when it did not change)."""
    if not charts:
        return columns
    narrow = min(view.minimumWidth() for view in charts.values())
    needed = 2 * narrow + 3 * grid.spacing() + 24
    wanted = 2 if scroll.viewport().width() >= needed else 1
    if wanted == columns and not force:
        return columns
    for view in charts.values():
        grid.removeWidget(view)
    row, col = 0, 0
    for key in order:
        view = charts[key]
        if wanted == 2 and view.minimumWidth() > narrow:
            if col:
                row, col = row + 1, 0
            grid.addWidget(view, row, 0, 1, 2)
            row += 1
            continue
        grid.addWidget(view, row, col)
        row, col = (row + 1, 0) if col + 1 == wanted else (row, col + 1)
    grid.setColumnStretch(0, 1)
    grid.setColumnStretch(1, 1 if wanted == 2 else 0)
    return wanted


class _PlaceholderFit(QObject):
    """Owned by its line edit (so the connection goes with it): keeps it as wide as its placeholder."""

    def __init__(self, edit) -> None:
        super().__init__(edit)
        self.edit = edit
        self.fit()
        font_notifier().sig_font_changed.connect(self.fit)

    def fit(self) -> None:
        fm = self.edit.fontMetrics()
        self.edit.setMinimumWidth(fm.horizontalAdvance(self.edit.placeholderText()) + 3 * fm.height())


def fit_placeholder(edit) -> None:
    """Keep a line edit at least as wide as its placeholder (with room for the clear button), now
    and whenever the text size changes: a search hint cut to its first words says nothing."""
    _PlaceholderFit(edit)
