"""Printing on the first day: column titles never break inside a word, the 入户登记表 fills its page
with the community and room for a seal, the sign-in sheet has host and date lines and a wide
signature column, headings run on in the body face, and the screen resets on another form."""

from __future__ import annotations

import pdf_tools
import pytest

from printouts.data import HouseholdFormData, MemberRow, SigninData, SigninPerson
from printouts.fonts import HEI
from printouts.household import household_pdf
from printouts.notice import blocks_from_text
from printouts.tables import SIGNIN_COLUMNS, fit_titles, signin_pdf, title_lines


def test_titles_break_only_after_a_slash():
    from printouts.fonts import register_fonts

    register_fonts()
    lines = title_lines("楼栋/单元/门牌", 60, HEI, 10.5).split("\n")
    assert len(lines) > 1 and "".join(lines) == "楼栋/单元/门牌"
    assert all(line.endswith("/") for line in lines[:-1])  # every break right after a slash
    assert title_lines("与户主关系", 200, HEI, 10.5) == "与户主关系"
    widths = fit_titles(["与户主关系", "性别", "证件号码"], [20, 100, 200], HEI, 10.5)
    assert widths[0] >= 10.5 * 5 and abs(sum(widths) - 320) < 0.01


def _form(**kwargs) -> HouseholdFormData:
    members = [MemberRow(name="王辉红", relation="户主", sex="女", ethnicity="汉族", id_number="420102194709290223",
                         birth_date="1947-09-29", phone="17000003727", person_type="户籍", residence_status="人户一致"),
               MemberRow(name="邓燕秀", relation="配偶", sex="男", ethnicity="汉族", id_number="430602194407259756",
                         birth_date="1944-07-25", phone="13400009806", person_type="户籍", residence_status="人户一致")]
    return HouseholdFormData(address="百步亭花园1栋1单元101室", number="G001-000001", grid="第1网格",
                             compound="百步亭花园", building="1栋", unit="1单元", door="101", members=members,
                             **kwargs)


def test_the_household_form_keeps_titles_whole_and_fills_one_page():
    pdf = household_pdf(_form(community="幸福里社区"))
    assert pdf_tools.pages(pdf) == 1
    text = pdf_tools.text(pdf)
    for title in ("与户主关系", "联系电话", "证件号码", "出生日期", "人员类型", "人户状态"):
        assert title in text, title  # on one line: not 与户/主关/系
    assert "420102********0223" in text and "170****3727" in text  # numbers on one line, masked
    assert "社区：幸福里社区" in text
    assert "幸福里社区居民委员会（盖章）" in text
    words = pdf_tools.words(pdf)
    bottom = max(w.y1 for w in words)
    assert bottom > 0.8 * 842  # the page is used down to its foot (A4: 842 pt)


def test_the_sign_in_sheet_has_host_and_date_lines_and_a_wide_signature_column():
    pdf = signin_pdf(SigninData(meeting="3号楼居民议事会关于加装电梯的意见征集会", time="2026年12月1日下午3:00",
                                place="社区活动室", people=[SigninPerson(name="王五", unit="3栋2单元1101室")]))
    lines = pdf_tools.text(pdf).splitlines()
    assert "会议：3号楼居民议事会关于加装电梯的意见征集会" in lines  # a line of its own
    assert any(line.startswith("主持人：") and "日期：" in line for line in lines)
    weights = dict((t, w) for t, w in SIGNIN_COLUMNS)
    assert weights["Signature"] == max(weights.values())


def test_a_heading_runs_on_in_the_body_face():
    (h1, h2) = blocks_from_text("一、检查时间：12月1日至10日。\n二、检查内容。楼道堆放杂物。")
    assert (h1.kind, h1.text, h1.rest, h1.sep) == ("h1", "一、检查时间", "12月1日至10日。", "：")
    assert (h2.text, h2.rest, h2.sep) == ("二、检查内容", "楼道堆放杂物。", "。")
    (only,) = blocks_from_text("三、其他事项")
    assert only.text == "三、其他事项" and not only.rest


@pytest.fixture
def screen(qtbot, ctx):
    from print_fixtures import printing_screen

    return printing_screen(ctx, qtbot, buildings=2, units=2, doors=3)


def test_another_form_resets_the_preview_and_the_scroll(screen):
    screen.select_form("household")
    screen.generate()
    assert screen.preview_stack.currentWidget() is screen.view
    screen.options_scroll.verticalScrollBar().setValue(screen.options_scroll.verticalScrollBar().maximum())
    screen.select_form("signin")
    assert screen.preview_stack.currentIndex() == 0  # the hint, not the household form
    assert screen.options_scroll.verticalScrollBar().value() == 0
    assert screen.result is None


def test_the_household_picker_shows_names_and_can_be_searched(screen, store):
    panel = screen.select_form("household")
    panel.places.select("building", screen.ids["buildings"][0])
    combo = panel.places.household
    assert combo.isEditable()
    label = combo.itemText(0)
    name = store.db.execute_sql(
        "select p.name from membership m join person p on p.id = m.person_id where m.household_id = ? "
        "and m.deleted = 0 and m.until is null limit 1", (combo.itemData(0),)).fetchone()[0]
    assert name in label
    from PySide6.QtCore import Qt

    assert combo.completer().filterMode() == Qt.MatchFlag.MatchContains
