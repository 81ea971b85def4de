"""Every visible string has a Simplified Chinese translation; English works when chosen."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import i18n

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("desktop", "views", "db", "printouts", "hub")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extracted_msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in FOLDERS:
        if not (ROOT / folder).is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(ROOT / folder), method_map=[("**.py", "python")], keywords=KEYWORDS):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def test_every_msgid_has_a_simplified_chinese_translation():
    i18n.reload_catalogues()
    catalogue = i18n._load("zh_CN")
    msgids = extracted_msgids()
    assert len(msgids) > 50  # the extraction really found the strings
    missing = [f"{where}: {msgid!r}" for msgid, where in sorted(msgids.items(), key=lambda kv: kv[1])
               if not catalogue.get(msgid)]
    assert not missing, "msgids without a zh_CN translation:\n" + "\n".join(missing)


def test_switching_to_english_gives_english():
    msgid = "Household register"
    i18n.set_language("zh_CN")
    assert i18n._(msgid) == "住户台账"
    i18n.set_language("en")
    assert i18n._(msgid) == msgid
    assert i18n.ngettext("{n} file", "{n} files", 2) == "{n} files"
    i18n.set_language("zh_CN")
    assert i18n._("Settings") == "设置"


def test_no_msgid_is_translated_differently_in_two_catalogues():
    """All areas share one catalogue: the same English text must mean the same Chinese text."""
    from babel.messages.pofile import read_po

    seen: dict[str, dict[str, str]] = {}
    for po in sorted((i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id and message.string:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    seen.setdefault(key, {})[po.name] = str(message.string)
    clashes = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert not clashes, f"one msgid, several translations (use distinct msgids): {clashes}"


def test_catalogues_are_compiled_and_plural_forms_honoured(tmp_path, monkeypatch):
    """The .po files of a language are merged and compiled to one .mo (read by gettext), whose
    Plural-Forms pick the form; an edited .po is compiled again."""
    folder = tmp_path / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
              '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n')
    (folder / "a.po").write_text(header + 'msgid "{n} file"\nmsgid_plural "{n} files"\n'
                                 'msgstr[0] "{n} Datei"\nmsgstr[1] "{n} Dateien"\n', encoding="utf-8")
    (folder / "b.po").write_text(header + 'msgid "Settings"\nmsgstr "Einstellungen"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setenv("GRIDDESK_CACHE_DIR", str(tmp_path / "cache"))
    i18n.reload_catalogues()
    try:
        de = i18n.translations("de")
        assert de.ngettext("{n} file", "{n} files", 1) == "{n} Datei"
        assert de.ngettext("{n} file", "{n} files", 5) == "{n} Dateien"
        assert de.gettext("Settings") == "Einstellungen"
        (compiled,) = (tmp_path / "cache" / "locale").glob("griddesk-de-*.mo")
        (folder / "b.po").write_text(header + 'msgid "Settings"\nmsgstr "Optionen"\n', encoding="utf-8")
        i18n.reload_catalogues()
        assert i18n.translations("de").gettext("Settings") == "Optionen"
        assert len(list((tmp_path / "cache" / "locale").glob("griddesk-de-*.mo"))) == 2 and compiled.exists()
    finally:
        monkeypatch.undo()
        i18n.reload_catalogues()


def test_chinese_plurals_come_from_the_compiled_catalogue():
    i18n.set_language("zh_CN")
    singular = next(k for k, v in i18n._load("zh_CN").items() if isinstance(v, tuple))
    forms = i18n._load("zh_CN")[singular]
    assert len(forms) == 1  # Chinese: nplurals=1
    assert i18n.ngettext(singular, singular + "s", 1) == i18n.ngettext(singular, singular + "s", 7) == forms[0]
