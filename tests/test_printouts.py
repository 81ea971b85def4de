"""printouts/: real PDFs checked with poppler (text, fonts, pages, positions)."""

from __future__ import annotations

import subprocess
import sys

import pdf_tools
import pytest
from reportlab.lib.textsplit import ALL_CANNOT_START

from db.errors import Cancelled
from printouts.data import (
    Block,
    Column,
    MeetingNoticeData,
    NoticeData,
    RegisterListData,
    SigninData,
    SigninPerson,
)
from printouts.fonts import HEI, KAI, SONG, PrintError, cmap
from printouts.notice import meeting_notice_pdf, notice_pdf
from printouts.tables import register_list_pdf, signin_pdf

MM = pdf_tools.MM
RARE = "喆堃昇珺赟䶮"


def meeting() -> MeetingNoticeData:
    return MeetingNoticeData(
        meeting="幸福里小区3号楼居民议事会", time="2026年12月1日（星期二）下午3:00",
        place="社区党群服务中心二楼会议室", issuer="幸福里社区居民委员会", date="2026-11-25",
        attendees="3号楼全体住户代表（每户1人）、楼栋长、物业服务中心负责人",
        agenda=["通报加装电梯意见征集情况", "讨论楼道堆物清理方案"],
        requirements=["请准时参会。", "不能参会的请提前向楼栋长请假。"],
        contact="王晓梅", contact_phone="027-85551234")


def assert_all_fonts_embedded(pdf: bytes) -> list[dict]:
    rows = pdf_tools.fonts(pdf)
    assert rows, "no fonts in the PDF"
    for row in rows:
        assert row["emb"] == "yes", f"font {row['name']} is not embedded"
    return rows


def test_printouts_do_not_import_qt():
    code = ("import printouts.notice, printouts.tables, printouts.household, db.printing_data, "
            "db.printing_audit, db.print_jobs, sys; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pdf_tools.Path(__file__).parent.parent)


def test_meeting_notice_gbt9704_layout():
    pdf = meeting_notice_pdf(meeting())
    text = pdf_tools.text(pdf)
    for expected in ("关于召开幸福里小区3号楼居民议事会的通知", "各位居民：", "一、会议时间", "二、会议地点",
                     "（一）通报加装电梯意见征集情况", "1. 请准时参会。", "六、联系方式：王晓梅",
                     "幸福里社区居民委员会", "2026年11月25日"):
        assert expected in text, expected
    assert pdf_tools.pages(pdf) == 1
    fonts = {r["name"].split("+")[-1] for r in assert_all_fonts_embedded(pdf)}
    assert any("UMing" in f for f in fonts) and any("ZenHei" in f for f in fonts) and any("UKai" in f for f in fonts)

    words = pdf_tools.words(pdf)
    title = next(w for w in words if w.text.startswith("关于召开"))
    page_w = 595.2756
    assert abs(title.y0 - 37 * MM) < 2 * MM, f"title top at {title.y0 / MM:.1f} mm"
    assert abs((title.x0 + title.x1) / 2 - (28 * MM + 78 * MM)) < 1.0, "title not centred on the text block"
    assert 21.5 <= title.y1 - title.y0 <= 22.5  # 22 pt
    addressee = next(w for w in words if w.text == "各位居民：")
    assert abs(addressee.x0 - 28 * MM) < 0.5
    body = next(w for w in words if w.text.startswith("二、会议地点"))
    assert 15.5 <= body.y1 - body.y0 <= 16.5  # 16 pt
    assert abs(body.x0 - (28 * MM + 2 * 16 * 0.987)) < 0.2  # two-character indent on the grid
    for w in words:  # nothing outside the 156 x 225 mm text block
        right = (28 + 156) * MM + 0.5
        if w.text[-1] in ALL_CANNOT_START:
            right += 16  # a closing mark may hang in the margin (标点悬挂), never a character
        assert 28 * MM - 0.5 <= w.x0 and w.x1 <= right, w
        assert w.y1 <= (37 + 225) * MM + 0.5, w
    issuer = next(w for w in words if w.text == "幸福里社区居民委员会")
    date = next(w for w in words if w.text == "2026年11月25日")
    assert date.y0 > issuer.y0 > body.y0
    assert abs(date.x1 - ((28 + 156) * MM - 4 * 16)) < 0.5, "date not four characters in from the right"
    assert abs((issuer.x0 + issuer.x1) / 2 - (date.x0 + date.x1) / 2) < 0.5, "issuer not centred over date"
    assert issuer.x0 > page_w / 2


def test_body_lines_hold_28_characters_and_22_lines():
    pdf = notice_pdf(NoticeData(title="测试", body=[Block("para", "社区" * 800)]))
    page2 = [w for w in pdf_tools.words(pdf) if w.page == 2 and w.text.startswith(("社", "区"))]
    assert len(page2) == 22, "a full page of body text holds 22 lines"
    assert all(len(w.text) == 28 for w in page2), [len(w.text) for w in page2]
    # GB/T 9704 page numbers of a multi-page notice: — N —, 7 mm below the text block,
    # odd pages on the right and even pages on the left
    numbers = {w.page: w for w in pdf_tools.words(pdf) if w.text.isdigit()}
    assert set(numbers) == set(range(1, pdf_tools.pages(pdf) + 1))
    assert numbers[1].x0 > 150 * MM and numbers[2].x1 < 60 * MM
    assert abs(numbers[2].y0 - (37 + 225 + 7) * MM) < 2 * MM


def test_rare_name_characters_print_in_every_face():
    for face in (SONG, KAI, HEI):
        assert all(ord(c) in cmap(face) for c in RARE), face
    pdf = meeting_notice_pdf(MeetingNoticeData(
        meeting=f"议事会{RARE}", time="今天", place="会议室", issuer=f"居委会{RARE}", date="2026-11-25",
        agenda=[f"认识新邻居{RARE}"], requirements=[f"带上{RARE}"]))
    text = pdf_tools.text(pdf)
    for ch in RARE:
        assert text.count(ch) >= 4, ch  # title (Song), agenda (Kai), requirement, issuer
    sheet = signin_pdf(SigninData(meeting="会", people=[SigninPerson(name=f"王{c}") for c in RARE]))
    sheet_text = pdf_tools.text(sheet)
    for ch in RARE:
        assert f"王{ch}" in sheet_text
    assert_all_fonts_embedded(sheet)


def test_character_missing_from_the_face_is_borrowed_from_another_face():
    hei_only = next(chr(c) for c in sorted(cmap(HEI) - cmap(SONG)) if 0x4E00 <= c <= 0x9FFF)
    pdf = notice_pdf(NoticeData(title=f"通知{hei_only}", body="正文"))
    assert f"通知{hei_only}" in pdf_tools.text(pdf)
    names = " ".join(r["name"] for r in assert_all_fonts_embedded(pdf))
    assert "ZenHei" in names and "UMing" in names


def test_character_in_no_font_is_a_clear_error():
    with pytest.raises(PrintError) as info:
        notice_pdf(NoticeData(title="通知", body="请大家注意\U0001F600安全"))
    message = info.value.message
    assert "\U0001F600" in message and "U+1F600" in message and "无法打印" in message
    assert "段落" in message  # says where


def test_signin_sheet():
    people = [SigninPerson(name=f"居民{i}", unit=f"3栋{i % 4 + 1}单元", phone="13912345678") for i in range(30)]
    people.append(SigninPerson(name="阿卜杜热合曼·买买提江·艾合买提", unit="3栋1单元", role="楼栋长"))
    pdf = signin_pdf(SigninData(meeting="3号楼居民议事会", time="12月1日15:00", place="二楼会议室",
                                people=people, blank_rows=6))
    text = pdf_tools.text(pdf)
    for expected in ("3号楼居民议事会签到表", "会议：3号楼居民议事会", "时间：12月1日15:00", "地点：二楼会议室",
                     "序号", "姓名", "楼栋/单位", "职务", "联系电话", "签名", "备注", "居民0", "居民29", "楼栋长",
                     "应到：31 人", "实到：", "缺席：", "139****5678"):
        assert expected in text, expected
    assert "13912345678" not in text
    assert "37" in text  # numbered blank rows after the 31 names
    n = pdf_tools.pages(pdf)
    assert n == 2
    for page in (1, 2):
        page_text = pdf_tools.text(pdf, first=page, last=page)
        assert "签名" in page_text, "header row not repeated"
        assert f"第{page}页共{n}页" in page_text.replace(" ", "")
    # the long name wraps inside its cell instead of running into the next column
    words = pdf_tools.words(pdf)
    name_parts = [w for w in words if w.text.startswith("阿卜杜")]
    assert name_parts and all(w.x1 < 60 * MM for w in name_parts)
    assert_all_fonts_embedded(pdf)


def test_register_list_many_pages():
    columns = [Column("序号", 5), Column("姓名", 10), Column("证件号码", 20, "id"), Column("联系电话", 14, "phone"),
               Column("现住址", 30)]
    rows = [[str(i), f"张{i}", "420102199001011234", "13812345678", f"幸福里{i % 30 + 1}栋" + "很长的地址" * (i % 3)]
            for i in range(1, 401)]
    pdf = register_list_pdf(RegisterListData(title="幸福里人口台账", columns=columns, rows=rows, subtitle="筛选：全部"))
    n = pdf_tools.pages(pdf)
    assert n >= 10
    for page in range(1, n + 1):
        page_text = pdf_tools.text(pdf, first=page, last=page)
        assert "证件号码" in page_text and "现住址" in page_text, f"no header on page {page}"
        assert f"第{page}页共{n}页" in page_text.replace(" ", "")
    text = pdf_tools.text(pdf)
    assert "张1\n" in text and "张400" in text and "共 400 行" in text
    assert "420102********1234" in text and "420102199001011234" not in text
    assert "138****5678" in text and "13812345678" not in text
    full = register_list_pdf(RegisterListData(title="台账", columns=columns, rows=rows[:3], show_full=True))
    assert "420102199001011234" in pdf_tools.text(full)
    assert_all_fonts_embedded(pdf)


def test_register_list_rejects_a_ragged_row():
    with pytest.raises(PrintError) as info:
        register_list_pdf(RegisterListData(title="台账", columns=[Column("甲", 1), Column("乙", 1)],
                                           rows=[["1", "2"], ["3"]]))
    assert "第 2 行" in info.value.message


def test_cancel_stops_a_long_list():
    columns = [Column("序号", 1), Column("姓名", 3)]
    rows = [[str(i), "某某"] for i in range(3000)]
    with pytest.raises(Cancelled):
        register_list_pdf(RegisterListData(title="台账", columns=columns, rows=rows), cancelled=lambda: True)
    seen = []
    register_list_pdf(RegisterListData(title="台账", columns=columns, rows=rows[:200]),
                      progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]


def test_meeting_notice_missing_facts_is_a_clear_error():
    with pytest.raises(PrintError) as info:
        meeting_notice_pdf(MeetingNoticeData(meeting="议事会", time="", place="", issuer="居委会"))
    assert "会议通知缺少" in info.value.message and "时间" in info.value.message


def test_closing_marks_never_begin_a_line_and_addressee_stands_flush_left():
    # 2 indent + 26 characters fill the first line exactly; the comma must hang, not wrap.
    text = "各位居民：\n" + "社" * 26 + "，" + "区" * 10 + "。"
    pdf = notice_pdf(NoticeData(title="通知", body=text))
    words = pdf_tools.words(pdf)
    assert not any(w.text[0] in "，。、：；！？）》”" for w in words), [w.text for w in words]
    first = next(w for w in words if w.text.startswith("社"))
    assert first.text.endswith("，")
    addressee = next(w for w in words if w.text == "各位居民：")
    assert abs(addressee.x0 - 28 * MM) < 0.5


def test_official_notice_body_is_fangsong_and_title_song():
    """GB/T 9704 (DOMAIN.md): title 小标宋-style (the Song face), body, 1. headings, issuer and date 仿宋,
    一、 黑体, （一） 楷体; a character the FangSong face lacks comes from another face, not a box."""
    pdf = meeting_notice_pdf(meeting())
    runs = pdf_tools.font_runs(pdf)

    def face_of(start: str) -> str:
        return next(face for text, face in runs if text.startswith(start))

    assert face_of("关于召开").startswith("UMing")
    assert face_of("各位居民") == "GDZhuqueFangsongGrid"
    assert face_of("经研究") == "GDZhuqueFangsongGrid"
    assert face_of("一、会议时间").startswith("WenQuanYiZenHei")
    assert face_of("：社区党群服务中心") == "GDZhuqueFangsongGrid"  # what follows 一、 on its line
    assert face_of("（一）").startswith("UKai")
    assert face_of("1. 请准时参会") == "GDZhuqueFangsongGrid"
    assert face_of("幸福里社区居民委员会") == "GDZhuqueFangsong"
    assert face_of("2026年11月25日") == "GDZhuqueFangsong"
    assert {r["emb"] for r in assert_all_fonts_embedded(pdf)} == {"yes"}

    pdf = notice_pdf(NoticeData(title="通知", body="请周𰁁、王𠮷、赵孟𫖯到社区。"))
    runs = pdf_tools.font_runs(pdf)
    assert ("请周", "GDZhuqueFangsongGrid") in runs and ("𰁁", "GDUnifontExtra") in runs
    assert ("𠮷", "HanaMinB") in runs  # outside the 通用规范汉字表: from a fallback face
    assert ("、赵孟𫖯到社区。", "GDZhuqueFangsongGrid") in runs  # 𫖯 is in the table, so in the FangSong face
    assert "请周𰁁、王𠮷、赵孟𫖯到社区。" in pdf_tools.text(pdf)
