"""Backups on the demo community: a full copy against an incremental one after 1,000 changes
(and at the 20,000-op limit), a 1,000-change sync import that needs a backup first, restores.

Size, time and peak memory of a full backup and its restore, before and after backups were
compressed and encrypted, side by side in one run, each in a child process of its own (peak
resident memory from wait4, as bench/bench_memory.py): "before" is what older versions did (SQLite's
online backup copy of the file, checked with quick_check; a restore copied the file back and
checked it), "after" is `griddesk backup` / `griddesk restore` (which also makes the safety backup
of the database it replaces). The footprint of 14 days: 14 daily full backups are kept (KEEP), one
a day; GRIDDESK_BENCH_BASELINE_CODE=/path/to/another/checkout measures its full backup and restore
too, in the same run (figures named *_baseline_code_*); GRIDDESK_BENCH_FORTNIGHT=1 simulates the 14 days (some work and a daily backup each day)
instead of taking 14 × one full backup.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))


def _remove(path: Path) -> None:
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


_OLD_BACKUP = """
import sys, time
from pysqlite3 import dbapi2 as sqlite3
src, dst = sys.argv[1], sys.argv[2]
source = sqlite3.connect(src)
dest = sqlite3.connect(dst)
source.backup(dest)
assert dest.execute("pragma quick_check").fetchone()[0] == "ok"
dest.close()
source.close()
"""

_OLD_RESTORE = """
import shutil, sys
from pysqlite3 import dbapi2 as sqlite3
shutil.copyfile(sys.argv[1], sys.argv[2])
conn = sqlite3.connect(sys.argv[2])
assert conn.execute("pragma quick_check").fetchone()[0] == "ok"
conn.close()
"""


def run_footprint(results: dict, workdir: Path) -> None:
    """Full backup and restore before/after at HOUSEHOLDS, and the footprint of 14 daily backups."""
    from bench.bench_memory import griddesk, python, run_child
    from db import backup

    work = workdir / "backup-size"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    db = fresh_copy(demo_db(workdir, HOUSEHOLDS), work / "a.sqlite")
    results["backup_db_file_mb"] = round(db.stat().st_size / 1e6, 1)

    old = work / "old-copy.sqlite"
    peak, seconds, _ = run_child(python(_OLD_BACKUP) + [str(db), str(old)])
    results["backup_full_before_mb"] = round(old.stat().st_size / 1e6, 1)
    results["backup_full_before_s"] = seconds
    results["backup_full_before_peak_mb"] = peak
    peak, seconds, _ = run_child(python(_OLD_RESTORE) + [str(old), str(work / "old-restored.sqlite")])
    results["backup_restore_before_s"] = seconds
    results["backup_restore_before_peak_mb"] = peak
    old_size = old.stat().st_size
    _remove(old)
    _remove(work / "old-restored.sqlite")

    baseline = os.environ.get("GRIDDESK_BENCH_BASELINE_CODE")
    if baseline:  # the same backup and restore with another checkout (e.g. the previous version)
        other = fresh_copy(db, work / "b.sqlite")
        peak, seconds, _ = run_child(griddesk("backup", "--db", str(other)), cwd=Path(baseline))
        made = backup.latest_backup(other)
        results["backup_full_baseline_code_mb"] = round(made.stat().st_size / 1e6, 1)
        results["backup_full_baseline_code_s"] = seconds
        results["backup_full_baseline_code_peak_mb"] = peak
        peak, seconds, _ = run_child(griddesk("restore", "--db", str(other), str(made)), cwd=Path(baseline))
        results["backup_restore_baseline_code_s"] = seconds
        results["backup_restore_baseline_code_peak_mb"] = peak
        shutil.rmtree(backup.backup_dir(other), ignore_errors=True)
        _remove(other)
        for leftover in work.glob("b.sqlite*"):
            leftover.unlink()

    peak, seconds, _ = run_child(griddesk("backup", "--db", str(db)))
    made = backup.latest_backup(db)
    results["backup_full_after_mb"] = round(made.stat().st_size / 1e6, 1)
    results["backup_full_after_s"] = seconds
    results["backup_full_after_peak_mb"] = peak
    results["backup_full_after_percent_of_before"] = round(100 * made.stat().st_size / old_size, 1)
    results["backup_full_after_percent_of_db_file"] = round(100 * made.stat().st_size / db.stat().st_size, 1)
    peak, seconds, _ = run_child(griddesk("restore", "--db", str(db), str(made)))
    results["backup_restore_after_s"] = seconds
    results["backup_restore_after_peak_mb"] = peak

    results["backup_14_days_before_mb"] = round(backup.KEEP * old_size / 1e6, 1)
    if os.environ.get("GRIDDESK_BENCH_FORTNIGHT") == "1":
        results["backup_14_days_after_mb"] = round(_fortnight(db) / 1e6, 1)
    else:
        results["backup_14_days_after_mb"] = round(backup.KEEP * made.stat().st_size / 1e6, 1)
    shutil.rmtree(work, ignore_errors=True)


def _fortnight(db: Path) -> int:
    """14 simulated days: each day 200 persons edited and the day's first open's full backup.
    Returns the bytes the kept backups take at the end."""
    import datetime as dt

    from db import backup, oplog
    from db.models.register import Person
    from db.store import Store

    shutil.rmtree(backup.backup_dir(db), ignore_errors=True)
    store = Store(db, user="乙")
    try:
        ids = [r for (r,) in store.db.execute_sql("select id from person order by id limit 2800")]
        day0 = dt.datetime(2026, 11, 1, 8, 0)
        for day in range(backup.KEEP + 2):
            now = day0 + dt.timedelta(days=day)
            oplog.write(store, Person, [{"id": pid, "notes": f"第{day}天走访"} for pid in ids[day * 200 % 2800:][:200]])
            assert backup.daily_backup(store, now=now) is not None
    finally:
        store.close()
    kept = backup.backups(db)
    assert len(kept) == backup.KEEP
    return sum(i.path.stat().st_size for i in kept)


def run(results: dict, workdir: Path) -> None:
    run_footprint(results, workdir)
    run_incremental(results, workdir)


def run_incremental(results: dict, workdir: Path) -> None:
    from db import backup, oplog
    from db.models.register import Person
    from db.store import Store
    from db.sync import exchange, identity

    path = fresh_copy(demo_db(workdir, HOUSEHOLDS), workdir / "backup-office.sqlite")
    laptop_path = workdir / "backup-laptop.sqlite"
    _remove(laptop_path)
    shutil.rmtree(backup.backup_dir(path), ignore_errors=True)
    office = Store(path, user="乙")
    try:
        # The first open of the day: a full copy.
        with Timer() as t:
            full = backup.make_backup(office, "daily")
        results["backup_full_s"] = round(t.seconds, 3)
        results["backup_full_mb"] = round(full.stat().st_size / 1e6, 1)

        ids = [r for (r,) in office.db.execute_sql("select id from person order by id limit 20000")]
        oplog.write(office, Person, [{"id": pid, "notes": "已走访"} for pid in ids[:1000]])
        with Timer() as t:
            inc = backup.make_backup(office, "import")
        assert backup.describe(inc).base == full
        results["backup_incremental_1000_changes_s"] = round(t.seconds, 3)
        results["backup_incremental_1000_changes_kb"] = round(inc.stat().st_size / 1024, 1)
        with Timer() as t:
            same, made = backup.ensure_backup(office, "import")
        assert same == inc and not made
        results["backup_ensure_when_current_ms"] = round(t.seconds * 1000, 2)

        # 1,000 changes from a grid worker's laptop arrive as a bundle: the import's backup is incremental.
        laptop = Store(laptop_path, user="甲")
        try:
            identity.trust_device(laptop, identity.identity(office).card())
            identity.trust_device(office, identity.identity(laptop).card())
            with laptop.activated():
                oplog.write(laptop, Person, [{"name": f"新居民{i}", "sex": "女"} for i in range(1000)])
                data = exchange.export_bundle(laptop, for_device=identity.identity(office).device_id).data
        finally:
            laptop.close()
        office.activate()
        # Some work at the office since the last backup: the import needs a backup of its own.
        oplog.write(office, Person, [{"id": pid, "notes": "电话回访"} for pid in ids[1000:1010]])
        with Timer() as t:
            summary = exchange.import_bundle(office, exchange.read_bundle(office, data))
        assert summary.new_ops == 1000 and summary.backup_made and "-incr-" in summary.backup_file
        results["backup_sync_1000_changes_import_s"] = round(t.seconds, 3)
        results["backup_sync_1000_changes_import_backup_s"] = round(summary.backup_seconds, 3)
        incremental_1000 = backup.backup_dir(path) / summary.backup_file

        # At the limit: 20,000 ops since the full backup (1,000 + 10 + 1,000 above, 17,990 now).
        oplog.write(office, Person, [{"id": pid, "notes": "已复访"} for pid in ids[2010:]])
        with Timer() as t:
            big = backup.make_backup(office, "import")
        assert backup.describe(big).incremental
        results["backup_incremental_20000_ops_s"] = round(t.seconds, 3)
        results["backup_incremental_20000_ops_mb"] = round(big.stat().st_size / 1e6, 1)
    finally:
        office.close()

    # Each restore includes the safety backup of the database it replaces.
    with Timer() as t:
        backup.restore(path, incremental_1000)
    results["backup_restore_incremental_1000_changes_s"] = round(t.seconds, 3)
    with Timer() as t:
        backup.restore(path, big)
    results["backup_restore_incremental_20000_ops_s"] = round(t.seconds, 3)

    shutil.rmtree(backup.backup_dir(path), ignore_errors=True)
    if backup.backup_dir(path).parent.is_dir() and not any(backup.backup_dir(path).parent.iterdir()):
        backup.backup_dir(path).parent.rmdir()
    _remove(path)
    _remove(laptop_path)
