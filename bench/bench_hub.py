"""The office hub, on loopback with TLS, on SQLite and (with GRIDDESK_BENCH_PG=postgresql://...) on
PostgreSQL: ingest of pushed ops per second, 1,000 changes pushed by one laptop and pulled by
another (end to end), and the first sync of a new laptop for a grid of ~2,000 persons (by the
hub's scope snapshot, and by replaying the feed as before it).

Ingest is measured twice: with the hub in its own process (`griddesk-hub serve`, as an office runs
it: `ingest_ops_per_s`) and with the hub in a thread of the bench process (`ingest_inproc`: the
laptop's side and the hub share one interpreter lock, the figure this bench gave before). Beside
the hub process's ops per second: its CPU seconds per 10,000 ops and the load average, as the
machine is shared and the wall time follows its load.

GRIDDESK_BENCH_HUB_OPS sets the size of the ingest run (20,000 ops by default).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from bench.common import Timer

# 20,000 ops: 4,000 households with 2 persons each over 4 grids, so a grid has 2,000 persons.
INGEST_OPS = int(os.environ.get("GRIDDESK_BENCH_HUB_OPS", "20000"))
GRID_PERSONS = 2000


def _pg_url(base: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = "hubbench_" + secrets.token_hex(4)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    return urlunsplit(urlsplit(base)._replace(path="/" + name))


def _backend(name: str, workdir: Path) -> str | None:
    if name == "sqlite":
        path = workdir / f"hub-bench-{secrets.token_hex(3)}.sqlite"
        return str(path)
    base = os.environ.get("GRIDDESK_BENCH_PG")
    if not base:
        print("   GRIDDESK_BENCH_PG is not set: PostgreSQL figures skipped")
        return None
    return _pg_url(base)


def _laptop(workdir: Path, name: str):
    from db.store import Store

    path = workdir / f"hub-{name}-{secrets.token_hex(3)}.sqlite"
    return Store(path, user=name)


def _enrol(hub, pin, store, grids):
    from db.sync import hub_client
    from db.sync.hub_protocol import make_code_text

    code = hub.service.create_code(grids=None if grids is None else frozenset(grids))
    hub_client.enrol(store, make_code_text(hub.address, pin, code))


def _ingest_in_process(backend: str, workdir: Path, office_src, rows: list, tls: Path) -> tuple[int, float, float]:
    """Ops per second pushed to `griddesk-hub serve` running in its own process (a fresh database),
    the hub process's CPU seconds per 10,000 ops, and the load average (1 min) at the end."""
    from bench.hub_sim import CodeMaker, HubProcess, cpu_seconds
    from db.sync import hub_client
    from db.sync.hub_protocol import cert_fingerprint, make_code_text

    data = _backend(backend, workdir)
    hub = HubProcess(data, tls)
    maker = CodeMaker(data, hub.address)
    try:
        pin = cert_fingerprint((tls / "cert.pem").read_text())
        hub_client.enrol(office_src, make_code_text(hub.address, pin, maker.service.create_code(grids=None)))
        link = hub_client.link(office_src)
        transport = hub_client.Transport(office_src, link["url"], link["cert_pem"])
        cpu_before = cpu_seconds(hub.proc.pid)
        with Timer() as t:
            for start in range(0, len(rows), hub_client.PUSH_BATCH):
                transport.call("/api/push", {"ops": rows[start:start + hub_client.PUSH_BATCH]})
        cpu = cpu_seconds(hub.proc.pid) - cpu_before
        load = os.getloadavg()[0]
        transport.close()
        hub_client.forget(office_src)
    finally:
        maker.close()
        hub.stop()
    return round(len(rows) / t.seconds), round(cpu / len(rows) * 10_000, 3), round(load, 2)


def run(results: dict, workdir: Path) -> None:
    from db import opfields, oplog
    from db.models.register import Grid, Household, Membership, Person
    from db.sync import hub_client
    from hub.server import ThreadedHub
    from hub.tls import make_certificate

    cert, key, pin = make_certificate(workdir / "hub-tls", ["127.0.0.1"])
    # One office database with the ops to push (households with two persons each).
    office_src = _laptop(workdir, "office-src")
    grids = [c.row_id for c in oplog.write(office_src, Grid, [{"name": f"{i + 1}网格"} for i in range(4)])]
    n_households = INGEST_OPS // 5  # 1 household + 2 persons + 2 memberships
    for start in range(0, n_households, 5000):
        hh = oplog.write(office_src, Household, [{"grid": grids[(start + i) % 4], "number": f"{start + i}",
                                                  "address": f"幸福路{start + i}号"}
                                                 for i in range(min(5000, n_households - start))])
        people = oplog.write(office_src, Person, [{"name": f"居民{start}-{i}", "phone": f"138{i:08d}",
                                                   "id_number": f"11010119800101{i % 10000:04d}"}
                                                  for i in range(2 * len(hh))])
        oplog.write(office_src, Membership, [{"household": hh[i // 2].row_id, "person": p.row_id,
                                              "relation": "户主" if i % 2 == 0 else "配偶"}
                                             for i, p in enumerate(people)])
    total_ops = office_src.db.execute_sql("select count(*) from oplog").fetchone()[0]
    results["hub_ingest_ops"] = total_ops

    for backend in ("sqlite", "postgresql"):
        data = _backend(backend, workdir)
        if data is None:
            continue
        hub = ThreadedHub(data, cert, key).start()
        try:
            _enrol(hub, pin, office_src, None)
            link = hub_client.link(office_src)
            transport = hub_client.Transport(office_src, link["url"], link["cert_pem"])
            rows = [list(r) for r in opfields.wire_rows(office_src.db, office_src.db.execute_sql(
                f"select {oplog._OP_COLUMNS} from oplog order by node, counter"))]
            with Timer() as t:
                for start in range(0, len(rows), hub_client.PUSH_BATCH):
                    transport.call("/api/push", {"ops": rows[start:start + hub_client.PUSH_BATCH]})
            transport.close()
            results[f"hub_{backend}_ingest_inproc_ops_per_s"] = round(len(rows) / t.seconds)
            hub_client.forget(office_src)
            (results[f"hub_{backend}_ingest_ops_per_s"], results[f"hub_{backend}_ingest_hub_cpu_s_per_10k_ops"],
             results[f"hub_{backend}_ingest_load_avg"]) = _ingest_in_process(backend, workdir, office_src, rows,
                                                                             cert.parent)

            # 1,000 changes: laptop A (grid 1) pushes, laptop B (grid 1) pulls.
            a, b = _laptop(workdir, "a"), _laptop(workdir, "b")
            _enrol(hub, pin, a, [grids[0]])
            _enrol(hub, pin, b, [grids[0]])
            with Timer() as t_first:
                first = hub_client.sync(a)
            persons_a = a.db.execute_sql("select count(*) from person").fetchone()[0]
            results[f"hub_{backend}_first_sync_grid_persons"] = persons_a
            results[f"hub_{backend}_first_sync_grid_s"] = round(t_first.seconds, 3)
            results[f"hub_{backend}_first_sync_ops"] = first.pulled
            replay = _laptop(workdir, "replay")
            _enrol(hub, pin, replay, [grids[0]])
            with Timer() as t_replay:
                try:
                    hub_client.sync(replay, snapshot=False)
                except TypeError:  # a build without scope snapshots (bench run on older code)
                    hub_client.sync(replay)
            results[f"hub_{backend}_first_sync_grid_replay_s"] = round(t_replay.seconds, 3)
            replay.close()
            hub_client.sync(b)
            ids = [r for (r,) in a.db.execute_sql("select id from person limit 1000")]
            oplog.write(a, Person, [{"id": pid, "phone": "13900000000"} for pid in ids])
            with Timer() as t:
                pushed = hub_client.sync(a)
                pulled = hub_client.sync(b)
            assert pushed.pushed == 1000 and pulled.pulled == 1000, (pushed, pulled, results)
            results[f"hub_{backend}_1000_changes_push_pull_s"] = round(t.seconds, 3)
            # A catch-up pull with nothing new (the laptop's timer): its latency.
            times = []
            for _i in range(20):
                started = time.perf_counter()
                hub_client.sync(b)
                times.append(time.perf_counter() - started)
            times.sort()
            results[f"hub_{backend}_idle_sync_p95_ms"] = round(times[int(len(times) * 0.95) - 1] * 1000, 1)
            a.close()
            b.close()
        finally:
            hub.stop()
    office_src.close()
