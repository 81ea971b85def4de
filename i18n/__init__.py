"""One message catalogue for every layer (db/, printouts/, hub/, desktop/, views/).

Qt-free on purpose: db/ raises translated validation messages through it. Source strings are
English msgids; Simplified Chinese is the default language and its catalogue must cover every
msgid (tests/test_i18n.py fails otherwise). Catalogues are gettext .po files under
resources/locale/<lang>/LC_MESSAGES/*.po; each area of the code keeps its own file so parallel
work does not collide, and all files of a language are merged at load time.
"""

from __future__ import annotations

import threading
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "resources" / "locale"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

_lock = threading.Lock()
_language = DEFAULT_LANGUAGE
_catalogues: dict[str, dict[str, object]] = {}


def _load(lang: str) -> dict[str, object]:
    with _lock:
        if lang in _catalogues:
            return _catalogues[lang]
        messages: dict[str, object] = {}
        folder = LOCALE_DIR / lang / "LC_MESSAGES"
        for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang.split("_")[0] if lang != "zh_CN" else "zh_Hans_CN")
            for message in catalog:
                if not message.id or not message.string:
                    continue
                if message.pluralizable:
                    singular = message.id[0]
                    forms = [s for s in message.string if s]
                    if forms:
                        messages[singular] = tuple(forms)
                else:
                    messages[message.id] = message.string
        _catalogues[lang] = messages
        return messages


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
    found = _load(_language).get(msgid)
    if isinstance(found, str):
        return found
    if isinstance(found, tuple):
        return found[0]
    return msgid


def ngettext(singular: str, plural: str, n: int) -> str:
    if _language == "en":
        return singular if n == 1 else plural
    found = _load(_language).get(singular)
    if isinstance(found, tuple):
        # Chinese has one plural form.
        return found[0]
    if isinstance(found, str):
        return found
    return singular if n == 1 else plural


def N_(msgid: str) -> str:
    """Mark a module-level constant for extraction; translate it later with _()."""
    return msgid


def reload_catalogues() -> None:
    with _lock:
        _catalogues.clear()
