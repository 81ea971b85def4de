"""Rare characters (生僻字) in files: .xlsx and .csv (UTF-8, GB18030) keep four-byte characters in
both directions; GBK says which names it cannot hold and offers GB18030 or UTF-8; a private-use
character (造字) in an imported ledger is reported with row, column and code point."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from db.ledger.commit import commit_import
from db.ledger.export import export_people
from db.ledger.export_csv import CsvEncodingError, export_people_csv
from db.ledger.preview import build_preview, plan_import
from db.ledger.readers import read_file
from db.ledger.report import report_lines
from db.validation import check_character

NAMES = ["赵孟𫖯", "王𠮷", "李䶮", "陈𰻞"]
HEADER = ["姓名", "性别", "身份证号", "与户主关系", "小区", "楼栋", "单元", "门牌号", "联系电话"]


def _id(n: int) -> str:
    first = f"42010219800101{n:03d}"
    return first + check_character(first)


def ledger_rows(names=NAMES) -> list[list[str]]:
    rows = [HEADER]
    for n, name in enumerate(names, 1):
        rows.append([name, "男" if n % 2 else "女", _id(n * 2 + 1 if n % 2 else n * 2), "户主" if n == 1 else "子女",
                     "幸福小区", "3栋", "1单元", "101", ""])
    return rows


def write_csv(path, rows, encoding):
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)


def imported_names(store, path) -> set[str]:
    preview = build_preview(store, plan_import(path, store=store))
    assert not preview.has_errors, report_lines(preview)
    commit_import(store, preview)
    return {r[0] for r in store.db.execute_sql("select name from person where deleted = 0")}


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_with_four_byte_characters_round_trips(store, tmp_path, encoding):
    source = tmp_path / "in.csv"
    write_csv(source, ledger_rows(), encoding)
    if encoding == "gb18030":
        assert "𫖯".encode("gb18030") in source.read_bytes()  # a four-byte GB18030 sequence
        assert len("𫖯".encode("gb18030")) == 4
    assert imported_names(store, source) == set(NAMES)
    out = tmp_path / "out.csv"
    exported = "gb18030" if encoding == "gb18030" else "utf-8-sig"
    assert export_people_csv(store, out, encoding=exported) == 4
    text = out.read_bytes().decode(exported)
    for name in NAMES:
        assert name in text
    (sheet,) = read_file(out)  # and GridDesk reads its own file back
    assert {row[1] for row in sheet.rows[1:]} == set(NAMES)


def test_gbk_export_names_what_it_cannot_hold_and_writes_nothing(store, tmp_path):
    source = tmp_path / "in.csv"
    write_csv(source, ledger_rows(), "gb18030")
    imported_names(store, source)
    out = tmp_path / "out.csv"
    with pytest.raises(CsvEncodingError) as caught:
        export_people_csv(store, out, encoding="gbk")
    error = caught.value
    assert error.suggestions == ("gb18030", "utf-8-sig")
    # 䶮 (Extension A) is not in GBK either; the row numbers are the exported file's.
    assert {char for _row, _column, char in error.problems} == {"𫖯", "𠮷", "䶮", "𰻞"}
    assert error.total == 4 and sorted(row for row, _c, _ch in error.problems) == [1, 2, 3, 4]
    assert "GBK" in error.message and "GB18030" in error.message and "U+2B5AF" in error.message
    assert "姓名" in error.message
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    # What the message offers works.
    assert export_people_csv(store, out, encoding="gb18030") == 4
    assert "赵孟𫖯" in out.read_text(encoding="gb18030")


def test_xlsx_export_and_import_keep_four_byte_characters(store, tmp_path):
    book = openpyxl.Workbook()
    for row in ledger_rows():
        book.active.append(row)
    source = tmp_path / "in.xlsx"
    book.save(source)
    assert imported_names(store, source) == set(NAMES)
    out = tmp_path / "out.xlsx"
    export_people(store, out)
    values = {c.value for row in openpyxl.load_workbook(out).active.iter_rows() for c in row}
    assert set(NAMES) <= values


def test_private_use_character_in_an_imported_ledger_is_reported(store, tmp_path):
    source = tmp_path / "old.csv"
    write_csv(source, ledger_rows(["赵孟\ue3c1", "王吉"]), "gb18030")
    preview = build_preview(store, plan_import(source, store=store))
    (row,) = [r for r in preview.rows if r.warnings]
    assert row.row == 2
    (warning,) = row.warnings
    assert warning.column == "姓名" and warning.field == "name" and "U+E3C1" in warning.message
    assert "第 3 个字" in warning.message
    report = "\n".join(report_lines(preview))
    assert "第 2 行" in report and "“姓名”" in report and "U+E3C1" in report


def test_command_line_exports_csv_in_gb18030_and_refuses_gbk(tmp_path):
    from test_cli import griddesk

    from db.store import Store

    db = tmp_path / "g.sqlite"
    store = Store(db, user="测试员")
    source = tmp_path / "in.csv"
    write_csv(source, ledger_rows(), "gb18030")
    imported_names(store, source)
    store.close()
    out = tmp_path / "out.csv"
    done = griddesk("export", "--db", str(db), "--to", str(out), "--encoding", "gb18030")
    assert done.returncode == 0, done.stderr
    assert "赵孟𫖯" in out.read_text(encoding="gb18030")
    refused = griddesk("export", "--db", str(db), "--to", str(tmp_path / "gbk.csv"), "--encoding", "gbk")
    assert refused.returncode == 2 and "U+2B5AF" in refused.stderr and "GB18030" in refused.stderr
    assert not (tmp_path / "gbk.csv").exists()
