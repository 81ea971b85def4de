"""Export to .xlsx (masked by default, audited), department templates keeping their formatting,
and the griddesk import/export command line."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from db.ledger.commit import commit_import
from db.ledger.export import PeopleFilter, export_people
from db.ledger.preview import build_preview, plan_import
from db.ledger.templates import fill_template, inspect_template, save_template, template_names
from desktop.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
COMMUNITY = FIXTURES / "community.xlsx"
TEMPLATE = FIXTURES / "dept-template.xlsx"


@pytest.fixture
def imported(store):
    commit_import(store, build_preview(store, plan_import(COMMUNITY, store=store)), skip_invalid=True)
    return store


def audits(store) -> list[tuple[str, dict]]:
    rows = store.db.execute_sql("select action, detail, user from audit_entry order by at").fetchall()
    return [(a, json.loads(d) | {"user": u}) for a, d, u in rows]


def test_export_masks_numbers_freezes_the_header_and_sets_widths(imported, tmp_path):
    out = tmp_path / "list.xlsx"
    assert export_people(imported, out) == 7
    ws = openpyxl.load_workbook(out).active
    assert ws.freeze_panes == "A3"  # title row and header row stay in view
    header = [c.value for c in ws[2]]
    assert header[:5] == ["序号", "姓名", "性别", "民族", "证件号码"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert rows["张三"][4] == "420102********1231"
    assert rows["张三"][header.index("联系电话")] == "138****5678"
    assert ws.column_dimensions["E"].width > 18  # ID numbers fit
    assert ws.column_dimensions["C"].width < 8
    assert audits(imported) == [("export", {"file": "list.xlsx", "rows": 7, "filter": {},
                                            "columns": audits(imported)[0][1]["columns"], "user": "测试员"})]


def test_unmasked_export_is_an_explicit_choice_recorded_in_the_audit_trail(imported, tmp_path):
    out = tmp_path / "full.xlsx"
    export_people(imported, out, unmasked=True, people=PeopleFilter(building="3栋"))
    ws = openpyxl.load_workbook(out).active
    ids = [r[4] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert "420102198001011231" in ids and len(ids) == 3
    (action, detail), = audits(imported)
    assert action == "export_unmasked" and detail["rows"] == 3 and detail["filter"] == {"building": "3栋"}


def test_filters_select_the_rows(imported, tmp_path):
    assert export_people(imported, tmp_path / "a.xlsx", people=PeopleFilter(person_type="流动")) == 2
    # 3: the 流动人口 sheet's whole addresses (幸福小区5栋1单元202室) are read into places too.
    assert export_people(imported, tmp_path / "b.xlsx", people=PeopleFilter(sex="女", compound="幸福小区")) == 3
    assert export_people(imported, tmp_path / "c.xlsx", people=PeopleFilter(name="无此人")) == 0
    ws = openpyxl.load_workbook(tmp_path / "c.xlsx").active
    assert [c.value for c in ws[2]][1] == "姓名"  # an empty list still has its header


def test_a_department_template_is_mapped_once_and_filled_keeping_its_formatting(imported, tmp_path):
    info = inspect_template(TEMPLATE)
    assert info.header_row == 2
    proposed = {info.headers[c]: k for c, k in info.mapping.items()}
    assert proposed == {"序号": "seq", "户主姓名": "name", "身份证号码": "id_number", "家庭住址": "address",
                        "联系方式": "phone"}
    save_template(imported, path=TEMPLATE, name="低保名册", mapping=info.mapping)
    assert template_names(imported) == ["低保名册"]
    out = tmp_path / "filled.xlsx"
    n = fill_template(imported, name="低保名册", path=out, people=PeopleFilter(building="3栋"))
    assert n == 3
    wb = openpyxl.load_workbook(out)
    ws = wb["低保对象名册"]
    assert ws["A1"].value == "XX街道低保对象花名册" and "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].font.b and ws["A1"].font.sz == 16
    assert ws.column_dimensions["D"].width == 30
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=6)]
    assert values[0][:3] == [1, "张三", "420102********1231"]
    assert values[0][4] == "138****5678" and values[0][5] is None  # 签字 stays empty
    assert [v[0] for v in values] == [1, 2, 3]
    for r in (4, 5, 6):
        cell = ws.cell(r, 2)
        assert cell.font.name == "仿宋" and cell.border.left.style == "thin"
        assert ws.row_dimensions[r].height == 24
    assert ws.cell(3, 1).fill.fgColor.rgb.endswith("D9E1F2")  # header untouched
    assert audits(imported)[-1][1]["template"] == "低保名册"


def test_cli_dry_run_reports_and_exits_non_zero_on_errors(tmp_path, capsys):
    db = tmp_path / "g.sqlite"
    code = main(["import", "--db", str(db), str(COMMUNITY), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 1
    assert "共 10 行：新增 7 人" in out and "工作表“人口台账”第 8 行“公民身份号码”列" in out
    assert not db.exists()  # a dry run writes nothing
    assert main(["import", "--db", str(db), str(FIXTURES / "gbk.csv"), "--dry-run"]) == 0


def test_cli_import_export_template_and_undo(tmp_path, capsys):
    db = str(tmp_path / "g.sqlite")
    assert main(["import", "--db", db, str(COMMUNITY)]) == 1  # errors: nothing imported
    assert "没有导入任何数据" in capsys.readouterr().err
    errors = tmp_path / "errors.xlsx"
    assert main(["import", "--db", db, str(COMMUNITY), "--skip-invalid", "--errors", str(errors),
                 "--save-mapping", "社区表"]) == 0
    out = capsys.readouterr().out
    assert "新增 7 人" in out and errors.exists()
    assert main(["import", "--db", db, str(COMMUNITY), "--skip-invalid", "--mapping", "社区表",
                 "--errors", str(errors)]) == 0
    assert "无需更改" in capsys.readouterr().out
    assert main(["template", "--db", db, "--name", "低保", str(TEMPLATE), "--map", "签字=notes"]) == 0
    assert "签字 → 备注" in capsys.readouterr().out
    out_file = tmp_path / "dept.xlsx"
    assert main(["export", "--db", db, "--to", str(out_file), "--template", "低保", "--sex", "女"]) == 0
    ws = openpyxl.load_workbook(out_file).active
    assert sorted(ws.cell(r, 2).value for r in (4, 5, 6)) == sorted(["刘二", "李四", "钱七"])
    plain = tmp_path / "plain.xlsx"
    assert main(["export", "--db", db, "--to", str(plain), "--columns", "name,id_number",
                 "--building", "4栋"]) == 0
    ws = openpyxl.load_workbook(plain).active
    assert [c.value for c in ws[3]] == ["钱七", "420102********2464"]
    assert main(["export", "--db", db, "--to", str(plain), "--columns", "name,shoe_size"]) == 2
    capsys.readouterr()
    assert main(["undo-import", "--db", db]) == 0
    assert "已撤销" in capsys.readouterr().out
    assert main(["undo-import", "--db", db]) == 2  # nothing left to undo


def test_export_takes_the_register_lists_own_filters(imported, tmp_path):
    from db.register.search import Filters

    out = tmp_path / "zhang.xlsx"
    assert export_people(imported, out, people=PeopleFilter(register=Filters(text="zhang"))) == 2
    names = sorted(r[1] for r in openpyxl.load_workbook(out).active.iter_rows(min_row=3, values_only=True))
    assert names == ["张三", "张小明"]
    assert audits(imported)[-1][1]["filter"] == {"register": {"text": "zhang", "status": "active"}}


def test_values_that_look_like_formulas_stay_text(store, tmp_path):
    src = tmp_path / "evil.csv"
    src.write_text("姓名,身份证号\n\"=HYPERLINK(\"\"http://x\"\")\",110105199003104213\n", encoding="utf-8")
    commit_import(store, build_preview(store, plan_import(src, store=store)))
    save_template(store, path=TEMPLATE, name="t", mapping=inspect_template(TEMPLATE).mapping)
    fill_template(store, name="t", path=tmp_path / "t.xlsx")
    export_people(store, tmp_path / "l.xlsx")
    for path, cell in ((tmp_path / "t.xlsx", "B4"), (tmp_path / "l.xlsx", "B3")):
        c = openpyxl.load_workbook(path).active[cell]
        assert c.value.startswith("=HYPERLINK") and c.data_type == "s"


def test_cancelling_an_export_leaves_no_file_and_no_audit_entry(imported, tmp_path):
    from db.errors import Cancelled
    from desktop.tasks import TaskState

    state = TaskState(min_interval=0)
    state.cancel()
    out = tmp_path / "never.xlsx"
    with pytest.raises(Cancelled):
        export_people(imported, out, state=state)
    with pytest.raises(Cancelled):
        save_template(imported, path=TEMPLATE, name="t", mapping=inspect_template(TEMPLATE).mapping)
        fill_template(imported, name="t", path=out, state=state)
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    assert audits(imported) == []


def test_re_importing_a_masked_export_explains_the_hidden_digits(imported, tmp_path):
    """Export (masked by default), edit in Excel, import again: each masked number is named as such."""
    out = tmp_path / "list.xlsx"
    export_people(imported, out)
    preview = build_preview(imported, plan_import(out, store=imported))
    assert preview.count("error") == 7
    messages = [issue.message for r in preview.error_rows() for issue in r.errors]
    assert any("420102********1231" in m and "中间的数字已隐藏" in m for m in messages)
    assert any("138****5678" in m and "中间的数字已隐藏" in m for m in messages)
    assert not any("应为 18 位" in m for m in messages)


def test_cli_writes_the_error_workbook_where_the_app_does(tmp_path, capsys):
    source = tmp_path / "community.xlsx"
    source.write_bytes(COMMUNITY.read_bytes())
    assert main(["import", "--db", str(tmp_path / "g.sqlite"), str(source), "--skip-invalid"]) == 0
    assert (tmp_path / "community-错误.xlsx").exists()
    assert "community-错误.xlsx" in capsys.readouterr().out
