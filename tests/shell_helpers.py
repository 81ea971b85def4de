"""Shared set-up for the GUI tests: a Shell with its own settings file and a real database file."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import i18n
from desktop import appearance
from desktop.app import Shell
from desktop.errors import ErrorReporter
from desktop.settings import Settings


def make_settings(folder: Path) -> Settings:
    return Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))


def start_shell(qtbot, settings: Settings, db_path: Path | None, *, demo_households: int = 0,
                wait_window: bool = True) -> Shell:
    """Start the app on db_path (no nested event loops: errors open non-modal boxes)."""
    shell = Shell(QApplication.instance(), settings, errors=ErrorReporter(modal=False),
                  demo_households=demo_households)
    shell.start(db_path)
    if wait_window:
        qtbot.waitUntil(lambda: shell.window is not None and shell.window.isVisible(), timeout=20000)
    return shell


def stop_shell(shell: Shell) -> None:
    if shell.window is not None:
        shell.window.close()
        shell.window.deleteLater()
    shell.tasks.shutdown(wait=True)
    if shell.ctx is not None:
        shell.ctx.store.close()
    box = shell.errors.last_box
    if box is not None and shiboken6.isValid(box):
        box.close()
    appearance.apply_text_scale(100)
    appearance.load_qt_translations(QApplication.instance(), "zh_CN")
    i18n.set_language("zh_CN")
