"""Printing: a 2,000-row register list (target ≤ 2 s), against bare reportlab drawing the same table;
and the same list gathered from a demo database and rendered (query + layout)."""

from __future__ import annotations

import io
import random
from pathlib import Path

from bench.common import Timer, demo_db

ROWS = 2000


def _rows(n: int) -> tuple[list, list[list[str]]]:
    from printouts.data import Column

    rng = random.Random(7)
    columns = [Column("序号", 5), Column("姓名", 10), Column("性别", 5), Column("证件号码", 19, "id"),
               Column("出生日期", 11), Column("联系电话", 13, "phone"), Column("与户主关系", 9),
               Column("住址", 27), Column("人员类型", 7), Column("重点人群", 14)]
    surnames, given = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗", "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞喆堃昇珺赟䶮"
    rows = []
    for i in range(1, n + 1):
        address = f"幸福里小区{i % 30 + 1}栋{i % 4 + 1}单元{100 + i % 20}室"
        if i % 15 == 0:
            address += "（出租，二房东转租给多户，需重点核查）"  # some cells wrap
        rows.append([str(i), rng.choice(surnames) + rng.choice(given) + rng.choice(given), rng.choice("男女"),
                     "420102199001011234", "1990-01-01", "13812345678", "户主", address, "常住",
                     "独居老人" if i % 11 == 0 else ""])
    return columns, rows


def _bare_reportlab(columns, rows) -> bytes:
    """What reportlab costs with no layout engine: drawString every cell, grid lines, fixed rows
    (long cells are simply cut, headers repeated by hand): the floor for the same table."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from printouts.fonts import HEI, register_fonts
    from printouts.tables import masked

    register_fonts()
    out = io.BytesIO()
    width, height = landscape(A4)
    c = Canvas(out, pagesize=(width, height), initialFontName=HEI)
    left, top, block_w = 15 * mm, height - 15 * mm, width - 30 * mm
    total = sum(col.width for col in columns)
    widths = [block_w * col.width / total for col in columns]
    row_h, per_page = 16, int((height - 33 * mm) // 16) - 1
    kinds = [col.kind for col in columns]
    for start in range(0, len(rows), per_page):
        chunk = [[col.title for col in columns]] + [
            [masked(v, k, False) if k in ("id", "phone") else v for v, k in zip(r, kinds, strict=True)]
            for r in rows[start:start + per_page]]
        c.setFont(HEI, 9)
        y = top
        for r in chunk:
            x = left
            for value, w in zip(r, widths, strict=True):
                c.drawString(x + 3, y - 11.5, value)
                x += w
            c.line(left, y, left + block_w, y)
            y -= row_h
        c.line(left, y, left + block_w, y)
        x = left
        for w in [*widths, 0]:
            c.line(x, top, x, y)
            x += w
        c.drawCentredString(width / 2, 10 * mm, f"第 {start // per_page + 1} 页")
        c.showPage()
    c.save()
    return out.getvalue()


def run(results: dict, workdir: Path) -> None:
    from db.print_jobs import page_count
    from printouts.data import RegisterListData
    from printouts.fonts import register_fonts
    from printouts.tables import register_list_pdf

    register_fonts()
    columns, rows = _rows(ROWS)
    data = RegisterListData(title="幸福里社区人口台账", columns=columns, rows=rows, subtitle="筛选：全部")
    register_list_pdf(RegisterListData(title="预热", columns=columns, rows=rows[:50]))  # warm caches
    best = bare = float("inf")
    for _i in range(3):
        with Timer() as t:
            pdf = register_list_pdf(data)
        best = min(best, t.seconds)
        with Timer() as b:
            _bare_reportlab(columns, rows)
        bare = min(bare, b.seconds)
    results["printing_list_2000_rows_s"] = round(best, 3)
    results["printing_list_2000_rows_bare_reportlab_s"] = round(bare, 3)
    results["printing_list_vs_bare_reportlab_ratio"] = round(best / bare, 2)
    results["printing_list_2000_rows_pages"] = page_count(pdf)
    results["printing_list_2000_rows_pdf_kb"] = round(len(pdf) / 1024, 1)

    # The same size of list straight from a register: query, mask, lay out.
    from db.print_jobs import PrintJob, make_pdf
    from db.store import Store

    store = Store(demo_db(workdir, 800), create=False)
    try:
        with Timer() as t:
            result = make_pdf(store, PrintJob("list", {"kind": "persons"}))
    finally:
        store.close()
    results["printing_list_from_db_rows"] = result.records
    results["printing_list_from_db_s"] = round(t.seconds, 3)
