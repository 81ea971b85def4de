"""Memory and size at community scale: the peak resident memory of each large operation, each run
as the user runs it (the `griddesk` command line) in a child process of its own, and where the
bytes of the database file go (SQLite's dbstat, per table and index).

Peak memory is the child's own maximum resident set size as the kernel reports it (wait4's
ru_maxrss), not an estimate. Each operation starts from a fresh copy of the demo database.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))
ROOT = Path(__file__).resolve().parent.parent


def run_child(args: list[str], *, cwd: Path = ROOT) -> tuple[float, float, str]:
    """Run a command; (peak resident memory in MB, wall seconds, its output). Fails on exit != 0."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read().decode("utf-8", "replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{output[-3000:]}")
    return round(usage.ru_maxrss / 1024, 1), round(seconds, 3), output  # ru_maxrss is in KiB on Linux


def griddesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "desktop", *args]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def where_bytes_go(path: Path) -> tuple[dict[str, int], int]:
    """Bytes per table or index (dbstat), and the number of persons."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("select name, sum(pgsize) from dbstat group by name order by 2 desc").fetchall()
        persons = con.execute("select count(*) from person").fetchone()[0]
    except sqlite3.OperationalError:  # a Python whose SQLite lacks dbstat: the bundled one has it
        import pysqlite3.dbapi2 as sqlite3b

        con.close()
        con = sqlite3b.connect(str(path))
        rows = con.execute("select name, sum(pgsize) from dbstat group by name order by 2 desc").fetchall()
        persons = con.execute("select count(*) from person").fetchone()[0]
    finally:
        con.close()
    return {name: size for name, size in rows}, persons


def run(results: dict, workdir: Path) -> None:
    source = demo_db(workdir, HOUSEHOLDS)
    work = workdir / "memory"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()

    sizes, persons = where_bytes_go(source)
    total = sum(sizes.values())
    results["size_households"] = HOUSEHOLDS
    results["size_persons"] = persons
    results["size_database_mb"] = round(total / 1e6, 1)
    results["size_database_bytes_per_person"] = round(total / persons)
    for name, size in list(sizes.items())[:8]:  # the largest tables and indexes
        results[f"size_top_{re.sub(r'[^a-z0-9_]', '_', name.lower())}_mb"] = round(size / 1e6, 1)

    # A full backup of the whole file (the daily one).
    db = fresh_copy(source, work / "a.sqlite")
    peak, seconds, _ = run_child(griddesk("backup", "--db", str(db)))
    results["mem_full_backup_peak_mb"] = peak
    results["mem_full_backup_s"] = seconds
    backups = sorted((work / "backups").rglob("*.gdbk"), key=lambda p: p.stat().st_mtime)  # compressed, encrypted
    backup = backups[-1]
    results["size_full_backup_mb"] = round(backup.stat().st_size / 1e6, 1)
    # Fourteen daily full backups are kept: the footprint of a fortnight, from this backup's size.
    results["size_backups_14_daily_full_mb"] = round(14 * backup.stat().st_size / 1e6, 1)

    # Restore that backup over the database.
    peak, seconds, _ = run_child(griddesk("restore", "--db", str(db), str(backup)))
    results["mem_restore_peak_mb"] = peak
    results["mem_restore_s"] = seconds

    # A full handover: export everything, then import it into a new, empty database.
    passphrase = work / "passphrase.txt"
    passphrase.write_text("长城长江黄河泰山\n", encoding="utf-8")
    bundle = work / "HANDOVER.GDB"
    peak, seconds, _ = run_child(griddesk("export-bundle", "--db", str(db), "--to", str(bundle), "--full",
                                          "--passphrase-file", str(passphrase)))
    results["mem_handover_export_peak_mb"] = peak
    results["mem_handover_export_s"] = seconds
    results["size_bundle_bytes_per_person"] = round(bundle.stat().st_size / persons)
    _peak, _s, out = run_child(griddesk("device", "--db", str(db)))
    fingerprint = re.search(r"[0-9A-F]{4}(?:[- ][0-9A-F]{4}){3,}", out)
    assert fingerprint, out
    target = work / "new.sqlite"
    run_child(python(f"from db.store import Store; Store({str(target)!r}).close()"))  # a new, empty database
    peak, seconds, _ = run_child(griddesk("import-bundle", "--db", str(target), str(bundle),
                                          "--passphrase-file", str(passphrase),
                                          "--trust-sender", fingerprint.group(0)))
    results["mem_handover_import_peak_mb"] = peak
    results["mem_handover_import_s"] = seconds

    # The search index rebuilt for everyone (the one-time rebuild after an upgrade).
    code = ("import sys; from db.store import Store; from db.register import index; "
            f"s = Store({str(db)!r}); n = index.refresh_everyone(s); s.close(); print(n)")
    peak, seconds, _ = run_child(python(code))
    results["mem_index_rebuild_peak_mb"] = peak
    results["mem_index_rebuild_s"] = seconds

    # The 150,000-row spreadsheet import into the demo community.
    from bench.bench_ledger import make_ledger

    ledger = work / "台账.xlsx"
    make_ledger(ledger)
    peak, seconds, _ = run_child(griddesk("import", "--db", str(db), str(ledger)))
    results["mem_ledger_import_150k_peak_mb"] = peak
    results["mem_ledger_import_150k_s"] = seconds
