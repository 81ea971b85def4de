"""Run the benchmarks and write bench/results.json (figure name -> value, unit in the name)
and bench/results.md (a readable table).

    python -m bench              # every bench/bench_*.py
    python -m bench core sync    # only bench_core.py and bench_sync.py

results.json holds the figures of the run that wrote it and nothing else; a benchmark that fails
is listed under "failed" and none of its figures are kept.
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
    # Only this run's figures: a figure from an earlier run, or from a benchmark that failed half way,
    # would be read as a result of this code.
    results: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures: dict[str, float] = {}
        try:
            module.run(figures, workdir)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other benchmarks
            traceback.print_exc()
            failed[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            print(f"   FAILED: its {len(figures)} figures so far are left out", flush=True)
            continue
        for key, value in figures.items():
            print(f"   {key:<55} {value:>12.3f}" if isinstance(value, float) else f"   {key:<55} {value:>12}")
        results.update(figures)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    meta = {"when": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.platform(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "benchmarks": names,
            "households": int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))}
    results_path.write_text(json.dumps({"meta": meta, "figures": dict(sorted(results.items())), "failed": failed},
                                       ensure_ascii=False, indent=2) + "\n")
    lines = ["# Benchmark results", "", f"{meta['when']}, {meta['machine']}, {meta['cpus']} CPUs, "
             f"Python {meta['python']}; benchmarks: {', '.join(names)}", ""]
    for name, error in failed.items():
        lines.append(f"**{name}: failed** ({error}); its figures are left out.")
    if failed:
        lines.append("")
    lines += ["| figure | value |", "|---|---:|"]
    for key, value in sorted(results.items()):
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"| {key} | {shown} |")
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {results_path} and {HERE / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
