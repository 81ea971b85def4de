"""Rare characters (生僻字) in names: readings people add, and finding a character to insert.

pypinyin knows most characters, but not all (王𠮷: 𠮷 U+20BB7 has no reading there). A reading
added here (𠮷 = ji) is synced like any register row and used by the search index at once, so
"wj" and "wangji" find 王𠮷. find_characters() serves the person editor's character picker:
by pinyin (fu), by code point (2B5AF, U+2B5AF) or by the character itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from db import oplog
from db.errors import ValidationError, ValidationErrors
from db.models.rare import CharReading
from db.oplog import Change
from i18n import _

# Unified and compatibility ideograph blocks (Unicode 15.1), with the names people know them by.
IDEOGRAPH_BLOCKS: list[tuple[int, int, str]] = [
    (0x4E00, 0x9FFF, "基本区"), (0x3400, 0x4DBF, "扩展A"), (0x20000, 0x2A6DF, "扩展B"),
    (0x2A700, 0x2B73F, "扩展C"), (0x2B740, 0x2B81F, "扩展D"), (0x2B820, 0x2CEAF, "扩展E"),
    (0x2CEB0, 0x2EBEF, "扩展F"), (0x2EBF0, 0x2EE5F, "扩展I"), (0x30000, 0x3134F, "扩展G"),
    (0x31350, 0x323AF, "扩展H"), (0xF900, 0xFAFF, "兼容区"), (0x2F800, 0x2FA1F, "兼容补充区"),
]
# 通用规范汉字表 (2013, 8,105 characters; from Unihan kTGH): the standard characters for names.
TABLE_FILE = Path(__file__).resolve().parents[2] / "resources" / "unicode" / "tongyong_guifan_hanzi_2013.txt"
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
_CODE = re.compile(r"^(?:u\+?|0x)?([0-9a-f]{4,6})$", re.IGNORECASE)
_READING = re.compile(r"^[a-z]{1,6}[1-5]?$")


def block_of(char: str) -> str | None:
    code = ord(char)
    for first, last, name in IDEOGRAPH_BLOCKS:
        if first <= code <= last:
            return name
    return None


def is_ideograph(char: str) -> bool:
    return len(char) == 1 and block_of(char) is not None


# -- private-use characters (造字) ---------------------------------------------------------------------


# Free-text fields (person and household) in which such characters are flagged on import.
PRIVATE_USE_CHECKED = frozenset({
    "name", "former_name", "hukou_address", "current_address", "employer", "notes", "grid", "compound",
    "building", "unit", "door", "address", "owner_name", "landlord_name"})
private_use_search = _PRIVATE_USE.search


def private_use_chars(text: str | None) -> list[tuple[int, str]]:
    """(1-based position, character) of every private-use character in text: the self-made glyphs
    (造字) of old office systems, which show as something else, or nothing, on other computers."""
    if not text or not _PRIVATE_USE.search(text):
        return []
    return [(i, c) for i, c in enumerate(text, 1) if _PRIVATE_USE.match(c)]


def private_use_message(text: str | None) -> str | None:
    """The warning for a value holding private-use characters (None when it holds none)."""
    found = private_use_chars(text)
    if not found:
        return None
    where = "、".join(_("character {n} (U+{code:04X})").format(n=n, code=ord(c)) for n, c in found[:5])
    return _("“{value}” holds a private-use character: {where}. It is a self-made glyph (造字) of an old "
             "system and shows as something else, or nothing, on other computers. Replace it with the "
             "standard character (the person editor's “Rare character…” button finds it by pinyin or "
             "code point).").format(value=text, where=where)


# -- readings ------------------------------------------------------------------------------------------


def toneless(reading: str) -> str:
    """"jí", "ji2" and "JI" are all "ji"; ü is v (lǜ is lv), as pypinyin writes it."""
    text = unicodedata.normalize("NFD", reading.strip().lower()).replace("u\u0308", "v").replace("ü", "v")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.rstrip("12345")


_TONE_MARKS = {"\u0304": 1, "\u0301": 2, "\u030c": 3, "\u0300": 4}


def tone(reading: str) -> int | None:
    """The tone of a reading: 1-4 from its mark or digit, 5 for a neutral tone digit, None when
    the reading says nothing (a plain "fu" typed by a person)."""
    text = unicodedata.normalize("NFD", reading.strip().lower())
    for mark, number in _TONE_MARKS.items():
        if mark in text:
            return number
    return int(text[-1]) if text[-1:] in "12345" and text[-1:] else None


def user_readings(store) -> dict[str, tuple[str, ...]]:
    """The live readings people added, by character (oldest first)."""
    out: dict[str, list[str]] = {}
    for char, reading in store.db.execute_sql(
            "select char, reading from char_reading where deleted = 0 order by id"):
        out.setdefault(char, [])
        if reading not in out[char]:
            out[char].append(reading)
    return {c: tuple(r) for c, r in out.items()}


def list_readings(store) -> list[dict]:
    return [{"id": i, "char": c, "reading": r} for i, c, r in store.db.execute_sql(
        "select id, char, reading from char_reading where deleted = 0 order by char, reading")]


def add_reading(store, *, char: str, reading: str) -> list[Change]:
    """Add a pinyin reading for a character (e.g. 𠮷 = ji); the names holding it are re-indexed."""
    char = (char or "").strip()
    clean = toneless(reading or "")
    errors = []
    if not is_ideograph(char):
        errors.append(ValidationError(_("Give one Chinese character, not “{value}”.").format(value=char),
                                      field="char"))
    if not _READING.match(clean) or not clean.isascii():
        errors.append(ValidationError(_("The reading must be pinyin letters such as “ji” or “jí”, not "
                                        "“{value}”.").format(value=reading), field="reading"))
    if errors:
        raise ValidationErrors(errors)
    if clean in user_readings(store).get(char, ()):
        return []
    return oplog.write(store, CharReading, [{"char": char, "reading": clean}])


def remove_reading(store, *, reading_id: str) -> list[Change]:
    return oplog.write(store, CharReading, [{"id": reading_id, "deleted": 1}])


def remove_readings(store, *, char: str) -> list[Change]:
    """Remove every reading people added for this character (a wrong one, say)."""
    ids = [r["id"] for r in list_readings(store) if r["char"] == char]
    return oplog.write(store, CharReading, [{"id": i, "deleted": 1} for i in ids])


# -- the character picker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharInfo:
    char: str
    code: str  # U+2B5AF
    readings: tuple[str, ...]  # with tone marks where pypinyin has them
    block: str  # 扩展C
    common: bool  # in GB 2312 (the characters every input method has)
    standard: int | None = None  # number in the 通用规范汉字表 (None: not in it)
    added: tuple[str, ...] = ()  # readings people added (db table char_reading)


def _pypinyin_readings(code: int) -> tuple[str, ...]:
    from pypinyin.pinyin_dict import pinyin_dict

    value = pinyin_dict.get(code)
    return tuple(value.split(",")) if value else ()


@lru_cache(maxsize=1)
def _by_reading() -> dict[str, tuple[int, ...]]:
    """Toneless reading -> code points of ideographs with it (built once, ~0.2 s)."""
    from pypinyin.pinyin_dict import pinyin_dict

    out: dict[str, list[int]] = {}
    for code, value in pinyin_dict.items():
        char = chr(code)
        if block_of(char) is None:
            continue
        for reading in {toneless(r) for r in value.split(",")}:
            out.setdefault(reading, []).append(code)
    return {k: tuple(sorted(v, key=_rank)) for k, v in out.items()}


def _common(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def standard_numbers() -> dict[str, int]:
    """Character -> its number in the 通用规范汉字表."""
    out = {}
    for line in TABLE_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            number, _code, char = line.split("\t")
            out[char] = int(number)
    return out


def _rank(code: int) -> tuple[int, int]:
    """Standard characters first (names should use them; GB 2312 ones before the others), then
    the rest by block."""
    char = chr(code)
    number = standard_numbers().get(char)
    if number is not None:
        return (0 if _common(char) else 1, number)
    order = next(i for i, (first, last, _name) in enumerate(IDEOGRAPH_BLOCKS) if first <= code <= last)
    return (2 + order, code)


def char_info(char: str, extra: dict[str, tuple[str, ...]] | None = None) -> CharInfo:
    readings = _pypinyin_readings(ord(char)) + tuple(r for r in (extra or {}).get(char, ()) if r)
    return CharInfo(char, f"U+{ord(char):04X}", tuple(dict.fromkeys(readings)), block_of(char) or "",
                    _common(char), standard_numbers().get(char), tuple((extra or {}).get(char, ())))


PICKER_LIMIT = 600


def find_characters(query: str, *, store=None, limit: int = PICKER_LIMIT) -> list[CharInfo]:
    """Ideographs for a picker query: a code point (2B5AF, U+2B5AF, 0x2B5AF), characters typed or
    pasted, or a pinyin reading (fu, fǔ, fu3: every character with that reading, GB 2312 ones first,
    then by block). Readings people added (store) are found too."""
    text = (query or "").strip()
    extra = user_readings(store) if store is not None else {}
    if not text:
        return []
    m = _CODE.match(text)
    if m and not text.isalpha() or (m and len(text) >= 5 and text[:2].lower() in ("u+", "0x")):
        code = int(m.group(1), 16)
        if code <= 0x10FFFF and block_of(chr(code)):
            return [char_info(chr(code), extra)]
        if not text.isalpha():
            return []
    chars = [c for c in text if is_ideograph(c)]
    if chars:
        return [char_info(c, extra) for c in dict.fromkeys(chars)]
    reading = toneless(text)
    codes = list(_by_reading().get(reading, ()))
    wanted = tone(text)
    if wanted is not None:
        codes = [c for c in codes if any(toneless(r) == reading and (tone(r) or 5) == wanted
                                         for r in _pypinyin_readings(c))]
    added = [ord(c) for c, rs in extra.items() if reading in rs and ord(c) not in codes]
    return [char_info(chr(code), extra) for code in (added + codes)[:limit]]
