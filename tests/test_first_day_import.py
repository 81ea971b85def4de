"""A ledger without grid or compound columns, households without a head, and duplicate rows."""

from __future__ import annotations

import openpyxl
import pytest

from db.ledger.places_hint import households_without_head, missing_levels, suggest_places
from db.ledger.preview import build_preview, plan_import
from db.validation import check_character
from desktop.cli import main


def _id(birth: str, seq: int) -> str:
    body = f"420102{birth}{seq:03d}"
    return body + check_character(body)


@pytest.fixture
def ledger(tmp_path):
    """Sheet 第三网格, titled by the community; 4 households, only the first with a 户主."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "第三网格"
    ws.append(["幸福里社区第三网格人口台账"])
    ws.append(["填报日期：2026年11月"])
    ws.append(["姓名", "性别", "公民身份号码", "与户主关系", "楼栋", "单元", "门牌号"])
    ws.append(["张三", "男", _id("19500101", 11), "户主", "1", "1", "101"])
    ws.append(["李四", "女", _id("19520202", 22), "配偶", "1", "1", "101"])
    ws.append(["王五", "男", _id("19600303", 33), "配偶", "1", "1", "102"])
    ws.append(["赵六", "女", _id("19700404", 44), "子女", "1", "2", "201"])
    ws.append(["钱七", "男", _id("19800505", 55), "父母", "2", "1", "301"])
    path = tmp_path / "第三网格台账.xlsx"
    wb.save(path)
    return path


def test_the_sheet_name_and_title_suggest_where_people_live(ledger, store):
    plan = plan_import(ledger, store=store)
    assert missing_levels(plan) == ["grid", "compound"]
    hints = suggest_places(plan)
    assert hints["grid"] == "第三网格" and hints["community"] == "幸福里社区"


def test_the_places_given_are_used_for_every_row(ledger, store):
    plan = plan_import(ledger, store=store)
    plan.default_places = {"grid": "第三网格", "compound": "幸福里"}
    preview = build_preview(store, plan)
    places = {hp.place for hp in preview.households.values()}
    assert {p[0] for p in places} == {"第三网格"} and {p[1] for p in places} == {"幸福里"}


def test_households_without_a_head_are_found_before_committing(ledger, store):
    preview = build_preview(store, plan_import(ledger, store=store))
    lacking = households_without_head(preview)
    assert len(lacking) == 3 and len(preview.households) == 4
    assert any(r == ("第三网格", 6) for item in lacking for r in item["rows"])


def test_the_command_line_notes_the_suggestion_and_warns_about_heads(ledger, tmp_path, capsys):
    db = str(tmp_path / "g.sqlite")
    code = main(["import", "--db", db, str(ledger), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "没有网格列" in out and "--grid 第三网格" in out
    assert "4 户中有 3 户" in out and "户主" in out
    code = main(["import", "--db", db, str(ledger), "--grid", "第三网格", "--compound", "幸福里"])
    assert code == 0
    from db.store import Store

    s = Store(db)
    assert [r[0] for r in s.db.execute_sql("select name from grid where deleted = 0")] == ["第三网格"]
    assert [r[0] for r in s.db.execute_sql("select name from compound where deleted = 0")] == ["幸福里"]
    s.close()


def test_a_duplicate_row_says_which_rows_whether_they_differ_and_which_to_keep(tmp_path, store):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人口"
    ws.append(["姓名", "性别", "公民身份号码", "与户主关系", "联系电话"])
    number = _id("19500101", 11)
    ws.append(["张三", "男", number, "户主", "13800001111"])
    ws.append(["张三", "男", number, "户主", "13800001111"])
    ws.append(["张山", "男", number, "户主", "13800002222"])
    path = tmp_path / "dup.xlsx"
    wb.save(path)
    preview = build_preview(store, plan_import(path, store=store))
    same, other = [r for r in preview.rows if r.row in (3, 4)]
    text = same.errors[0].message
    assert "第 3 行" in text and "第 2 行" in text and "完全相同" in text and "保留" in text
    text = other.errors[0].message
    assert "第 4 行" in text and "姓名" in text and "联系电话" in text and "保留" in text


def test_the_wizard_asks_where_people_live_and_warns_about_heads(ctx, qtbot, ledger):
    from views.ledger.import_wizard import ImportWizard

    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.path_edit.setText(str(ledger))
    wizard.next()
    where = wizard.mapping_page.where
    assert where.isVisible()
    assert where.grid.text() == "第三网格"  # from the sheet name
    assert "幸福里社区" in where.note.text() and "住在哪里" in where.note.text()
    where.compound.setText("幸福里")
    wizard.next()
    pp = wizard.preview_page
    assert pp.heads_warning.isVisible()
    assert "4 户中有 3 户" in pp.heads_warning.text() and "户主" in pp.heads_warning.text()
    wizard.next()
    names = {r[0] for r in ctx.store.db.execute_sql("select name from grid where deleted = 0")}
    assert names == {"第三网格"}
    assert {r[0] for r in ctx.store.db.execute_sql("select name from compound where deleted = 0")} == {"幸福里"}
