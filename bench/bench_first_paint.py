"""Process start to the first painted window, in a real X server (Xvfb), as a person sees it.

Two starts: a fresh computer (no data folder, no settings, no compiled catalogue: the first-start
choice follows) and a computer with a register (`gui --db`). Each is started N times in a child
process with GRIDDESK_REPORT_FIRST_PAINT=1, which prints FIRST_PAINT when the first window has been
painted (desktop/splash.py); the child is stopped then. Figures are medians, from the parent's
spawn to that line. Needs Xvfb (`scripts/install-system-deps.sh --test`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import demo_db

RUNS = 5
HOUSEHOLDS = 200


def _xvfb() -> tuple[subprocess.Popen, str]:
    if not shutil.which("Xvfb"):
        raise RuntimeError("Xvfb is not installed (scripts/install-system-deps.sh --test)")
    d = 120
    while Path(f"/tmp/.X11-unix/X{d}").exists() or Path(f"/tmp/.X{d}-lock").exists():
        d += 1
    proc = subprocess.Popen(["Xvfb", f":{d}", "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{d}").exists():
            break
        time.sleep(0.05)
    return proc, f":{d}"


def first_paint_s(args: list[str], env: dict[str, str], timeout: float = 60.0) -> float:
    """Seconds from spawning `python -m desktop ARGS` to its FIRST_PAINT line."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = started + timeout
        for line in proc.stdout:
            if line.startswith("FIRST_PAINT"):
                return time.perf_counter() - started
            if time.perf_counter() > deadline:
                break
        raise RuntimeError(f"no FIRST_PAINT from {args} (exit {proc.poll()})")
    finally:
        proc.kill()
        proc.wait()


def run(results: dict, workdir: Path) -> None:
    existing = demo_db(workdir, HOUSEHOLDS)
    xvfb, display = _xvfb()
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GRIDDESK_"))}
        base.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", GRIDDESK_REPORT_FIRST_PAINT="1", LANG="C.UTF-8")
        fresh, known = [], []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory(dir=workdir) as home:
                env = dict(base, HOME=home, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
                           XDG_CACHE_HOME=f"{home}/cache")
                fresh.append(first_paint_s([], env))
                # The same computer again, now with a register and a compiled catalogue.
                known.append(first_paint_s(["gui", "--db", str(existing)], env))
        results["first_paint_fresh_computer_s"] = sorted(fresh)[RUNS // 2]
        results["first_paint_with_register_s"] = sorted(known)[RUNS // 2]
    finally:
        xvfb.kill()
        xvfb.wait()
