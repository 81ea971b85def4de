"""Data core: demo generation rate, our write path against bare sqlite3, start-up to window shown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Timer, demo_db

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))


def _write_path(results: dict, workdir: Path) -> None:
    """The same 50,000 person rows through db.oplog.write (peewee) and bare sqlite3 executemany."""
    from pysqlite3 import dbapi2 as sqlite3

    from db import oplog
    from db.ids import new_id
    from db.models.register import Person
    from db.store import Store

    rows = [{"id": new_id(), "name": f"居民{i}", "sex": "男" if i % 2 else "女",
             "id_number": f"42010219800101{i % 1000:03d}X", "birth_date": "1980-01-01",
             "phone": f"138{i:08d}", "current_address": f"幸福里{i % 50}栋{i % 300}室",
             "residence_status": "人户一致", "person_type": "户籍"} for i in range(50_000)]
    path = workdir / "writepath.sqlite"
    for f in workdir.glob("writepath.sqlite*"):
        f.unlink()
    store = Store(path)
    with Timer() as ours:
        oplog.write(store, Person, rows)
    store.close()
    bare_path = workdir / "bare.sqlite"
    for f in workdir.glob("bare.sqlite*"):
        f.unlink()
    conn = sqlite3.connect(str(bare_path))
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    cols = list(rows[0])
    # The same table as ours (primary key and all), without the op log.
    check = Store(path)
    ddl = check.db.execute_sql("select sql from sqlite_master where name = 'person'").fetchone()[0]
    check.close()
    conn.execute(ddl)
    cols = ["id", "deleted", *cols[1:]]
    rows = [{"deleted": 0, **r} for r in rows]
    with Timer() as bare:
        with conn:
            conn.executemany(f"insert into person ({','.join(cols)}) values ({','.join('?' * len(cols))})",
                             [tuple(r[c] for c in cols) for r in rows])
    conn.close()
    results["write_path_rows_per_s"] = len(rows) / ours.seconds
    # Not like with like on purpose: ours also appends the op log and keeps the search index, the
    # bare side inserts the person rows only; the ratio is named for what it measures.
    results["write_bare_insert_rows_per_s"] = len(rows) / bare.seconds
    results["write_path_with_op_log_and_index_vs_bare_insert_ratio"] = ours.seconds / bare.seconds


def _startup(results: dict, db_path: Path) -> None:
    """Process start to main window shown, on the demo database (median of 3 runs)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GRIDDESK_EXIT_WHEN_SHOWN="1")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "desktop", "gui", "--db", str(db_path)],
                              env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0 or "WINDOW_SHOWN" not in proc.stdout:
            raise RuntimeError(f"the app did not report its window: {proc.stdout}\n{proc.stderr}")
        times.append(elapsed)
    results["startup_to_window_shown_s"] = sorted(times)[1]


def run(results: dict, workdir: Path) -> None:
    from db.demo import generate
    from db.store import Store

    path = workdir / "demo-rate.sqlite"
    for f in workdir.glob("demo-rate.sqlite*"):
        f.unlink()
    store = Store(path)
    with Timer() as t:
        counts = generate(store, households=HOUSEHOLDS, seed=1)
    store.close()
    results["demo_generate_households"] = HOUSEHOLDS
    results["demo_generate_s"] = t.seconds
    results["demo_generate_households_per_s"] = HOUSEHOLDS / t.seconds
    results["demo_persons"] = counts["persons"]
    results["demo_db_size_mb"] = path.stat().st_size / 1e6
    _write_path(results, workdir)
    _startup(results, demo_db(workdir, HOUSEHOLDS))
