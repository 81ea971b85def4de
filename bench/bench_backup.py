"""Backups on the demo community: a full copy against an incremental one after 1,000 changes
(and at the 20,000-op limit), a 1,000-change sync import that needs a backup first, restores."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))


def _remove(path: Path) -> None:
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


def run(results: dict, workdir: Path) -> None:
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
