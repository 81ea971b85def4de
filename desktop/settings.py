"""User settings over QSettings: language, text size, window geometry, last database, last screen."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal

from i18n import DEFAULT_LANGUAGE, LANGUAGES

TEXT_SCALES = (100, 125, 150)
ORGANIZATION = "GridDesk"
APPLICATION = "GridDesk"


class Settings(QObject):
    """Typed access to the persisted settings; emits a signal when a live setting changes."""

    sig_text_scale_changed = Signal(int)
    """The text size (percent) changed; the application font follows."""
    sig_language_changed = Signal(str)
    """The interface language changed (code such as "zh_CN" or "en")."""

    def __init__(self, qsettings: QSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.qs = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)

    # -- language -------------------------------------------------------------------------------
    @property
    def language(self) -> str:
        value = str(self.qs.value("ui/language", DEFAULT_LANGUAGE))
        return value if value in LANGUAGES else DEFAULT_LANGUAGE

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(lang)
        changed = lang != self.language
        self.qs.setValue("ui/language", lang)
        self.qs.sync()
        if changed:
            self.sig_language_changed.emit(lang)

    # -- text size ------------------------------------------------------------------------------
    @property
    def text_scale(self) -> int:
        try:
            value = int(self.qs.value("ui/text_scale", 100))
        except (TypeError, ValueError):
            return 100
        return value if value in TEXT_SCALES else 100

    def set_text_scale(self, percent: int) -> None:
        if percent not in TEXT_SCALES:
            raise ValueError(percent)
        changed = percent != self.text_scale
        self.qs.setValue("ui/text_scale", percent)
        self.qs.sync()
        if changed:
            self.sig_text_scale_changed.emit(percent)

    # -- window ---------------------------------------------------------------------------------
    @property
    def window_geometry(self) -> QByteArray | None:
        value = self.qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_geometry(self, geometry: QByteArray) -> None:
        self.qs.setValue("window/geometry", geometry)

    @property
    def last_screen(self) -> str | None:
        value = self.qs.value("window/last_screen")
        return str(value) if value else None

    def set_last_screen(self, key: str) -> None:
        self.qs.setValue("window/last_screen", key)

    # -- database -------------------------------------------------------------------------------
    @property
    def last_db_path(self) -> str | None:
        value = self.qs.value("db/last_path")
        return str(value) if value else None

    def set_last_db_path(self, path: str | None) -> None:
        if path:
            self.qs.setValue("db/last_path", str(path))
        else:
            self.qs.remove("db/last_path")
        self.qs.sync()

    # -- operator -------------------------------------------------------------------------------
    @property
    def operator_name(self) -> str:
        """Who works at this computer, as changes, revealed numbers and exchanges record it
        (empty: the computer's login name)."""
        return str(self.qs.value("user/name", "") or "").strip()

    def set_operator_name(self, name: str) -> None:
        self.qs.setValue("user/name", (name or "").strip())
        self.qs.sync()

    # -- this computer -------------------------------------------------------------------------
    @property
    def device_name(self) -> str:
        """The name this computer goes by in other devices' lists (named once, for every database)."""
        return str(self.qs.value("device/name", "") or "").strip()

    def set_device_name(self, name: str) -> None:
        self.qs.setValue("device/name", (name or "").strip())
        self.qs.sync()

    # -- files --------------------------------------------------------------------------------
    @property
    def last_folder(self) -> str | None:
        """The folder of the last file opened or saved through a file dialog."""
        value = self.qs.value("files/last_folder")
        return str(value) if value else None

    def set_last_folder(self, folder: str) -> None:
        self.qs.setValue("files/last_folder", str(folder))
        self.qs.sync()

    def sync(self) -> None:
        self.qs.sync()
