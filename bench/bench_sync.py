"""Sync: full bundle of the demo community exported and imported into an empty database,
1,000 changes exported and imported, bundle size per 1,000 persons."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))


def _fresh(path: Path) -> Path:
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return path


def run(results: dict, workdir: Path) -> None:
    from db import oplog
    from db.models.register import Person
    from db.store import Store
    from db.sync import exchange, identity

    source = Store(fresh_copy(demo_db(workdir, HOUSEHOLDS), workdir / "sync-source.sqlite"), user="甲")
    office = Store(_fresh(workdir / "sync-office.sqlite"), user="乙")
    identity.trust_device(source, identity.identity(office).card())
    identity.trust_device(office, identity.identity(source).card())
    office_id = identity.identity(office).device_id
    persons = source.db.execute_sql("select count(*) from person").fetchone()[0]
    ops = source.db.execute_sql("select count(*) from oplog").fetchone()[0]

    with source.activated(), Timer() as t:
        full = exchange.export_bundle(source, full=True, for_device=office_id)
    results["sync_full_export_s"] = round(t.seconds, 3)
    results["sync_full_households"] = HOUSEHOLDS
    results["sync_full_ops"] = ops
    results["sync_full_bundle_mb"] = round(len(full.data) / 1e6, 3)
    results["sync_bundle_kb_per_1000_persons"] = round(len(full.data) / 1024 / (persons / 1000), 1)

    cpu_start = time.process_time()
    with office.activated(), Timer() as t:
        with Timer() as t_verify:
            bundle = exchange.read_bundle(office, full.data)
        cpu_verify = time.process_time() - cpu_start
        summary = exchange.import_bundle(office, bundle)
    cpu_total = time.process_time() - cpu_start
    results["sync_full_import_into_empty_s"] = round(t.seconds, 3)
    results["sync_full_import_verify_s"] = round(t_verify.seconds, 3)
    # Of the import: refreshing derived data (the register's search index) for every imported row.
    results["sync_full_import_derived_index_s"] = round(summary.derived_seconds, 3)
    results["sync_full_import_merge_s"] = round(t.seconds - t_verify.seconds - summary.derived_seconds, 3)
    # CPU time of this process (the machine is shared: wall time is noisy; the commit's disk
    # writes count in wall time only).
    results["sync_full_import_cpu_s"] = round(cpu_total, 3)
    results["sync_full_import_verify_cpu_s"] = round(cpu_verify, 3)
    assert summary.new_ops == ops
    # What the app does next, in the background once the import is shown (desktop.backups.
    # refresh_base_in_background): the write-ahead log folded into the database file (the import
    # leaves that checkpoint out of its commit), then a new full backup, so that the backups before
    # the following imports are small incremental ones.
    from db.backup import refresh_base
    from db.bulk import settle

    with office.activated(), Timer() as t:
        settle(office)
    results["sync_full_import_then_background_checkpoint_s"] = round(t.seconds, 3)
    with office.activated(), Timer() as t:
        assert refresh_base(office) is not None
    results["sync_full_import_then_background_full_backup_s"] = round(t.seconds, 3)
    with office.activated():
        receipt = exchange.make_receipt(office, bundle).data
    with source.activated():
        exchange.import_bundle(source, exchange.read_bundle(source, receipt))

    ids = [r for (r,) in source.db.execute_sql("select id from person order by id limit 1000")]
    with source.activated():
        oplog.write(source, Person, [{"id": pid, "notes": "已走访"} for pid in ids])
    with source.activated(), Timer() as t_export:
        small = exchange.export_bundle(source, for_device=office_id)
    with office.activated(), Timer() as t_import:
        summary = exchange.import_bundle(office, exchange.read_bundle(office, small.data))
    assert small.ops == 1000 and summary.new_ops == 1000
    results["sync_1000_changes_derived_index_s"] = round(summary.derived_seconds, 3)
    results["sync_1000_changes_import_backup_made"] = int(summary.backup_made)
    if summary.backup_made:  # a skipped backup is not a step: it gets no time
        results["sync_1000_changes_import_backup_s"] = round(summary.backup_seconds, 3)
        results["sync_1000_changes_import_backup_incremental"] = int("-incr-" in summary.backup_file)
    results["sync_1000_changes_import_without_backup_s"] = round(t_import.seconds - summary.backup_seconds, 3)
    results["sync_1000_changes_export_s"] = round(t_export.seconds, 3)
    results["sync_1000_changes_import_s"] = round(t_import.seconds, 3)
    results["sync_1000_changes_bundle_kb"] = round(len(small.data) / 1024, 1)

    # The office's usual day: the app's daily backup at start, then bundles are imported. The first
    # import needs no backup of its own (the newest one holds the same op log).
    from db.backup import make_backup

    make_backup(office, "daily")
    with source.activated():
        oplog.write(source, Person, [{"id": pid, "notes": "已复访"} for pid in ids])
        small = exchange.export_bundle(source, for_device=office_id)
    with office.activated(), Timer() as t_import:
        summary = exchange.import_bundle(office, exchange.read_bundle(office, small.data))
    assert summary.new_ops == 1000 and not summary.backup_made
    results["sync_1000_changes_import_after_daily_backup_s"] = round(t_import.seconds, 3)
    source.close()
    office.close()
