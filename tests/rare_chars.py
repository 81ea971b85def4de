"""Test data for rare characters (生僻字): the 通用规范汉字表 and the CJK extension blocks."""

from __future__ import annotations

from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "resources" / "unicode" / "tongyong_guifan_hanzi_2013.txt"

# Unified ideograph blocks as of Unicode 15.1 (first, last code point).
EXTENSIONS = {
    "A": (0x3400, 0x4DBF),
    "B": (0x20000, 0x2A6DF),
    "C": (0x2A700, 0x2B739),
    "D": (0x2B740, 0x2B81D),
    "E": (0x2B820, 0x2CEA1),
    "F": (0x2CEB0, 0x2EBE0),
    "G": (0x30000, 0x3134A),
    "H": (0x31350, 0x323AF),
    "I": (0x2EBF0, 0x2EE5D),
}
# How many of the newest blocks the shipped faces have (BabelStone Han 16.0.3 and GNU Unifont 16.0.04,
# the most any freely licensed TrueType faces in Debian, PyPI or npm have together;
# resources/fonts/gd-babelstone-extra.ttf and gd-unifont-extra.ttf): of Extension G 3,550 of 4,939
# (BabelStone 3,469, Unifont 81 more), of H 2,382 of 4,192, all of I. Fewer is a regression of the fonts.
PARTLY_COVERED = {"G": 3550, "H": 2382, "I": 622}
# An Extension G ideograph that no shipped face has (the first one missing).
UNCOVERED_G = 0x30183
# Names for the print and screen checks: Ext C (𫖯 U+2B5AF, in the 通用规范汉字表), Ext B (𠮷 U+20BB7,
# not in pypinyin), Ext A (䶮 U+4DAE) and Ext G (𰻞 U+30EDE from BabelStone Han, 𰁁 U+30041 only in Unifont).
NAMES = ("赵孟𫖯", "王𠮷", "李䶮", "陈𰻞", "周𰁁")


def tongyong_guifan() -> list[str]:
    """The 8,105 characters in the table's order."""
    chars = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            _number, code, char = line.split("\t")
            assert ord(char) == int(code[2:], 16)
            chars.append(char)
    return chars


def block(name: str) -> range:
    first, last = EXTENSIONS[name]
    return range(first, last + 1)
