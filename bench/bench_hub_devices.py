"""500 simulated laptops against one hub (loopback, TLS, the hub in its own process), on SQLite and
(with GRIDDESK_BENCH_PG) PostgreSQL: a morning's burst, each device pushing its changes in one sync
round, then a second round in which each pulls what its grid's peers pushed; every change must be
acknowledged and pulled by the peers. Figures: the whole burst's wall time and the p95 of one
device's sync round, with THREADS rounds running at once.

A simulated laptop (bench/hub_sim.py) signs its requests and writes ops as a laptop does, but has
no desktop database: 500 of those would not fit on this machine beside the hub.

GRIDDESK_BENCH_HUB_DEVICES (500), GRIDDESK_BENCH_HUB_DEVICE_CHANGES (2,000 each: the issue's
target) and GRIDDESK_BENCH_HUB_THREADS (16) set the size.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

DEVICES = int(os.environ.get("GRIDDESK_BENCH_HUB_DEVICES", "500"))
CHANGES = int(os.environ.get("GRIDDESK_BENCH_HUB_DEVICE_CHANGES", "2000"))
THREADS = int(os.environ.get("GRIDDESK_BENCH_HUB_THREADS", "16"))
PER_GRID = 5  # laptops sharing a grid


def run(results: dict, workdir: Path) -> None:
    from bench.bench_hub import _backend
    from bench.hub_sim import CodeMaker, HubProcess, SimDevice, cpu_seconds, p95, run_rounds
    from hub.tls import make_certificate

    tls = workdir / "hub-tls-devices"
    cert, _key, _pin = make_certificate(tls, ["127.0.0.1"])
    cert_pem = cert.read_text()
    households = max(1, CHANGES // 5)
    changes = households * 5
    results["hub_devices"] = DEVICES
    results["hub_devices_changes_each"] = changes
    results["hub_devices_concurrent_rounds"] = THREADS
    grids = [str(uuid.uuid4()) for _ in range((DEVICES + PER_GRID - 1) // PER_GRID)]
    for backend in ("sqlite", "postgresql"):
        data = _backend(backend, workdir)
        if data is None:
            continue
        maker = CodeMaker(data, "")
        devices = [SimDevice(maker.service, f"sim-{i}", grids[i // PER_GRID]) for i in range(DEVICES)]
        maker.close()
        hub = HubProcess(data, tls)
        try:
            started = time.perf_counter()
            cpu_before = cpu_seconds(hub.proc.pid)
            push_times = run_rounds(hub.address, cert_pem, [(d, households) for d in devices], THREADS)
            pull_times = run_rounds(hub.address, cert_pem, [(d, 0) for d in devices], THREADS)
            total = time.perf_counter() - started
            results[f"hub_{backend}_devices_hub_cpu_s"] = round(cpu_seconds(hub.proc.pid) - cpu_before, 1)
            results[f"hub_{backend}_devices_load_avg"] = round(os.getloadavg()[0], 2)
        finally:
            hub.stop()
        peers = {g: sum(1 for d in devices if d.grid == g) for g in grids}
        wrong = [d for d in devices if d.pulled != (peers[d.grid] - 1) * changes]
        assert not wrong, f"{len(wrong)} devices did not get exactly their peers' changes"
        results[f"hub_{backend}_devices_burst_total_s"] = round(total, 1)
        results[f"hub_{backend}_devices_ops_acknowledged"] = DEVICES * changes
        results[f"hub_{backend}_devices_push_round_p95_s"] = round(p95(push_times), 3)
        results[f"hub_{backend}_devices_pull_round_p95_s"] = round(p95(pull_times), 3)
