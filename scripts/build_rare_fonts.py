"""Builds the fallback faces for rare characters (生僻字) in resources/fonts from Debian packages.

GridDesk's main faces (WenQuanYi Zen Hei, AR PL UMing/UKai) stop at the Basic Multilingual Plane.
Two freely licensed TrueType faces follow them, for screen and print:

- HanaMinB.ttf, unchanged, from Debian's fonts-hanazono (20170904): CJK Extensions B-F
  (Hanazono Font License or SIL OFL 1.1, resources/fonts/licenses/hanazono.copyright);
- gd-babelstone-extra.ttf: the glyphs of BabelStone Han 16.0.3 (Debian's fonts-babelstone-han
  16.0.3-1, in Debian unstable) for every code point that none of the faces above has (new BMP ideographs,
  Extensions G, H, I and the rest of B/C, compatibility ideographs), renamed "GD BabelStone Han
  Extra" so it never shadows a full BabelStone Han installed on the computer (Arphic Public
  License, resources/fonts/licenses/babelstone-han.copyright). The whole face is 51 MB; this
  subset is a few MB.

No freely licensed TrueType face in Debian, PyPI or npm (as reached from here) covers all of
Extension G or H: BabelStone Han 16.0.3 has 3,469 of G's 4,939 and 2,382 of H's 4,192 (16.0.1 had
3,330 and 2,367); Jigmo (CC0, complete) and Plangothic are in none of them. The characters no face
has are reported by name when printing.

Usage: python scripts/build_rare_fonts.py HanaMinB.ttf BabelStoneHan.ttf
(the files from `apt-get download fonts-hanazono fonts-babelstone-han` + `dpkg-deb -x`; the newer
BabelStone Han from Debian unstable's pool, e.g. with a separate apt sources/state folder).
Needs fontTools (the [test] extra).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

FONTS = Path(__file__).resolve().parent.parent / "resources" / "fonts"
EXTRA = "gd-babelstone-extra.ttf"
FAMILY = "GD BabelStone Han Extra"


def _cmap(path: Path) -> set[int]:
    font = TTCollection(str(path)).fonts[0] if path.suffix == ".ttc" else TTFont(str(path))
    return set(font.getBestCmap())


def main(hanamin_b: str, babelstone: str) -> None:
    shutil.copyfile(hanamin_b, FONTS / "HanaMinB.ttf")
    have: set[int] = set()
    for name in ("wqy-zenhei.ttc", "uming.ttc", "ukai.ttc", "HanaMinB.ttf"):
        have |= _cmap(FONTS / name)
    wanted = sorted(c for c in _cmap(Path(babelstone)) if c not in have and c > 0x2000)
    options = subset.Options()
    options.layout_features = ["vert", "vrt2"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False
    font = TTFont(babelstone)
    version = font["name"].getDebugName(5).replace("Version ", "")
    sub = subset.Subsetter(options)
    sub.populate(unicodes=wanted)
    sub.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "")
        elif record.nameID == 3:
            record.string = f"{FAMILY} (subset of BabelStone Han {version})"
    font.save(FONTS / EXTRA)
    print(f"{EXTRA}: {len(wanted)} code points, {(FONTS / EXTRA).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main(*sys.argv[1:3])
