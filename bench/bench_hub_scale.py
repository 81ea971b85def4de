"""The hub of a street office on PostgreSQL (GRIDDESK_BENCH_PG): ~1,000,000 persons in 500 grids
(2,000 persons each; households of two), loopback with TLS, the hub in its own process.

The hub's tables are generated in SQL (generate_series) in the shape pushes leave them (ops as
laptops write them, row states, feed, node tops), because pushing 2.5 million ops takes longer
than this bench may; the database is kept in the cluster for the next run. Then the office edits
10 persons in each of 100 grids (ops that replace earlier ones: the merge reads their history at
this size), and 100 laptops that were up to date (one per grid) catch up, 16 at once and then one
at a time (after 10 more edits a grid): the p95 of one catch-up pull request and of a whole sync
round (hello, pull, hello), then the same when nothing is new (the laptops' timers). Also the build of one grid's scope snapshot at this size.

GRIDDESK_BENCH_HUB_PERSONS sets the size (1,000,000).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson

PERSONS = int(os.environ.get("GRIDDESK_BENCH_HUB_PERSONS", "1000000"))
PER_GRID = 2000  # persons
CATCHING_UP = min(100, PERSONS // PER_GRID)  # laptops, one per grid
EDITS = 10  # per grid
THREADS = 16


def _database(base: str) -> tuple[str, bool]:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"hubscale_{PERSONS}"
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f"create database {name}")
    return urlunsplit(urlsplit(base)._replace(path="/" + name)), bool(exists)


def _generate(url: str) -> None:
    import psycopg

    from hub.storage import open_storage

    open_storage(url).close()  # the schema
    households = PERSONS // 2
    per_grid = PER_GRID // 2  # households
    grids = households // per_grid
    ms = int(time.time() * 1000) - 86_400_000
    with psycopg.connect(url) as conn:
        conn.execute("set synchronous_commit = off")
        # Ops: per household k (grid k / 1000, node 'n<grid>'), the household, two persons, two memberships.
        conn.execute("""
            create temporary table gen as
            select k, 'g' || (k / %(pg)s) as grid, 'n' || (k / %(pg)s) as node, (k %% %(pg)s) * 5 as base
            from generate_series(0, %(hh)s - 1) k""", {"pg": per_grid, "hh": households})
        conn.execute("""
            insert into hub_op (node, counter, tbl, row_id, fields, supersedes, hlc, usr, schema, kind, device,
                                received_at)
            select node, base + j, tbl, row_id, fields, '{}',
                   lpad((%(ms)s + k)::text, 16, '0') || '-' || lpad((base + j)::text, 6, '0') || '-' || node,
                   'sim', 12, 'edit', null, 0
            from gen cross join lateral (values
                (1, 'household', 'h' || k, format('{"grid_id":"%%s","number":"%%s","address":"幸福路%%s号"}',
                                                 grid, k, k)),
                (2, 'person', 'p' || k || 'a', format('{"name":"居民%%sa","phone":"138%%s"}', k, lpad(k::text, 8, '0'))),
                (3, 'membership', 'm' || k || 'a',
                    format('{"household_id":"h%%s","person_id":"p%%sa","relation":"户主"}', k, k)),
                (4, 'person', 'p' || k || 'b', format('{"name":"居民%%sb","phone":"139%%s"}', k, lpad(k::text, 8, '0'))),
                (5, 'membership', 'm' || k || 'b',
                    format('{"household_id":"h%%s","person_id":"p%%sb","relation":"配偶"}', k, k))
            ) v(j, tbl, row_id, fields)""", {"ms": ms})
        conn.execute("""
            insert into hub_row (tbl, row_id, g, h, p, home, scope, ever, conflicts)
            select tbl, row_id, g, h, p, '', grid, grid, 0 from gen cross join lateral (values
                ('household', 'h' || k, grid, null, null),
                ('person', 'p' || k || 'a', null, null, null),
                ('membership', 'm' || k || 'a', null, 'h' || k, 'p' || k || 'a'),
                ('person', 'p' || k || 'b', null, null, null),
                ('membership', 'm' || k || 'b', null, 'h' || k, 'p' || k || 'b')
            ) v(tbl, row_id, g, h, p)""")
        conn.execute("""
            insert into hub_feed (seq, grid, kind, tbl, row_id, node, counter)
            select k * 5 + j, grid, 'op', tbl, row_id, node, base + j from gen cross join lateral (values
                (1, 'household', 'h' || k), (2, 'person', 'p' || k || 'a'), (3, 'membership', 'm' || k || 'a'),
                (4, 'person', 'p' || k || 'b'), (5, 'membership', 'm' || k || 'b')) v(j, tbl, row_id)""")
        # The grids themselves (community-wide), written by the office's node.
        conn.execute("""
            insert into hub_op (node, counter, tbl, row_id, fields, supersedes, hlc, usr, schema, kind, device,
                                received_at)
            select 'office', g + 1, 'grid', 'g' || g, format('{"name":"%%s网格","code":"G%%s"}', g + 1, g + 1), '{}',
                   lpad((%(ms)s + g)::text, 16, '0') || '-' || lpad((g + 1)::text, 6, '0') || '-office',
                   'office', 12, 'edit', null, 0 from generate_series(0, %(grids)s - 1) g""",
                     {"ms": ms, "grids": grids})
        conn.execute("""insert into hub_row (tbl, row_id, g, h, p, home, scope, ever, conflicts)
            select 'grid', 'g' || g, (g + 1) || '网格', 'G' || (g + 1), null, '', '', '', 0
            from generate_series(0, %(grids)s - 1) g""", {"grids": grids})
        conn.execute("""insert into hub_feed (seq, grid, kind, tbl, row_id, node, counter)
            select %(top)s + g + 1, '*', 'op', 'grid', 'g' || g, 'office', g + 1
            from generate_series(0, %(grids)s - 1) g""", {"top": households * 5, "grids": grids})
        conn.execute("""insert into hub_node (node, top) select 'n' || g, %(top)s from generate_series(0, %(grids)s - 1) g
                        union all select 'office', %(grids)s""", {"top": per_grid * 5, "grids": grids})
        conn.execute("update hub_meta set value = %s where key = 'committed_seq'", (str(households * 5 + grids),))
        conn.execute("insert into hub_meta (key, value) values ('bench_generated', %s)", (str(PERSONS),))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")


def run(results: dict, workdir: Path) -> None:
    from bench.bench_hub import Timer
    from bench.hub_sim import Client, CodeMaker, HubProcess, SimDevice, p95, run_rounds
    try:
        from hub.snapshot import Snapshots
    except ImportError:  # a build without scope snapshots (bench run on older code)
        Snapshots = None  # noqa: N806
    from hub.tls import make_certificate

    base = os.environ.get("GRIDDESK_BENCH_PG")
    if not base:
        print("   GRIDDESK_BENCH_PG is not set: the street-office bench is skipped")
        return
    url, existed = _database(base)
    if existed:
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("select value from hub_meta where key = 'bench_generated'").fetchone()
        existed = bool(row)
    if not existed:
        with Timer() as t:
            _generate(url)
        results["hub_scale_generate_s"] = round(t.seconds, 1)
    tls = workdir / "hub-tls-scale"
    cert, _key, _pin = make_certificate(tls, ["127.0.0.1"])
    cert_pem = cert.read_text()
    maker = CodeMaker(url, "")
    s = maker.storage
    with s.read() as conn:
        results["hub_scale_persons"] = int(s.fetchone(conn, "select count(*) from hub_row where tbl = 'person'")[0])
        results["hub_scale_ops"] = int(s.fetchone(conn, "select count(*) from hub_op")[0])
        checkpoint = int(s.meta(conn)["committed_seq"])
    if Snapshots is not None:
        with Timer() as t:
            snap = Snapshots(maker.service).build(frozenset({"g0"}))
        results["hub_scale_snapshot_one_grid_s"] = round(t.seconds, 2)
        results["hub_scale_snapshot_one_grid_items"] = snap.items
    laptops = [SimDevice(maker.service, f"scale-{i}", f"g{i}") for i in range(CATCHING_UP)]
    for d in laptops:
        d.cursor = checkpoint  # up to date before the office's edits
    office = SimDevice(maker.service, "office", None)
    office.cursor = checkpoint
    maker.close()
    hub = HubProcess(url, tls)
    try:
        per_grid = PER_GRID // 2
        for threads in (THREADS, 1):
            # The office edits 10 persons in each laptop's grid (each edit replaces an earlier op).
            client = Client(hub.address, cert_pem)
            ops = []
            for i in range(CATCHING_UP):
                for n in range(EDITS):
                    k = i * per_grid + n
                    office.counter += 1
                    hlc = f"{int(time.time() * 1000):016d}-{office.counter:06d}-{office.node}"
                    replaced = f"n{i}:{(n * 5) + 2}" if threads == THREADS else f"{office.node}:{office.counter - 1000}"
                    ops.append([office.node, office.counter, "person", f"p{k}a",
                                orjson.dumps({"phone": f"136{office.counter:08d}"}).decode(),
                                orjson.dumps({"phone": [replaced]}).decode(), hlc, "office", 12, "edit"])
            with Timer() as t:
                client.sync(office, ops)
            client.close()
            results[f"hub_scale_office_push_1000_edits_s_{threads}"] = round(t.seconds, 2)
            for d in laptops:
                d.pull_times.clear()
                d.pulled = 0
            rounds = run_rounds(hub.address, cert_pem, [(d, 0) for d in laptops], threads)
            wrong = [d for d in laptops if d.pulled != EDITS]
            assert not wrong, f"{len(wrong)} laptops did not get exactly their grid's {EDITS} edits"
            results[f"hub_scale_catch_up_pull_p95_ms_{threads}_at_once"] = round(
                p95([d.pull_times[0] for d in laptops]) * 1000, 1)
            results[f"hub_scale_catch_up_round_p95_ms_{threads}_at_once"] = round(p95(rounds) * 1000, 1)
            for d in laptops:
                d.pull_times.clear()
            idle = run_rounds(hub.address, cert_pem, [(d, 0) for d in laptops], threads)
            results[f"hub_scale_idle_pull_p95_ms_{threads}_at_once"] = round(
                p95([d.pull_times[0] for d in laptops]) * 1000, 1)
            results[f"hub_scale_idle_round_p95_ms_{threads}_at_once"] = round(p95(idle) * 1000, 1)
    finally:
        hub.stop()
