"""Builds the fallback faces for rare characters (生僻字) and the FangSong face in resources/fonts
from Debian packages.

GridDesk's main faces (WenQuanYi Zen Hei, AR PL UMing/UKai) stop at the Basic Multilingual Plane.
Three freely licensed TrueType faces follow them, for screen and print:

- HanaMinB.ttf, unchanged, from Debian's fonts-hanazono (20170904): CJK Extensions B-F
  (Hanazono Font License or SIL OFL 1.1, resources/fonts/licenses/hanazono.copyright);
- gd-babelstone-extra.ttf: the glyphs of BabelStone Han 16.0.3 (Debian's fonts-babelstone-han
  16.0.3-1, in Debian unstable) for every code point that none of the faces above has (new BMP ideographs,
  Extensions G, H, I and the rest of B/C, compatibility ideographs), renamed "GD BabelStone Han
  Extra" so it never shadows a full BabelStone Han installed on the computer (Arphic Public
  License, resources/fonts/licenses/babelstone-han.copyright). The whole face is 51 MB; this
  subset is a few MB.
- gd-unifont-extra.ttf: the ideographs of GNU Unifont 16.0.04 (Debian's fonts-unifont
  1:16.0.04-1.1, unifont_upper.otf) that none of the faces above has: 81 of Extension G, as
  16x16 pixel glyphs, converted from CFF to TrueType outlines (reportlab embeds only glyf), renamed
  "GD Unifont Extra" (SIL OFL 1.1, or GPL 2+ with the font embedding exception;
  resources/fonts/licenses/unifont.copyright).

And the body face of official documents (GB/T 9704: 仿宋):

- gd-zhuque-fangsong.ttf: Zhuque Fangsong 0.212 (朱雀仿宋, LXGWZhuqueFangsong-Regular.ttf of
  CTAN's lxgw-fonts, in Debian's texlive-lang-chinese 2026.20260911-1), subset to the 8,105
  characters of the 通用规范汉字表, ASCII, Latin-1 and the punctuation and symbols of forms,
  renamed "GD Zhuque Fangsong" (SIL OFL 1.1, resources/fonts/licenses/zhuque-fangsong.copyright).

No freely licensed TrueType face in Debian, PyPI or npm (as reached from here) covers all of
Extension G or H: BabelStone Han 16.0.3 has 3,469 of G's 4,939 and 2,382 of H's 4,192, Unifont
16.0.04 adds 81 of G (428 in all) and none of H; Jigmo (CC0, complete) and Plangothic are in none
of them. The characters no face has are reported by name when printing.

Usage: python scripts/build_rare_fonts.py HanaMinB.ttf BabelStoneHan.ttf unifont_upper.otf \
           LXGWZhuqueFangsong-Regular.ttf
(the files from `apt-get download fonts-hanazono fonts-babelstone-han fonts-unifont
texlive-lang-chinese` + `dpkg-deb -x`, the last three from Debian unstable, e.g. with a separate apt
sources/state folder: -o Dir::Etc::SourceList=... -o Dir::State::Lists=... -o Dir::Cache=...
-o Dir::State::status=/dev/null). The same inputs give byte-identical files (the committed
gd-babelstone-extra.ttf predates that and differs from a rebuild only in head.modified).
Needs fontTools (the [test] extra).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "resources" / "fonts"
TABLE = ROOT / "resources" / "unicode" / "tongyong_guifan_hanzi_2013.txt"
EXTRA = "gd-babelstone-extra.ttf"
FAMILY = "GD BabelStone Han Extra"
UNIFONT_EXTRA = "gd-unifont-extra.ttf"
UNIFONT_FAMILY = "GD Unifont Extra"
FANGSONG = "gd-zhuque-fangsong.ttf"
FANGSONG_FAMILY = "GD Zhuque Fangsong"
MAIN_FACES = ("wqy-zenhei.ttc", "uming.ttc", "ukai.ttc")
# CJK ideographs: URO, Extensions A-I, compatibility ideographs (a fallback face adds only these).
IDEOGRAPHS = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x30000, 0x323AF)]
# Besides the 8,105 characters: what the body of a form or notice uses around them.
FANGSONG_EXTRA_RANGES = [
    (0x20, 0x7E),  # ASCII: dates in Arabic numerals, phone numbers
    (0xA0, 0xFF),  # Latin-1: ° · × ÷
    (0x2000, 0x206F),  # general punctuation: — ‘’ “” … ‰ ※
    (0x2100, 0x218F),  # ℃ № Ⅰ-Ⅻ
    (0x2190, 0x21FF),  # arrows
    (0x2460, 0x24FF),  # ①-⑳
    (0x25A0, 0x25FF),  # □ ■ ○ ● △
    (0x3000, 0x303F),  # CJK punctuation: 、。〈〉《》「」『』【】〔〕
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # full-width forms: ，：；！？（）
]


def _cmap(path: Path) -> set[int]:
    font = TTCollection(str(path)).fonts[0] if path.suffix == ".ttc" else TTFont(str(path))
    return set(font.getBestCmap())


def _options() -> subset.Options:
    options = subset.Options()
    options.layout_features = ["vert", "vrt2"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False
    return options


def _subset(source: str, unicodes: list[int], family: str, origin: str) -> TTFont:
    font = TTFont(source, recalcTimestamp=False)
    version = font["name"].getDebugName(5).replace("Version ", "")
    sub = subset.Subsetter(_options())
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = family.replace(" ", "")
        elif record.nameID == 3:
            record.string = f"{family} (subset of {origin} {version})"
    font["name"].removeNames(nameID=17)  # typographic subfamily: Regular, the default
    return font


def _cff_to_glyf(font: TTFont) -> None:
    """Replace CFF outlines by quadratic TrueType ones (reportlab embeds only glyf)."""
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    del font["CFF "]
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = glyphs
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def _save(font: TTFont, name: str, count: int) -> None:
    font.save(FONTS / name)
    print(f"{name}: {count} code points, {(FONTS / name).stat().st_size / 1e6:.2f} MB")


def _is_ideograph(code: int) -> bool:
    return any(first <= code <= last for first, last in IDEOGRAPHS)


def _tongyong_guifan() -> list[int]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return [int(line.split("\t")[1][2:], 16) for line in lines if line and not line.startswith("#")]


def main(hanamin_b: str, babelstone: str, unifont_upper: str, zhuque: str) -> None:
    shutil.copyfile(hanamin_b, FONTS / "HanaMinB.ttf")
    have: set[int] = set()
    for name in (*MAIN_FACES, "HanaMinB.ttf"):
        have |= _cmap(FONTS / name)

    wanted = sorted(c for c in _cmap(Path(babelstone)) if c not in have and c > 0x2000)
    _save(_subset(babelstone, wanted, FAMILY, "BabelStone Han"), EXTRA, len(wanted))
    have |= set(wanted)

    wanted = sorted(c for c in _cmap(Path(unifont_upper)) if c not in have and _is_ideograph(c))
    font = _subset(unifont_upper, wanted, UNIFONT_FAMILY, "GNU Unifont")
    _cff_to_glyf(font)
    _save(font, UNIFONT_EXTRA, len(wanted))

    available = _cmap(Path(zhuque))
    table = _tongyong_guifan()
    lacking = [f"U+{c:04X}" for c in table if c not in available]
    if lacking:
        raise SystemExit(f"{zhuque} lacks {len(lacking)} characters of the table: {lacking[:10]}")
    extra = {c for first, last in FANGSONG_EXTRA_RANGES for c in range(first, last + 1)} & available
    wanted = sorted(set(table) | extra)
    _save(_subset(zhuque, wanted, FANGSONG_FAMILY, "Zhuque Fangsong"), FANGSONG, len(wanted))


if __name__ == "__main__":
    main(*sys.argv[1:5])
