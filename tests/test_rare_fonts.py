"""Rare characters (生僻字) print: the fonts cover the 通用规范汉字表 and Extensions A-F, as much of G
and H as free faces have, a register list with such names embeds only subsets and pdftotext reads
the names back."""

from __future__ import annotations

import pdf_tools
import pytest
import rare_chars

from printouts.data import Column, RegisterListData
from printouts.fonts import (
    EXTRA,
    FALLBACK_ORDER,
    FANG,
    HANAMIN_B,
    HEI,
    UNIFONT_EXTRA,
    PrintError,
    cmap,
    covering_face,
    markup,
    printable_code,
)
from printouts.tables import register_list_pdf


def test_every_character_of_the_tongyong_guifan_table_prints():
    chars = rare_chars.tongyong_guifan()
    assert len(chars) == 8105 and len(set(chars)) == 8105
    missing = [f"{c} U+{ord(c):04X}" for c in chars if not printable_code(ord(c))]
    assert not missing, missing[:20]
    outside_bmp = [c for c in chars if ord(c) > 0xFFFF]
    assert len(outside_bmp) == 196  # 𫖯 and others from Extensions B-F
    assert all(ord(c) in cmap(HANAMIN_B) or ord(c) in cmap(EXTRA) for c in outside_bmp)
    # The FangSong body face of official notices has every one of them itself (𫖯 included).
    lacking = [f"{c} U+{ord(c):04X}" for c in chars if ord(c) not in cmap(FANG)]
    assert not lacking, lacking[:20]


@pytest.mark.parametrize("name", ["A", "B", "C", "D", "E", "F"])
def test_every_character_of_extensions_a_to_f_prints(name):
    missing = [f"U+{c:04X}" for c in rare_chars.block(name) if not printable_code(c)]
    assert not missing, f"Extension {name}: {len(missing)} missing, e.g. {missing[:10]}"


@pytest.mark.parametrize("name", ["G", "H", "I"])
def test_extensions_g_to_i_are_covered_as_far_as_free_fonts_go(name):
    covered = sum(printable_code(c) for c in rare_chars.block(name))
    assert covered >= rare_chars.PARTLY_COVERED[name], covered
    assert printable_code(0x30EDE)  # 𰻞 (biáng, Extension G, BabelStone Han)
    assert printable_code(0x30041)  # 𰁁 (Extension G, only in Unifont)


@pytest.mark.xfail(strict=True, reason="no freely licensed TrueType face reachable from here has the other "
                   "1,389 ideographs of Extension G (see scripts/build_rare_fonts.py); a face that does "
                   "makes this pass, and then the xfail goes")
def test_every_character_of_extension_g_prints():
    missing = [f"U+{c:04X}" for c in rare_chars.block("G") if not printable_code(c)]
    assert not missing, f"Extension G: {len(missing)} of 4,939 missing, e.g. {missing[:10]}"


def test_rare_characters_take_the_fallback_face_character_by_character():
    assert covering_face("赵", HEI) == HEI
    assert covering_face("𫖯", HEI) == HANAMIN_B
    assert covering_face("𰻞", HEI) == EXTRA
    assert covering_face("𰁁", HEI) == UNIFONT_EXTRA
    assert markup("赵孟𫖯", HEI) == f'赵孟<font face="{HANAMIN_B}">𫖯</font>'
    assert FALLBACK_ORDER[-3:] == [HANAMIN_B, EXTRA, UNIFONT_EXTRA]  # after the main faces


def test_a_character_no_font_has_is_named():
    assert not printable_code(rare_chars.UNCOVERED_G)  # an Extension G ideograph no free face has
    with pytest.raises(PrintError, match=f"U\\+{rare_chars.UNCOVERED_G:04X}"):
        markup("张" + chr(rare_chars.UNCOVERED_G), HEI, where="姓名")


def test_register_list_with_rare_names_prints_and_reads_back(tmp_path):
    rows = [[name, "幸福里3栋1单元101"] for name in rare_chars.NAMES]
    data = RegisterListData(title="生僻字姓名 赵孟𫖯", columns=[Column("姓名", 3), Column("住址", 6)], rows=rows)
    pdf = register_list_pdf(data)
    (tmp_path / "rare.pdf").write_bytes(pdf)
    text = pdf_tools.text(pdf)
    for name in rare_chars.NAMES:
        assert name in text, name  # the ToUnicode map carries code points beyond the BMP
    assert "生僻字姓名 赵孟𫖯" in text
    fonts = pdf_tools.fonts(pdf)
    assert {r["emb"] for r in fonts} == {"yes"} and {r["sub"] for r in fonts} == {"yes"}
    names = " ".join(r["name"] for r in fonts)
    assert "HanaMinB" in names and "GDBabelStoneHanExtra" in names and "GDUnifontExtra" in names
    assert len(pdf) < 400_000  # subsets: a few glyphs, not the 31 MB face


def test_notice_with_a_rare_character_in_body_and_issuer_prints():
    from printouts.data import NoticeData
    from printouts.notice import notice_pdf

    pdf = notice_pdf(NoticeData(title="关于赵孟𫖯同志的通知", body="各位居民：\n请王𠮷、李䶮、陈𰻞到社区领取材料。",
                                issuer="𫖯溪社区居民委员会", date="2026-12-01"))
    text = pdf_tools.text(pdf)
    for expected in ("赵孟𫖯", "王𠮷", "李䶮", "陈𰻞", "𫖯溪社区居民委员会", "2026年12月1日"):
        assert expected in text, expected
    assert {r["emb"] for r in pdf_tools.fonts(pdf)} == {"yes"}
