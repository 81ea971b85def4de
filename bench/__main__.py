"""Run the benchmarks and write bench/results.json (figure name -> value, unit in the name)
and bench/results.md (a readable table).

    python -m bench              # every bench/bench_*.py
    python -m bench core sync    # only bench_core.py and bench_sync.py
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    workdir = Path(os.environ.get("GRIDDESK_BENCH_DIR", HERE / "out"))
    workdir.mkdir(parents=True, exist_ok=True)
    results_path = HERE / "results.json"
    results: dict[str, float] = {}
    if results_path.exists():
        results = json.loads(results_path.read_text()).get("figures", {})
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures: dict[str, float] = {}
        try:
            module.run(figures, workdir)
        except Exception:  # noqa: BLE001 - report and go on with the other benchmarks
            traceback.print_exc()
            failed.append(name)
        for key, value in figures.items():
            print(f"   {key:<55} {value:>12.3f}" if isinstance(value, float) else f"   {key:<55} {value:>12}")
        results.update(figures)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    meta = {"when": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.platform(),
            "cpus": os.cpu_count(), "python": platform.python_version()}
    results_path.write_text(json.dumps({"meta": meta, "figures": dict(sorted(results.items()))},
                                       ensure_ascii=False, indent=2) + "\n")
    lines = ["# Benchmark results", "", f"{meta['when']}, {meta['machine']}, {meta['cpus']} CPUs, "
             f"Python {meta['python']}", "", "| figure | value |", "|---|---:|"]
    for key, value in sorted(results.items()):
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"| {key} | {shown} |")
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {results_path} and {HERE / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
