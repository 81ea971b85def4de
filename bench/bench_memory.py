"""Memory and size at community scale: the peak resident memory of each large operation, each run
as the user runs it (the `griddesk` command line) in a child process of its own, and where the
bytes of the database file go (SQLite's dbstat, per table and index).

Peak memory is the child's own maximum resident set size as the kernel reports it (wait4's
ru_maxrss), not an estimate. Each operation starts from a fresh copy of the demo database.

GRIDDESK_BENCH_MEMORY_OPS picks operations (comma-separated: backup, handover, index, ledger,
register; default all). `register` is the app itself (the real main window, offscreen) with the
households list shown: its peak once the list is usable. GRIDDESK_BENCH_BASELINE_CODE=/path/to/another/checkout runs each picked operation
with that code too, in the same run, beside this code: its figures get the suffix `_before`.
The handover import is measured beside the physical limit: bare sqlite3 copying the same final
rows into an empty file and building its indexes in one transaction (full-text indexes not included).
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


OPS = {o.strip() for o in os.environ.get("GRIDDESK_BENCH_MEMORY_OPS", "backup,handover,index,ledger,register").split(",")}
BASELINE = os.environ.get("GRIDDESK_BENCH_BASELINE_CODE")


# The command runs under this small launcher, not straight from the bench. Linux keeps the high-water
# mark of the memory a process had before exec in its ru_maxrss, and a child forked from the bench
# starts as a copy of it: after the bench generated a large demo in-process, every child reported the
# bench's own peak (the same figure three times). The launcher is a fresh, small interpreter; it
# reports the command's own peak from wait4.
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_pid, status, usage = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_child(args: list[str], *, cwd: Path = ROOT) -> tuple[float, float, str]:
    """Run a command with the code at cwd; (peak resident memory in MB, wall seconds, its output).
    Fails on exit != 0."""
    import tempfile

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(cwd))
    executable = args[0] if os.path.isabs(args[0]) else shutil.which(args[0])
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as peak:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, peak.name, executable, *args[1:]], cwd=cwd,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
        output = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{output[-3000:]}")
        maxrss = int(peak.read())
    return round(maxrss / 1024, 1), round(seconds, 3), output  # ru_maxrss is in KiB on Linux


def griddesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "desktop", *args]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# The app with the register open: the main window as `griddesk gui` shows it, then LIST_READY once
# the households list holds its rows (and a second later, painted, the app quits).
REGISTER_OPEN = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop.app import Shell

app = QApplication(sys.argv)
app.setQuitOnLastWindowClosed(False)
shell = Shell(app)


def ready():
    def poll():
        screen = shell.window.get_screen("households") if shell.window is not None else None
        browser = getattr(screen, "browser", None)
        if browser is not None and browser.ready and browser.model.rowCount() > 0:
            print("LIST_READY", browser.model.rowCount(), flush=True)
            QTimer.singleShot(1000, app.quit)
            return
        QTimer.singleShot(100, poll)
    poll()


shell.start({db!r}, on_ready=ready)
app.exec()
shell.shutdown()
"""


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


def bare_sqlite_load(source: Path, target: Path) -> dict[str, float]:
    """The physical limit of a load: bare sqlite3 copying every table of `source` (INSERT … SELECT)
    into an empty file with the same tables, then building its indexes, in one transaction
    (full-text tables left out). Seconds for tables, indexes, commit and in all."""
    import time as _time

    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("pragma journal_mode = wal")
        con.execute("attach database ? as src", (str(source),))
        tables = con.execute("select name, sql from src.sqlite_master where type = 'table' and sql is not null "
                             "and name not like 'sqlite_%' and sql not like 'create virtual%' collate nocase "
                             "and name not like 'register_%'").fetchall()
        # Shadow tables of full-text indexes are left out with them.
        virtual = [n for (n,) in con.execute("select name from src.sqlite_master where sql like 'create virtual%' "
                                              "collate nocase")]
        tables = [(n, q) for n, q in tables if not any(n.startswith(v + "_") for v in virtual)]
        indexes = [q for (q,) in con.execute("select sql from src.sqlite_master where type = 'index' and sql is not "
                                              "null and tbl_name in ({})".format(",".join("?" * len(tables))),
                                              [n for n, _q in tables])]
        started = _time.perf_counter()
        con.execute("begin")
        for _name, sql in tables:
            con.execute(sql)
        for name, _sql in tables:
            con.execute(f'insert into main."{name}" select * from src."{name}"')
        tables_done = _time.perf_counter()
        for sql in indexes:
            con.execute(sql)
        indexes_done = _time.perf_counter()
        con.execute("commit")
        finished = _time.perf_counter()
    finally:
        con.close()
    return {"tables_s": round(tables_done - started, 3), "indexes_s": round(indexes_done - tables_done, 3),
            "commit_s": round(finished - indexes_done, 3), "total_s": round(finished - started, 3)}


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

    codes = [("", ROOT)] + ([("_before", Path(BASELINE).resolve())] if BASELINE else [])
    for suffix, code in codes:
        _measure(results, source, persons, work / (suffix.strip("_") or "this"), code, suffix)


def _measure(results: dict, source: Path, persons: int, work: Path, code: Path, suffix: str) -> None:
    """Each picked operation with the code at `code` (figures named with `suffix`)."""
    work.mkdir(parents=True, exist_ok=True)
    db = fresh_copy(source, work / "a.sqlite")

    def child(key: str, args: list[str]) -> str:
        peak, seconds, out = run_child(args, cwd=code)
        results[f"mem_{key}_peak_mb{suffix}"] = peak
        results[f"mem_{key}_s{suffix}"] = seconds
        return out

    if "backup" in OPS:
        # A full backup of the whole file (the daily one).
        child("full_backup", griddesk("backup", "--db", str(db)))
        backups = sorted((work / "backups").rglob("*.gdbk"), key=lambda p: p.stat().st_mtime)  # compressed, encrypted
        backup = backups[-1]
        results[f"size_full_backup_mb{suffix}"] = round(backup.stat().st_size / 1e6, 1)
        # Fourteen daily full backups are kept: the footprint of a fortnight, from this backup's size.
        results[f"size_backups_14_daily_full_mb{suffix}"] = round(14 * backup.stat().st_size / 1e6, 1)
        # Restore that backup over the database.
        child("restore", griddesk("restore", "--db", str(db), str(backup)))

    if "handover" in OPS:
        # A full handover: export everything, then import it into a new, empty database.
        passphrase = work / "passphrase.txt"
        passphrase.write_text("长城长江黄河泰山\n", encoding="utf-8")
        bundle = work / "HANDOVER.GDB"
        child("handover_export", griddesk("export-bundle", "--db", str(db), "--to", str(bundle), "--full",
                                          "--passphrase-file", str(passphrase)))
        results[f"size_bundle_bytes_per_person{suffix}"] = round(bundle.stat().st_size / persons)
        _peak, _s, out = run_child(griddesk("device", "--db", str(db)), cwd=code)
        fingerprint = re.search(r"[0-9A-F]{4}(?:[- ][0-9A-F]{4}){3,}", out)
        assert fingerprint, out
        target = work / "new.sqlite"
        # A new, empty database.
        run_child(python(f"from db.store import Store; Store({str(target)!r}).close()"), cwd=code)
        args = ["--passphrase-file", str(passphrase), "--trust-sender", fingerprint.group(0)]
        # The preview (verify, merge, roll back) of the same bundle, then the import itself.
        child("handover_preview", griddesk("import-bundle", "--db", str(target), str(bundle), "--dry-run", *args))
        child("handover_import", griddesk("import-bundle", "--db", str(target), str(bundle), *args))
        bare = bare_sqlite_load(target, work / "bare.sqlite")
        for key, value in bare.items():
            results[f"mem_handover_bare_sqlite_{key}{suffix}"] = value
        results[f"mem_handover_import_vs_bare_x{suffix}"] = round(
            results[f"mem_handover_import_s{suffix}"] / max(0.001, bare["total_s"]), 2)
        for leftover in work.glob("bare.sqlite*"):
            leftover.unlink()
        for leftover in work.glob("new.sqlite*"):
            leftover.unlink()
        shutil.rmtree(work / "backups", ignore_errors=True)

    if "index" in OPS:
        # The search index refreshed for everyone (a full index: most rows stay as they are)...
        code_text = ("from db.store import Store; from db.register import index; "
                     f"s = Store({str(db)!r}); n = index.refresh_everyone(s); s.close(); print(n)")
        child("index_rebuild", python(code_text))
        # ... and rebuilt from nothing (the one-time rebuild after an upgrade).
        code_text = ("from db.store import Store; from db.register import index; "
                     f"s = Store({str(db)!r}); n = index.rebuild_index(s); s.close(); print(n)")
        child("index_rebuild_from_empty", python(code_text))

    if "ledger" in OPS:
        # The 150,000-row spreadsheet import into the demo community, then the register exported.
        from bench.bench_ledger import make_ledger

        ledger = work.parent / "台账.xlsx"
        if not ledger.exists():
            make_ledger(ledger)
        child("ledger_import_150k", griddesk("import", "--db", str(db), str(ledger)))
        child("ledger_export_all", griddesk("export", "--db", str(db), "--to", str(work / "导出.xlsx")))
    if "register" in OPS:
        # The app open on the register, the households list shown (settings in a folder of its own).
        import tempfile

        with tempfile.TemporaryDirectory(dir=work) as home:
            saved = {k: os.environ.get(k) for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
            os.environ.update(HOME=home, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data",
                              XDG_CACHE_HOME=f"{home}/cache")
            try:
                out = child("register_open", python(REGISTER_OPEN.format(db=str(db))))
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        assert "LIST_READY" in out, out[-2000:]
    for leftover in work.glob("a.sqlite*"):
        leftover.unlink()
