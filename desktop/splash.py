"""The very first window of the process, painted before anything heavy is imported.

Only Qt's three modules (QtCore, QtGui, QtWidgets) and the standard library are imported here: the
window shows the application's name in the bundled font, is painted, and only then does the
caller load the translations, the database layer and the screens (about a second more on an
office laptop). Its status line is set when the catalogue is there (`set_text`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

MAIN_FONT_FILE = Path(__file__).resolve().parent.parent / "resources" / "fonts" / "wqy-zenhei.ttc"
APP_NAME = "网格台账 GridDesk"  # the product's name, the same in every language
PAINT_WAIT_S = 0.5

_main_family: str | None = None
_early: StartingWindow | None = None
_painted = False


def main_font_family() -> str | None:
    """The bundled main face (WenQuanYi Zen Hei), registered once per process; None if it cannot load."""
    global _main_family
    if _main_family is None:
        font_id = QFontDatabase.addApplicationFont(str(MAIN_FONT_FILE)) if MAIN_FONT_FILE.is_file() else -1
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        _main_family = families[0] if families else ""
    return _main_family or None


class StartingWindow(QWidget):
    """Shown at once while the database opens, so the first seconds never show nothing."""

    def __init__(self, text: str = ""):
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("startingWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("QWidget#startingWindow { background: #f3f5f8; border: 1px solid #d9dde3; }"
                           "QLabel#startTitle { color: #0b4ea2; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(36, 28, 36, 28)
        title = QLabel(APP_NAME)
        title.setObjectName("startTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.text = QLabel(text)
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance("M") * 22)
        layout.addWidget(self.text)

    def paintEvent(self, event):  # noqa: N802 - Qt's name
        super().paintEvent(event)
        _report_first_paint()


def _report_first_paint() -> None:
    """bench/bench_first_paint.py times process start to this line (GRIDDESK_REPORT_FIRST_PAINT=1)."""
    global _painted
    if not _painted:
        _painted = True
        if os.environ.get("GRIDDESK_REPORT_FIRST_PAINT"):
            print("FIRST_PAINT", flush=True)


def show_early_window() -> StartingWindow:
    """A QApplication, the bundled font and the starting window, painted before this returns
    (or after PAINT_WAIT_S at most: a window manager that maps it late does not hold up the start).
    Once per process: a second call returns the window already shown."""
    global _early
    if _early is not None:
        return _early
    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("GridDesk")
    app.setApplicationName("GridDesk")
    family = main_font_family()
    if family:
        font = QFont(family)
        font.setPointSizeF(11.0 * _text_scale() / 100)  # desktop.appearance.BASE_POINT_SIZE at the set size
        app.setFont(font)
    _early = StartingWindow()
    _early.adjustSize()
    screen = app.primaryScreen()
    if screen is not None:  # in the middle of the screen, where the main window will be
        _early.move(screen.availableGeometry().center() - _early.rect().center())
    _early.show()
    deadline = time.monotonic() + PAINT_WAIT_S
    while not _painted and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        if not _painted:
            time.sleep(0.002)
    return _early


def _text_scale() -> int:
    """The text size set in 设置 (desktop.settings, the same QSettings), so 150 % starts at 150 %."""
    try:
        value = int(QSettings("GridDesk", "GridDesk").value("ui/text_scale", 100))
    except (TypeError, ValueError):
        return 100
    return value if 50 <= value <= 300 else 100


def set_text(text: str) -> None:
    """The starting window's status line (once the translations are loaded)."""
    if _early is not None:
        _early.text.setText(text)
        QApplication.processEvents()


def take_early_window() -> StartingWindow | None:
    """The early window, for the shell to close when its own window is up (once)."""
    global _early
    window, _early = _early, None
    return window
