"""One message catalogue for every layer (db/, printouts/, hub/, desktop/, views/).

Qt-free on purpose: db/ raises translated validation messages through it. Source strings are
English msgids; Simplified Chinese is the default language and its catalogue must cover every
msgid (tests/test_i18n.py fails otherwise). The sources are gettext .po files under
resources/locale/<lang>/LC_MESSAGES/*.po, one per area of the code so parallel work does not
collide. On first use of a language they are merged and compiled (Babel) into one .mo file in a
cache folder, named after a hash of the .po files (an edited .po compiles again), and read with
the standard library's gettext.GNUTranslations: plural forms follow the catalogue's Plural-Forms.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import tempfile
import threading
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "resources" / "locale"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
_BABEL_LOCALES = {"zh_CN": "zh_Hans_CN"}

_lock = threading.Lock()
_language = DEFAULT_LANGUAGE
_translations: dict[str, gettext.NullTranslations] = {}


def cache_dir() -> Path:
    """Where compiled catalogues are kept: $GRIDDESK_CACHE_DIR, else the user's cache folder."""
    explicit = os.environ.get("GRIDDESK_CACHE_DIR")
    if explicit:
        return Path(explicit) / "locale"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "GridDesk" / "locale"


def sources(lang: str) -> list[Path]:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return sorted(folder.glob("*.po")) if folder.is_dir() else []


def compile_catalogue(lang: str, target: Path) -> Path:
    """Merge every .po file of `lang` into one catalogue and write it as a .mo file at `target`."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    locale = _BABEL_LOCALES.get(lang, lang)
    merged = Catalog(locale=locale, domain="griddesk", charset="utf-8")
    for po in sources(lang):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed: a second process compiling at once never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.stem, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        write_mo(fh, merged, use_fuzzy=True)
    os.replace(tmp, target)
    return target


def compiled_path(lang: str) -> Path | None:
    """The compiled catalogue of `lang` (compiled now if the .po files changed), None if it has none."""
    files = sources(lang)
    if not files:
        return None
    digest = hashlib.sha256()
    for po in files:
        digest.update(po.name.encode() + b"\0" + po.read_bytes() + b"\0")
    target = cache_dir() / f"griddesk-{lang}-{digest.hexdigest()[:16]}.mo"
    if not target.exists():
        try:
            compile_catalogue(lang, target)
        except OSError:  # a read-only home: compile into the temporary folder instead
            target = compile_catalogue(lang, Path(tempfile.gettempdir()) / "GridDesk-locale" / target.name)
    return target


def translations(lang: str) -> gettext.NullTranslations:
    with _lock:
        found = _translations.get(lang)
        if found is None:
            path = None if lang == "en" else compiled_path(lang)
            if path is None:
                found = gettext.NullTranslations()
            else:
                with path.open("rb") as fh:
                    found = gettext.GNUTranslations(fh)
            _translations[lang] = found
        return found


def _load(lang: str) -> dict[str, object]:
    """The compiled catalogue as {msgid: translation} ({singular: (forms...)} for plurals), for the
    coverage tests and scripts/missing_translations.py."""
    catalog = getattr(translations(lang), "_catalog", {})
    out: dict[str, object] = {}
    plurals: dict[str, dict[int, str]] = {}
    for key, value in catalog.items():
        if isinstance(key, tuple):
            plurals.setdefault(key[0], {})[key[1]] = value
        elif key:
            out[key] = value
    for singular, forms in plurals.items():
        out[singular] = tuple(forms[i] for i in sorted(forms))
    return out


def set_language(lang: str) -> None:
    """Switch the language used by every later call of _() and ngettext()."""
    global _language
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    _language = lang


def language() -> str:
    return _language


def _(msgid: str) -> str:
    """Translate msgid into the current language (English msgids pass through)."""
    if _language == "en":
        return msgid
    return translations(_language).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` that the language's plural rule picks (Chinese has one form)."""
    return translations(_language).ngettext(singular, plural, n)


def N_(msgid: str) -> str:
    """Mark a module-level constant for extraction; translate it later with _()."""
    return msgid


def reload_catalogues() -> None:
    with _lock:
        _translations.clear()
