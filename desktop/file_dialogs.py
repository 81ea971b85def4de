"""File dialogs that start where a person keeps files and remember the last folder used.

Qt's dialogs open in the working directory (the program folder) when given no folder; ours open
in the last folder used (saved in Settings), else the Documents folder, else the home folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget


def default_folder() -> Path:
    """The Documents folder when there is one, else the home folder."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if docs and Path(docs).is_dir():
        return Path(docs)
    return Path.home()


def start_folder(settings) -> Path:
    last = settings.last_folder if settings is not None else None
    if last and Path(last).is_dir():
        return Path(last)
    return default_folder()


def remember(settings, path: str | Path) -> None:
    """Remember the folder of a chosen file (or the chosen folder itself)."""
    if settings is None or not path:
        return
    path = Path(path)
    settings.set_last_folder(str(path if path.is_dir() else path.parent))


def open_file(parent: QWidget | None, settings, caption: str, filters: str) -> str:
    """Ask for an existing file; "" when the person cancels."""
    name, _filter = QFileDialog.getOpenFileName(parent, caption, str(start_folder(settings)), filters)
    remember(settings, name)
    return name


def save_file(parent: QWidget | None, settings, caption: str, suggested_name: str, filters: str) -> str:
    """Ask where to save; the suggested file name is placed in the start folder."""
    suggested = Path(suggested_name)
    start = suggested if suggested.is_absolute() else start_folder(settings) / suggested
    name, _filter = QFileDialog.getSaveFileName(parent, caption, str(start), filters)
    remember(settings, name)
    return name


def choose_folder(parent: QWidget | None, settings, caption: str) -> str:
    folder = QFileDialog.getExistingDirectory(parent, caption, str(start_folder(settings)))
    remember(settings, folder)
    return folder
