"""Ledger import/export at community scale: a 150,000-row .xlsx imported (validated, committed,
searchable), its dry-run report, and exporting 150,000 rows."""

from __future__ import annotations

import datetime as dt
import pathlib
import random
import shutil
import time
from pathlib import Path

ROWS = 150_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬斌喆堃昇珺赟"
RELATIONS = ("户主", "配偶", "子女")
EPOCH = dt.date(1935, 1, 1)


def make_ledger(path: pathlib.Path, rows: int = ROWS, seed: int = 7) -> None:
    """A grid ledger as communities keep it: a title row, then one person per row."""
    from rustpy_xlsxwriter import write_worksheet

    from db.validation import check_character

    rnd = random.Random(seed)

    def records():
        for i in range(rows):
            household = i // 3
            compound = f"幸福{household // 6000 + 1}区"
            building = f"{household // 60 % 100 + 1}栋"
            unit = str(household // 12 % 5 + 1)
            door = str(100 * (household // 2 % 6 + 1) + household % 2 + 1)
            # (birth date, sequence) is unique: each block of 1,000 rows gets its own 200 days.
            day = EPOCH + dt.timedelta(days=(i // 1000) * 200 + rnd.randint(0, 199))
            birth = day.strftime("%Y%m%d")
            first17 = f"420102{birth}{i % 1000:03d}"
            number = first17 + check_character(first17)
            yield {
                "序号": i + 1,
                "姓名": rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.randint(1, 2))),
                "性别": "男" if i % 1000 % 2 else "女",
                "民族": "汉族",
                "公民身份号码": number,
                "出生日期": f"{birth[:4]}/{int(birth[4:6])}/{int(birth[6:])}",
                "联系电话": f"13{rnd.randint(0, 999999999):09d}",
                "小区": compound, "楼栋": building, "单元": unit, "门牌": door,
                "与户主关系": RELATIONS[i % 3],
                "人员类型": "常住",
            }

    write_worksheet(records(), str(path), sheet_name="人口台账", header_row=1,
                    merge_ranges=[(0, 0, 0, 12, "幸福社区人口信息登记表")])


def run(results: dict, workdir: pathlib.Path) -> None:
    from db.ledger.commit import commit_import
    from db.ledger.export import export_people
    from db.ledger.preview import build_preview, plan_import
    from db.store import Store

    workdir = pathlib.Path(workdir)
    source = workdir / "ledger-150k.xlsx"
    if not source.exists():
        make_ledger(source)
    db_path = workdir / "bench-ledger.sqlite"
    for old in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        old.unlink(missing_ok=True)  # every run imports into an empty register
    shutil.rmtree(workdir / "backups" / db_path.stem, ignore_errors=True)
    store = Store(db_path, user="bench")
    try:
        # Wall time, and CPU time of this process (what the wall time is on an otherwise idle machine;
        # the bench machine is often shared).
        started, cpu = time.perf_counter(), time.process_time()
        preview = build_preview(store, plan_import(source, store=store))
        results["ledger_dry_run_150k_s"] = round(time.perf_counter() - started, 2)
        results["ledger_dry_run_150k_cpu_s"] = round(time.process_time() - cpu, 2)
        results["ledger_dry_run_errors"] = preview.count("error")

        started, cpu = time.perf_counter(), time.process_time()
        preview = build_preview(store, plan_import(source, store=store))
        result = commit_import(store, preview, skip_invalid=True)
        results["ledger_import_150k_s"] = round(time.perf_counter() - started, 2)
        results["ledger_import_150k_cpu_s"] = round(time.process_time() - cpu, 2)
        results["ledger_import_created"] = result.created
        probe = store.db.execute_sql("select name from person order by rowid limit 1 offset ?",
                                     (ROWS // 2,)).fetchone()[0]
        results["ledger_import_searchable"] = int(_searchable(store, probe))
        # What the app does next, in the background once the import is shown (db.bulk.settle):
        # the write-ahead log is folded into the database file.
        from db.bulk import settle

        started = time.perf_counter()
        settle(store)
        results["ledger_import_then_background_checkpoint_s"] = round(time.perf_counter() - started, 2)
        # The physical limit beside it: bare sqlite3 executemany of the same final rows (every row
        # this import wrote, op log and search tables included, full-text tables left out) into an
        # empty file with the same tables and indexes, in one transaction.
        bare = bare_executemany(db_path, workdir / "bench-ledger-bare.sqlite")
        results["ledger_import_150k_bare_sqlite_executemany_s"] = bare
        results["ledger_import_150k_vs_bare_x"] = round(results["ledger_import_150k_s"] / max(0.001, bare), 2)

        started, cpu = time.perf_counter(), time.process_time()
        count = export_people(store, workdir / "export-150k.xlsx")
        results["ledger_export_150k_s"] = round(time.perf_counter() - started, 2)
        results["ledger_export_150k_cpu_s"] = round(time.process_time() - cpu, 2)
        results["ledger_export_rows"] = count
    finally:
        store.close()


def bare_executemany(source: Path, target: Path) -> float:
    """Seconds for bare sqlite3 to insert every row of `source` (its ordinary tables) with
    executemany into an empty file with the same tables and indexes, in one transaction; the rows
    are read into memory before the clock starts."""
    import sqlite3

    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    src = sqlite3.connect(source)
    virtual = [n for (n,) in src.execute("select name from sqlite_master where sql like 'create virtual%' collate nocase")]
    tables = [(n, q) for n, q in src.execute(
        "select name, sql from sqlite_master where type = 'table' and sql is not null and name not like 'sqlite_%' "
        "and sql not like 'create virtual%' collate nocase") if not any(n.startswith(v + "_") for v in virtual)]
    indexes = [q for (q,) in src.execute("select sql from sqlite_master where type = 'index' and sql is not null")
               if not any(q.split(" ON ")[1].strip('"').startswith(v) for v in virtual)]
    data = {n: src.execute(f'select * from "{n}"').fetchall() for n, _q in tables}
    src.close()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("pragma journal_mode = wal")
        for _n, sql in tables:
            con.execute(sql)
        for sql in indexes:
            con.execute(sql)
        started = time.perf_counter()
        con.execute("begin")
        for name, rows in data.items():
            if rows:
                con.executemany(f'insert into "{name}" values ({",".join("?" * len(rows[0]))})', rows)
        con.execute("commit")
        return round(time.perf_counter() - started, 2)
    finally:
        con.close()
        for leftover in target.parent.glob(target.name + "*"):
            leftover.unlink()


def _searchable(store, name: str) -> bool:
    """The register's search index (kept by row hooks) finds an imported person by name."""
    from db.register.search import Filters, search_ids

    return bool(search_ids(store, Filters(text=name)).ids)


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        run(out, pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(tmp))
    print(json.dumps(out, ensure_ascii=False, indent=1))
