"""Rare characters (生僻字) on screen: the rare faces follow the main face in every application font,
cover the 通用规范汉字表 and Extensions A-F, and the names in the list, the person editor and a dialog
are laid out with real glyphs at 100 % and 150 % text (Qt's glyph runs are checked against the
fonts' coverage, not pixels); the character picker finds and inserts 𫖯."""

from __future__ import annotations

import pytest
import rare_chars
from PySide6.QtGui import QFont, QFontMetrics, QTextLayout
from PySide6.QtWidgets import QApplication, QMessageBox

from db.register import households, readings
from desktop import appearance
from tests.register_helpers import first_unit
from views.households import HouseholdsScreen
from views.households.person_dialog import PersonDialog

RARE_FAMILIES = ["HanaMinB", "GD BabelStone Han Extra", "GD Unifont Extra"]


@pytest.fixture
def text_size(qapp):
    """Set the app's text size like the settings do; restore the default font afterwards."""
    before = QFont(qapp.font())
    yield lambda percent: appearance.apply_text_scale(percent, qapp)
    qapp.setFont(before)


def glyphs(text: str, font: QFont) -> list[tuple[str, int]]:
    """(family, glyph index) of every glyph Qt lays text out with in this font."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(100_000)
    layout.endLayout()
    return [(run.rawFont().familyName(), index) for run in layout.glyphRuns() for index in run.glyphIndexes()]


def assert_no_boxes(text: str, font: QFont) -> None:
    laid = glyphs(text, font)
    assert len(laid) == len(text), (text, laid)
    assert all(index != 0 for _family, index in laid), f"{text}: a box (glyph 0) in {laid}"


def test_the_application_font_falls_back_to_the_rare_faces(text_size):
    text_size(100)
    families = QApplication.font().families()
    assert families[0] == appearance.register_fonts() and families[1:] == RARE_FAMILIES
    assert_no_boxes("赵孟𫖯", QApplication.font())
    assert {f for f, _i in glyphs("陈𰻞", QApplication.font())} == {"WenQuanYi Zen Hei", "GD BabelStone Han Extra"}
    assert {f for f, _i in glyphs("𫖯", QApplication.font())} == {"HanaMinB"}
    assert {f for f, _i in glyphs("周𰁁", QApplication.font())} == {"WenQuanYi Zen Hei", "GD Unifont Extra"}
    # A character no face has is a box, and the check sees it (it can fail).
    uncovered = chr(rare_chars.UNCOVERED_G)
    assert (glyphs(uncovered, QApplication.font())[0][1]) == 0
    assert not appearance.shows_char(uncovered)


def test_screen_fonts_cover_the_standard_table_and_extensions_a_to_i(text_size):
    text_size(100)
    metrics = [QFontMetrics(QFont(family)) for family in QApplication.font().families()]
    assert [QFont(f).exactMatch() for f in QApplication.font().families()] == [True] * 4

    def covered(code: int) -> bool:
        return any(m.inFontUcs4(code) for m in metrics)

    missing = [c for c in rare_chars.tongyong_guifan() if not covered(ord(c))]
    assert not missing, missing[:20]
    for name in "ABCDEF":
        gaps = [f"U+{c:04X}" for c in rare_chars.block(name) if not covered(c)]
        assert not gaps, f"Extension {name}: {len(gaps)} missing, e.g. {gaps[:5]}"
    for name, count in rare_chars.PARTLY_COVERED.items():  # Extensions G, H and I
        assert sum(covered(c) for c in rare_chars.block(name)) >= count, name


@pytest.mark.parametrize("percent", [100, 150])
def test_rare_names_show_without_boxes_in_list_editor_and_dialog(ctx, qtbot, store, text_size, percent, tmp_path):
    text_size(percent)
    households.register_household(store, household={"unit_id": first_unit(store), "door": "101"}, members=[
        {"relation": "户主", "name": name} if i == 0 else {"relation": "子女", "name": name}
        for i, name in enumerate(rare_chars.NAMES)])
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366, 768)
    screen.show()
    browser = screen.browser
    count = len(rare_chars.NAMES)
    qtbot.waitUntil(lambda: browser.model.rowCount() == count, timeout=3000)
    shown = {browser.model.data(browser.model.index(r, c)) for r in range(count)
             for c in range(browser.model.columnCount())}
    assert set(rare_chars.NAMES) <= shown
    for name in rare_chars.NAMES:
        assert_no_boxes(name, browser.table.font())
    assert browser.table.font().pointSizeF() == pytest.approx(11 * percent / 100)
    screen.grab().save(str(tmp_path / f"list-{percent}.png"))

    row = browser.model.row(0)
    editor = PersonDialog(ctx, person_id=row["person_id"], membership_id=row["membership_id"], relation="户主")
    qtbot.addWidget(editor)
    name_field = editor.inputs["name"]
    assert name_field.text() in rare_chars.NAMES
    for name in rare_chars.NAMES:
        assert_no_boxes(name, name_field.font())
    box = QMessageBox(QMessageBox.Icon.Information, "生僻字", "、".join(rare_chars.NAMES))
    qtbot.addWidget(box)
    for name in rare_chars.NAMES:
        assert_no_boxes(name, box.font())


def test_picker_finds_a_character_by_code_point_and_inserts_it(ctx, qtbot, text_size):
    text_size(100)
    editor = PersonDialog(ctx, collect=True, relation="户主")
    qtbot.addWidget(editor)
    editor.inputs["name"].setText("赵孟")
    picker = editor.open_picker("name")
    picker.query.setText("2B5AF")
    picker.search()
    assert [i.char for i in picker.found] == ["𫖯"]
    assert "U+2B5AF" in picker.detail.text() and "扩展C" in picker.detail.text()
    assert "通用规范汉字表" in picker.detail.text() and "屏幕显示和打印" in picker.detail.text()
    picker.insert()
    assert editor.inputs["name"].text() == "赵孟𫖯"
    editor.save()
    assert editor.values["name"] == "赵孟𫖯"


def test_picker_adds_a_reading_for_a_character_pypinyin_lacks(ctx, qtbot, store, text_size):
    text_size(100)
    households.register_household(store, household={"unit_id": first_unit(store), "door": "101"}, members=[
        {"relation": "户主", "name": "王𠮷"}])
    editor = PersonDialog(ctx, collect=True, relation="户主")
    qtbot.addWidget(editor)
    picker = editor.open_picker("name")
    picker.query.setText("𠮷")
    picker.search()
    assert "没有已知读音" in picker.detail.text()
    picker.reading.setText("吉")  # not pinyin: said in the dialog, nothing saved
    picker.add_reading()
    assert "拼音" in picker.message.text() and readings.list_readings(store) == []
    picker.reading.setText("jí")
    picker.add_reading()
    assert [(r["char"], r["reading"]) for r in readings.list_readings(store)] == [("𠮷", "ji")]
    assert "ji" in picker.detail.text()
    from db.register.search import Filters, search_ids

    assert len(search_ids(store, Filters(text="wj")).ids) == 1
    # A wrong reading can be taken back.
    picker.query.setText("𠮷")
    picker.search()
    assert not picker.remove_readings_button.isHidden() and "ji" in picker.detail.text()
    picker.remove_readings_button.click()
    assert readings.list_readings(store) == [] and search_ids(store, Filters(text="wj")).ids == []
    assert picker.remove_readings_button.isHidden()


def test_a_private_use_character_typed_in_the_editor_is_flagged(ctx, qtbot):
    editor = PersonDialog(ctx, collect=True, relation="户主")
    qtbot.addWidget(editor)
    editor.inputs["name"].setText("王\ue3c1")
    editor.check()
    message = editor.messages["name"]
    assert not message.isHidden() and "U+E3C1" in message.text() and "生僻字" in message.text()


def test_csv_export_in_gbk_says_which_names_do_not_fit_and_offers_gb18030(ctx, qtbot, store, tmp_path,
                                                                            monkeypatch):
    from views.ledger.export_dialog import ExportDialog

    households.register_household(store, household={"unit_id": first_unit(store), "door": "101"}, members=[
        {"relation": "户主", "name": "赵孟𫖯"}, {"relation": "配偶", "name": "王吉"}])
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.encoding_combo.isHidden()
    target = tmp_path / "名单.csv"
    dialog.path_edit.setText(str(target))
    assert not dialog.encoding_combo.isHidden()
    dialog.encoding_combo.setCurrentIndex(dialog.encoding_combo.findData("gbk"))
    asked = []

    def choose(error):
        asked.append(error)
        return "gb18030"

    monkeypatch.setattr(dialog, "ask_other_encoding", choose)
    dialog.export()
    (error,) = asked
    assert "𫖯" in error.message and "U+2B5AF" in error.message and error.suggestions == ("gb18030", "utf-8-sig")
    assert dialog.encoding_combo.currentData() == "gb18030"
    assert "赵孟𫖯" in target.read_text(encoding="gb18030")
    assert dialog.last_count == 2
