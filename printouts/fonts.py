"""CJK TrueType faces for every printout, embedded in the PDF, with a coverage check.

Four faces ship in resources/fonts (licences in resources/fonts/licenses/):
- FANG: GD Zhuque Fangsong (gd-zhuque-fangsong.ttf, 朱雀仿宋 subset to the 8,105 characters of the
  通用规范汉字表), GB/T 9704's 仿宋 body face of official notices, certificates and their 1. headings,
  issuer and date;
- SONG: AR PL UMing CN (uming.ttc, index 0), Song/Ming style for titles (小标宋-style) and page numbers;
- KAI:  AR PL UKai CN (ukai.ttc, index 0), for （一） headings;
- HEI:  WenQuanYi Zen Hei (wqy-zenhei.ttc, index 0), plain face for tables and 一、 headings.

Three fallback faces follow them for rare characters (生僻字) outside those, character by
character (赵孟𫖯 prints 𫖯 from HanaMin B): HANAMIN_B (HanaMinB.ttf, CJK Extensions B-F),
EXTRA (gd-babelstone-extra.ttf, a subset of BabelStone Han: Extensions G-I and the rest) and
UNIFONT_EXTRA (gd-unifont-extra.ttf, 81 more of Extension G from GNU Unifont); see
scripts/build_rare_fonts.py. They are registered only when a text needs them. A character the
FangSong face lacks (a traditional or rare one) is taken from the Song face first, so the body
keeps a serif look and its character grid.

A character that the chosen face lacks is drawn in another shipped face that has it; a character
that no shipped face has raises PrintError naming it. Nothing ever falls back silently to a
Latin base-14 font (that prints black boxes or nothing).
"""

from __future__ import annotations

import threading
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from db.errors import GridDeskError
from i18n import _
from printouts.font_files import (  # noqa: F401
    EXTRA_FILE,
    FANGSONG_FILE,
    FONT_DIR,
    HANAMIN_B_FILE,
    RARE_FONT_FILES,
    UNIFONT_EXTRA_FILE,
)

SONG = "GD-Song"
KAI = "GD-Kai"
HEI = "GD-Hei"
FANG = "GD-Fang"
# The Song face on the official character grid: GB/T 9704 puts 28 characters of 16 pt in the
# 156 mm text block, i.e. a pitch of 156 mm / 28 = 15.80 pt, as word processors do with their
# document grid. Full-width characters of this face advance by that pitch (the glyphs are still
# 16 pt; CJK side bearings keep them apart); Latin letters and digits keep their own widths.
SONG_GRID = "GD-SongGrid"
FANG_GRID = "GD-FangGrid"  # the FangSong body face on the same grid
GRID_FACES = (SONG_GRID, FANG_GRID)
GRID_PITCH = round(1000 * (156 / 25.4 * 72) / (28 * 16))  # per mille of the font size: 987

HANAMIN_B = "GD-HanaMinB"
EXTRA = "GD-BabelStoneExtra"
UNIFONT_EXTRA = "GD-UnifontExtra"

FACES: dict[str, tuple[str, int]] = {
    SONG: ("uming.ttc", 0),
    SONG_GRID: ("uming.ttc", 0),
    KAI: ("ukai.ttc", 0),
    HEI: ("wqy-zenhei.ttc", 0),
    FANG: (FANGSONG_FILE, 0),
    FANG_GRID: (FANGSONG_FILE, 0),
}
# Rare-character faces, after the main ones; the screen uses the same files (desktop.appearance).
RARE_FACES: dict[str, tuple[str, int]] = {
    HANAMIN_B: (HANAMIN_B_FILE, 0),
    EXTRA: (EXTRA_FILE, 0),
    UNIFONT_EXTRA: (UNIFONT_EXTRA_FILE, 0),
}
# Order in which other faces are tried for a character the requested face lacks.
FALLBACK_ORDER = [HEI, SONG, KAI, HANAMIN_B, EXTRA, UNIFONT_EXTRA]
# The face tried first for a character the FangSong face lacks: a serif one, on the same grid.
_NEAREST = {FANG: SONG, FANG_GRID: SONG_GRID}

_reportlab_to_unicode = ttfonts.makeToUnicodeCMap


def _utf16_hex(code: int) -> str:
    return chr(code).encode("utf-16-be").hex().upper()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap writes a code point as "%04X", so 𫖯 (U+2B5AF) became "2B5AF" and
    pdftotext, search and copy in a PDF reader read U+2B5A. The CMap wants UTF-16BE: a character
    beyond the BMP is its surrogate pair (<D86D DDAF>)."""
    text = _reportlab_to_unicode(fontname, subset)
    if all(code <= 0xFFFF for code in subset):
        return text
    lines = text.split("\n")
    start = lines.index(f"{len(subset)} beginbfchar") + 1
    lines[start:start + len(subset)] = [
        f"<{i:02X}> <{code:04X}>" if code <= 0xFFFF else f"<{i:02X}> <{_utf16_hex(code)}>"
        for i, code in enumerate(subset)]
    return "\n".join(lines)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap  # read as a module global at every PDF build

_lock = threading.Lock()
_cmaps: dict[str, frozenset[int]] = {}


class PrintError(GridDeskError):
    """A printout cannot be made as asked; the message says why, in the interface language."""


def register_fonts() -> None:
    """Register the main faces with reportlab once (thread-safe, cheap after the first call)."""
    if all(name in _cmaps for name in FACES):
        return
    _register(FACES)


def _register(faces: dict[str, tuple[str, int]]) -> None:
    with _lock:
        for name, (filename, index) in faces.items():
            if name in _cmaps:
                continue
            path = FONT_DIR / filename
            if not path.is_file():
                raise PrintError(_("The font file {path} is missing; printing needs it.").format(path=path))
            font = TTFont(name, str(path), subfontIndex=index)
            if name in GRID_FACES:
                # reportlab shares one font object per face name: this one needs its own.
                font.face.name = font.face.name + b"Grid"
                widths = font.face.charWidths
                for code, width in widths.items():
                    if width >= 1000:
                        widths[code] = GRID_PITCH
            pdfmetrics.registerFont(font)
            _cmaps[name] = frozenset(font.face.charToGlyph)


def cmap(face: str) -> frozenset[int]:
    if face not in _cmaps:
        register_fonts()
        if face in RARE_FACES:
            _register({face: RARE_FACES[face]})
    return _cmaps[face]


def printable_code(code: int) -> bool:
    """Whether some printing face (main or rare) has a glyph for this code point."""
    return any(code in cmap(face) for face in FALLBACK_ORDER)


def _printable(ch: str) -> bool:
    return ch not in "\r\n\t"


def missing_chars(text: str, face: str) -> list[str]:
    """Characters of text that face has no glyph for (in order, each once)."""
    have = cmap(face)
    seen: list[str] = []
    for ch in text:
        if _printable(ch) and ord(ch) not in have and ch not in seen:
            seen.append(ch)
    return seen


def covering_face(ch: str, preferred: str) -> str:
    """The face to draw ch in: preferred if it has the glyph, else the first shipped face that does."""
    code = ord(ch)
    if code in cmap(preferred):
        return preferred
    nearest = _NEAREST.get(preferred)
    for face in ([nearest] if nearest else []) + FALLBACK_ORDER:
        if code in cmap(face):
            return face
    raise PrintError(_("The character “{char}” (U+{code:04X}) in {where} is in none of the printing "
                       "fonts, so it cannot be printed. Please check the text.").format(
        char=ch, code=code, where=_where_text()))


_where = threading.local()


def _where_text() -> str:
    return getattr(_where, "value", None) or _("the text")


def check_text(text: str, face: str, *, where: str | None = None) -> None:
    """Raise PrintError if some character of text is in no shipped face (used before drawString)."""
    _where.value = where
    try:
        for ch in missing_chars(text, face):
            covering_face(ch, face)
    finally:
        _where.value = None


def single_face(text: str, face: str, *, where: str | None = None) -> str:
    """The face that has every character of text: face itself or else a shipped face that does.

    For canvas.drawString, which cannot switch faces mid-string.
    """
    missing = missing_chars(text, face)
    if not missing:
        return face
    for other in FALLBACK_ORDER:
        if not missing_chars(text, other):
            return other
    check_text(text, face, where=where)  # raises for a character no face has
    raise PrintError(_("No single printing font has every character of {where}.").format(
        where=where or _("the text")))


def markup(text: str | None, face: str, *, where: str | None = None) -> str:
    """Paragraph markup for plain text in face: escaped, line breaks kept, and every run of
    characters that face lacks wrapped in <font> of a shipped face that has them."""
    if not text:
        return ""
    _where.value = where
    try:
        have = cmap(face)
        out: list[str] = []
        run_face = face
        run: list[str] = []

        def flush() -> None:
            if not run:
                return
            chunk = escape("".join(run))
            out.append(chunk if run_face == face else f'<font face="{run_face}">{chunk}</font>')
            run.clear()

        for ch in text:
            if ch == "\r":
                continue
            if ch == "\n":
                flush()
                out.append("<br/>")
                continue
            if ch == "\t":
                ch = " "
            target = face if ord(ch) in have else covering_face(ch, face)
            if target != run_face:
                flush()
                run_face = target
            run.append(ch)
        flush()
        return "".join(out)
    finally:
        _where.value = None


def text_runs(text: str, face: str, *, where: str | None = None) -> list[tuple[str, str]]:
    """(face, chunk) runs of text for canvas drawing: face where it has the glyphs, a fallback face
    for the others (赵孟𫖯 -> [(face, 赵孟), (HANAMIN_B, 𫖯)])."""
    _where.value = where
    try:
        runs: list[tuple[str, str]] = []
        have = cmap(face)
        for ch in text:
            target = face if ord(ch) in have or not _printable(ch) else covering_face(ch, face)
            if runs and runs[-1][0] == target:
                runs[-1] = (target, runs[-1][1] + ch)
            else:
                runs.append((target, ch))
        return runs
    finally:
        _where.value = None


def runs_width(runs: list[tuple[str, str]], size: float) -> float:
    return sum(pdfmetrics.stringWidth(chunk, run_face, size) for run_face, chunk in runs)


def draw_runs(canvas, x: float, y: float, runs: list[tuple[str, str]], size: float) -> None:
    """Draw runs from x (left) on the baseline y, each in its face."""
    for run_face, chunk in runs:
        canvas.setFont(run_face, size)
        canvas.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, run_face, size)
