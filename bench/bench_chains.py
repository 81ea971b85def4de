"""Origin proofs (db/sync/chains.py): the migration that chains an existing log, and what verifying
the proofs adds to a full handover and to a 1,000-change exchange (verify_origins timed alone:
the difference between chains on and off), beside the export and read times it is part of.

GRIDDESK_CHAINS_DB names a demo database of an earlier schema to start from (copied, never written);
otherwise the cached demo of GRIDDESK_BENCH_HOUSEHOLDS households is used.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy


def run(results: dict, workdir: Path) -> None:
    from db import oplog
    from db.models.register import Person
    from db.store import Store
    from db.sync import beliefs, chains, exchange
    from db.sync.identity import identity, trust_device

    given = os.environ.get("GRIDDESK_CHAINS_DB")
    households = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "2000"))
    source_path = Path(given) if given else demo_db(workdir, households)
    path = fresh_copy(source_path, workdir / "chains-source.sqlite")
    with Timer() as t:
        source = Store(path, user="bench")  # an older file is upgraded: migration 15 chains its log
    results["chains_open_with_migration_s"] = round(t.seconds, 3)
    results["chains_ops"] = source.db.execute_sql("select count(*) from oplog").fetchone()[0]
    for leftover in workdir.glob("chains-office.sqlite*"):
        leftover.unlink()
    office = Store(workdir / "chains-office.sqlite", user="office")
    trust_device(office, identity(source).card())
    trust_device(source, identity(office).card())
    office_id = identity(office).device_id

    with source.activated(), Timer() as t:
        full = exchange.export_bundle(source, for_device=office_id, full=True)
    results["chains_handover_export_s"] = round(t.seconds, 3)
    results["chains_handover_bundle_mb"] = round(len(full.data) / 1e6, 1)
    results["chains_handover_heads"] = len(full.manifest["heads"])
    with office.activated(), Timer() as t:
        bundle = exchange.read_bundle(office, full.data)
    results["chains_handover_read_with_verify_s"] = round(t.seconds, 3)
    with office.activated(), Timer() as t:
        proof = exchange.verify_origins(office, bundle)
    assert proof.proven == results["chains_ops"] and not proof.notes
    results["chains_handover_verify_s"] = round(t.seconds, 3)
    results["chains_handover_read_without_verify_s"] = round(
        results["chains_handover_read_with_verify_s"] - results["chains_handover_verify_s"], 3)
    del bundle, full

    # A 1,000-change exchange: the office holds everything before these changes.
    vector = oplog.version_vector(source.db)
    beliefs.replace_belief(source, office_id, vector)
    ids = [r for (r,) in source.db.execute_sql("select id from person order by id limit 1000")]
    with source.activated(), Timer() as t:
        oplog.write(source, Person, [{"id": pid, "notes": "已走访"} for pid in ids])
    results["chains_1000_changes_write_s"] = round(t.seconds, 3)
    with source.activated(), Timer() as t:
        small = exchange.export_bundle(source, for_device=office_id)
    assert small.ops == 1000
    results["chains_1000_changes_export_s"] = round(t.seconds, 3)
    with office.activated(), Timer() as t:
        bundle = exchange.read_bundle(office, small.data)
    results["chains_1000_changes_read_with_verify_s"] = round(t.seconds, 3)
    with office.activated(), Timer() as t:
        for _ in range(10):
            proof = exchange.verify_origins(office, bundle)
    assert proof.proven == 1000
    results["chains_1000_changes_verify_ms"] = round(t.seconds * 100, 2)  # the mean of 10, in ms
    del chains
    source.close()
    office.close()
