"""Origin proofs (db/sync/chains.py): the migration that chains an existing log, and what verifying
the proofs adds to a full handover and to a 1,000-change exchange, wall and CPU seconds.

Each bundle is read (exchange.read_bundle: the streaming first pass) with the proofs checked, as
always, and with chains.StreamVerifier replaced by one that checks nothing ("chains off"), side by
side; `*_verify_*` is the time spent inside the verifier itself during the checked read (building
the importer's view, every feed and the finish), measured around its calls.

GRIDDESK_CHAINS_DB names a demo database to start from (copied, never written); otherwise the
cached demo of GRIDDESK_BENCH_HOUSEHOLDS households is used.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy


class _Clock:
    """Wall and CPU seconds spent inside the wrapped calls."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    @contextlib.contextmanager
    def __call__(self):
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - w
            self.cpu += time.process_time() - c


@contextlib.contextmanager
def _verifier(mode: str, clock: _Clock):
    """mode "on": the real StreamVerifier, timed; "off": one that checks nothing."""
    from db.sync import chains

    real = chains.StreamVerifier

    class Timed(real):
        def __init__(self, raw_heads, local):
            with clock():
                super().__init__(raw_heads, local)

        def feed(self, ops):
            with clock():
                super().feed(ops)

        def finish(self):
            with clock():
                return super().finish()

    class Off:
        def __init__(self, raw_heads, local):
            pass

        def feed(self, ops):
            pass

        def finish(self):
            return chains.Proof()

    chains.StreamVerifier = Timed if mode == "on" else Off
    try:
        yield
    finally:
        chains.StreamVerifier = real


def _laptop_local_timed(clock: _Clock):
    """laptop_local (the importer's view: keys, devices) is built by the caller: timed as verify."""
    from db.sync import chains

    real = chains.laptop_local

    def timed(*args, **kwargs):
        with clock():
            return real(*args, **kwargs)

    return real, timed


def _read(office, data: bytes, mode: str, repeat: int = 1) -> tuple[float, float, _Clock, object]:
    """(wall s, CPU s) of reading the bundle, mean of `repeat`; the verifier's own clock; the bundle."""
    from db.sync import chains, exchange

    clock = _Clock()
    real, timed = _laptop_local_timed(clock)
    chains.laptop_local = timed if mode == "on" else real
    try:
        with office.activated(), _verifier(mode, clock):
            w, c = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                bundle = exchange.read_bundle(office, data)
            wall, cpu = (time.perf_counter() - w) / repeat, (time.process_time() - c) / repeat
    finally:
        chains.laptop_local = real
    clock.wall /= repeat
    clock.cpu /= repeat
    return wall, cpu, clock, bundle


def _side_by_side(results: dict, prefix: str, office, data: bytes, expected: int, repeat: int, scale: float,
                  unit: str) -> None:
    off_wall, off_cpu, _c, _b = _read(office, data, "off", repeat)
    on_wall, on_cpu, clock, bundle = _read(office, data, "on", repeat)
    assert bundle.proof.proven == expected and not bundle.proof.notes, (bundle.proof.proven, bundle.proof.notes)
    results[f"{prefix}_read_chains_off_wall_{unit}"] = round(off_wall * scale, 3)
    results[f"{prefix}_read_chains_off_cpu_{unit}"] = round(off_cpu * scale, 3)
    results[f"{prefix}_read_chains_on_wall_{unit}"] = round(on_wall * scale, 3)
    results[f"{prefix}_read_chains_on_cpu_{unit}"] = round(on_cpu * scale, 3)
    results[f"{prefix}_verify_wall_{unit}"] = round(clock.wall * scale, 3)
    results[f"{prefix}_verify_cpu_{unit}"] = round(clock.cpu * scale, 3)


def run(results: dict, workdir: Path) -> None:
    from db import oplog
    from db.models.register import Person
    from db.store import Store
    from db.sync import beliefs, exchange
    from db.sync.identity import identity, trust_device

    given = os.environ.get("GRIDDESK_CHAINS_DB")
    households = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "2000"))
    source_path = Path(given) if given else demo_db(workdir, households)
    path = fresh_copy(source_path, workdir / "chains-source.sqlite")
    with Timer() as t:
        source = Store(path, user="bench")  # an older file is upgraded: migration 15 chains its log
    results["chains_open_s"] = round(t.seconds, 3)
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
    _side_by_side(results, "chains_handover", office, full.data, results["chains_ops"], 1, 1, "s")
    del full

    # A 1,000-change exchange: the office holds everything before these changes.
    vector = oplog.version_vector(source.db)
    beliefs.replace_belief(source, office_id, vector)
    ids = [r for (r,) in source.db.execute_sql("select id from person order by id limit 1000")]
    with source.activated():
        oplog.write(source, Person, [{"id": pid, "notes": "已走访"} for pid in ids])
        small = exchange.export_bundle(source, for_device=office_id)
    assert small.ops == 1000
    _side_by_side(results, "chains_1000_changes", office, small.data, 1000, 10, 1000, "ms")
    source.close()
    office.close()
