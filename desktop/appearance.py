"""Fonts, text size, Qt's own translations and the look of the application."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, QTranslator, Signal
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
FONT_FILE = RESOURCES / "fonts" / "wqy-zenhei.ttc"  # = desktop.splash.MAIN_FONT_FILE
FALLBACK_FAMILY = "WenQuanYi Zen Hei"
# Readable for older staff at 100%: a little larger than the usual 9-10 pt desktop default.
BASE_POINT_SIZE = 11.0

_family: str | None = None
_rare_families: list[str] = []
_qt_translators: list[QTranslator] = []

STYLE_SHEET = """
QListWidget#navigation {
    border: none;
    background: #f3f5f8;
    outline: 0;
    padding: 0.3em 0;
}
QListWidget#navigation::item {
    padding: 0.55em 1.1em;
    border-left: 3px solid transparent;
    color: #222;
}
QListWidget#navigation::item:hover {
    background: #e6ebf2;
}
QListWidget#navigation::item:selected {
    background: #dfe8f6;
    color: #0b4ea2;
    border-left: 3px solid #1f6fd1;
}
QWidget#sidebar { background: #f3f5f8; }
QSplitter#mainSplitter::handle { background: #d9dde3; }
QLabel#appTitle { color: #0b4ea2; }
QLabel#appSubtitle { color: #667085; }
QLabel#screenHeading { color: #1b2430; }
QLabel#placeholderNote {
    color: #8a5a00;
    background: #fff6e0;
    border: 1px solid #f0d9a0;
    border-radius: 4px;
    padding: 0.5em 0.8em;
}
QLabel#hint { color: #667085; }
QGroupBox {
    font-weight: bold;
    border: 1px solid #d9dde3;
    border-radius: 6px;
    margin-top: 0.9em;
    padding: 0.9em 0.8em 0.6em 0.8em;
}
QGroupBox::title {
    subcontrol-origin: margin;
    left: 0.8em;
    padding: 0 0.3em;
}
QStatusBar QLabel { padding: 0 0.6em; color: #394150; }
"""


def _add_font(path: Path) -> list[str]:
    font_id = QFontDatabase.addApplicationFont(str(path)) if path.is_file() else -1
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.warning("could not load %s", path)
    return families


def register_fonts() -> str:
    """Register the bundled CJK fonts and return the main family (so no machine shows boxes).

    The rare-character faces (HanaMin B for Extensions B-F, the BabelStone Han subset for G-I and
    the Unifont subset for 81 more of G, the same files as the printouts) are registered too and follow the main family in every
    application font (font_families), so 赵孟𫖯 shows 𫖯 in lists, editors, charts and dialogs."""
    global _family
    if _family:
        return _family
    from desktop.splash import main_font_family  # registered once, by the starting window if it is up

    family = main_font_family()
    if family is None:
        log.warning("could not load %s", FONT_FILE)
        family = FALLBACK_FAMILY
    from printouts.font_files import RARE_FONT_FILES

    for path in RARE_FONT_FILES:
        for name in _add_font(path)[:1]:
            if name not in _rare_families:
                _rare_families.append(name)
    # A widget or style sheet that names only the main family still falls back to the rare faces.
    QFont.insertSubstitutions(family, _rare_families)
    _family = family
    return family


def font_families() -> list[str]:
    """The application's font families in fallback order: the main face, then the rare faces."""
    return [register_fonts(), *_rare_families]


def rare_families() -> list[str]:
    register_fonts()
    return list(_rare_families)


def shows_char(char: str, font: QFont | None = None) -> bool:
    """Whether one of the font's families (the main face, then the rare faces) has a glyph for char."""
    font = QFont(font or QApplication.font())
    families = font.families() or [font.family()]
    for family in families:
        single = QFont(font)
        single.setFamilies([family])
        if QFontMetrics(single).inFontUcs4(ord(char)):
            return True
    return False


def application_font(percent: int) -> QFont:
    font = QFont(register_fonts())
    font.setFamilies(font_families())
    font.setPointSizeF(BASE_POINT_SIZE * percent / 100)
    return font


def apply_text_scale(percent: int, app: QApplication | None = None) -> None:
    """Set the application font for the text size; every widget without its own font follows."""
    app = app or QApplication.instance()
    app.setFont(application_font(percent))
    # With an application style sheet, Qt does not pass a new application font on to existing
    # widgets; setting the sheet again re-polishes them all with the new font.
    sheet = app.styleSheet()
    if sheet:
        app.setStyleSheet(sheet)
    font_notifier().sig_font_changed.emit()
    from desktop import fit_text

    fit_text.install(app)
    fit_text.refit_all()  # columns and open dialogs sized for the old text size


class FontNotifier(QObject):
    """Widgets with a font of their own (headings, titles) rescale when the text size changes."""

    sig_font_changed = Signal()
    """The application font changed (text size); recompute derived fonts."""


_notifier: FontNotifier | None = None


def font_notifier() -> FontNotifier:
    global _notifier
    if _notifier is None:
        _notifier = FontNotifier()
    return _notifier


class ScaledStyle(QProxyStyle):
    """Fusion, with check boxes, radio buttons and small icons growing with the text size."""

    SCALED = (
        QStyle.PixelMetric.PM_IndicatorWidth, QStyle.PixelMetric.PM_IndicatorHeight,
        QStyle.PixelMetric.PM_ExclusiveIndicatorWidth, QStyle.PixelMetric.PM_ExclusiveIndicatorHeight,
        QStyle.PixelMetric.PM_SmallIconSize, QStyle.PixelMetric.PM_ScrollBarExtent,
    )

    def pixelMetric(self, metric, option=None, widget=None) -> int:  # noqa: N802 - Qt override
        value = super().pixelMetric(metric, option, widget)
        if metric in self.SCALED:
            factor = QApplication.font().pointSizeF() / BASE_POINT_SIZE
            if factor > 1.01:
                return round(value * factor)
        return value


_style: QStyle | None = None


def apply_style(app: QApplication) -> None:
    global _style
    if _style is None:
        _style = ScaledStyle(QStyleFactory.create("Fusion"))
    app.setStyle(_style)
    app.setStyleSheet(STYLE_SHEET)


def load_qt_translations(app: QApplication, lang: str) -> bool:
    """Load Qt's own catalogues (qtbase_*) so its dialogs and buttons speak the same language."""
    for old in _qt_translators:
        app.removeTranslator(old)
    _qt_translators.clear()
    if lang == "en":
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
        return True
    QLocale.setDefault(QLocale(lang))
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    loaded = False
    for name in ("qtbase", "qt"):
        translator = QTranslator(app)
        if translator.load(f"{name}_{lang}", folder):
            app.installTranslator(translator)
            _qt_translators.append(translator)
            loaded = True
    if not loaded:
        log.warning("no Qt translations for %s in %s", lang, folder)
    from desktop.qt_translations import SupplementTranslator

    supplement = SupplementTranslator(lang, app)
    if not supplement.isEmpty():
        app.installTranslator(supplement)
        _qt_translators.append(supplement)
    return loaded
