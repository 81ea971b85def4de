"""Register: search per keystroke (p95, and against the bare SQLite query), opening the register
to a usable list, the longest GUI block while scrolling the whole list, resident memory, the list's
refresh on the GUI thread after an edit (target <= 16 ms), opening the person and household editors.

The GUI figures come from a child process (offscreen Qt) so its memory is the register's alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))


def _typed(text: str) -> list[str]:
    """What the search box holds after each keystroke."""
    return [text[:i] for i in range(1, len(text) + 1)]


def _queries(store) -> list[str]:
    """Keystroke sequences a grid worker types: initials, pinyin, names, ID and phone fragments, addresses."""
    from db.register.index import name_pinyin

    db = store.db
    sample = db.execute_sql("select name, id_number, phone, address from register_search where status = 'active' "
                            "and rowid % 211 = 0 limit 24").fetchall()
    queries: list[str] = []
    for k, (name, id_number, phone, address) in enumerate(sample):
        full, initials = name_pinyin(name)
        kind = k % 6
        if kind == 0:
            queries += _typed(initials.split("\x1f")[0])
        elif kind == 1:
            queries += _typed(full.split("\x1f")[0])
        elif kind == 2:
            queries += _typed(name)
        elif kind == 3 and id_number:
            queries += _typed(id_number[:14])
        elif kind == 4 and phone:
            queries += _typed(phone[-6:])
        elif address:
            queries += _typed(address[:8])
    return queries


def _search(results: dict, path: Path) -> None:
    from pysqlite3 import dbapi2 as sqlite3

    from db.register.search import SEARCH_LIMIT, Filters, build_query, search_ids
    from db.store import PRAGMAS, Store

    store = Store(path)
    queries = _queries(store)
    # Like with like: the same SQLite, the same pragmas (cache size, temp store), the same ids read.
    bare = sqlite3.connect(str(path))
    for name, value in PRAGMAS.items():
        bare.execute(f"pragma {name} = {value}")
    ours_ms, bare_ms = [], []
    for q in queries * 2:  # the second round is what a worker sees after the first minutes
        started = time.perf_counter()
        search_ids(store, Filters(text=q))
        ours_ms.append((time.perf_counter() - started) * 1000)
        sql, params = build_query(Filters(text=q))
        started = time.perf_counter()
        [r[0] for r in bare.execute(sql + " limit ?", (*params, SEARCH_LIMIT + 1))]
        bare_ms.append((time.perf_counter() - started) * 1000)
    bare.close()
    store.close()
    ours_ms, bare_ms = ours_ms[len(queries):], bare_ms[len(queries):]

    def p95(values):
        return sorted(values)[int(len(values) * 0.95)]

    results["register_search_keystrokes"] = len(ours_ms)
    results["register_search_p50_ms"] = statistics.median(ours_ms)
    results["register_search_p95_ms"] = p95(ours_ms)
    results["register_search_max_ms"] = max(ours_ms)
    results["register_search_bare_sql_p95_ms"] = p95(bare_ms)
    results["register_search_vs_bare_sql_ratio"] = sum(ours_ms) / sum(bare_ms)


def _child(path: str) -> None:
    """Open the register screen on the database, scroll the whole list, report JSON on stdout."""
    import psutil
    from PySide6.QtCore import QElapsedTimer, QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from desktop.appearance import apply_text_scale, register_fonts

    register_fonts()
    apply_text_scale(100, app)
    from db.store import Store
    from desktop.context import AppContext
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import TaskRunner
    from views.households import HouseholdsScreen

    out: dict[str, float] = {}
    started = time.perf_counter()
    store = Store(path)
    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(Path(path).with_suffix(".ini")), QSettings.Format.IniFormat))
    ctx = AppContext(store=store, tasks=TaskRunner(errors), errors=errors, settings=settings)
    screen = HouseholdsScreen(ctx)
    screen.resize(1280, 800)
    screen.show()
    browser = screen.browser
    while browser.model.rowCount() == 0 or not browser.ready:
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()  # the first rows are painted (fetched lazily)
    out["register_open_to_usable_list_s"] = time.perf_counter() - started
    from desktop.app import settle_garbage_collector

    settle_garbage_collector()  # as the app does once its window is up
    out.update(_edit_then_refresh(app, ctx, browser))
    out.update(_open_editors(app, ctx, browser))
    out["register_list_rows"] = browser.model.rowCount()
    bar = browser.table.verticalScrollBar()
    timer = QElapsedTimer()
    blocks: list[float] = []
    cpu_blocks: list[float] = []
    value = 0
    while value < bar.maximum():
        value = min(bar.maximum(), value + bar.pageStep())
        timer.start()
        cpu = time.thread_time()
        bar.setValue(value)
        app.processEvents()  # the scroll is handled and the new rows painted (fetched when needed)
        blocks.append(timer.nsecsElapsed() / 1e6)
        cpu_blocks.append((time.thread_time() - cpu) * 1000)
    blocks.sort()
    # The GUI thread's own CPU time per step: the wall clock also counts other processes' turns.
    out["register_scroll_max_gui_cpu_ms"] = max(cpu_blocks)
    out["register_scroll_pages"] = len(blocks)
    out["register_scroll_max_gui_block_ms"] = blocks[-1]
    out["register_scroll_p99_gui_block_ms"] = blocks[int(len(blocks) * 0.99)]
    out["register_scroll_median_gui_block_ms"] = blocks[len(blocks) // 2]
    out["register_row_fetches_while_scrolling"] = browser.model.fetches
    out["register_resident_memory_mb"] = psutil.Process().memory_info().rss / 1e6
    ctx.tasks.shutdown()
    store.close()
    print("RESULT " + json.dumps(out))


def _edit_then_refresh(app, ctx, browser, edits: int = 12) -> dict[str, float]:
    """A phone edited as the person editor saves it (the service on the writer thread), then the list:
    the GUI thread's longest block and its CPU time until the edited row is painted anew."""
    from PySide6.QtCore import QElapsedTimer

    from db.register.persons import save_person_edit
    from db.register.search import Filters, search_ids

    model = browser.model
    browser.table.verticalScrollBar().setValue(0)
    while model.row(0) is None:  # the first page, as painted
        app.processEvents()
        time.sleep(0.001)
    first = model.row(0)
    pid, rowid = first["person_id"], model.ids()[0]
    timer = QElapsedTimer()
    longest, cpu_totals, walls = [], [], []
    for i in range(edits):
        phone = f"1391234{i:04d}"
        written: list = []
        ctx.tasks.run(lambda _s, p=phone: save_person_edit(ctx.store, person_id=pid, changes={"phone": p}),
                      title="edit", on_done=written.append, show_progress=False)
        while not written:  # the write itself is not the list's refresh
            app.processEvents()
            time.sleep(0.001)
        started, blocks, cpu = time.perf_counter(), [], 0.0
        timer.start()
        c0 = time.thread_time()
        ctx.data_changed(written[0])  # what on_done does in the editor
        cpu += time.thread_time() - c0
        blocks.append(timer.nsecsElapsed() / 1e6)
        while (model._pages.get(0) or {}).get(rowid, {}).get("phone") != phone:
            time.sleep(0.001)
            timer.start()
            c0 = time.thread_time()
            app.processEvents()  # results come back, the stale row is fetched and painted
            cpu += time.thread_time() - c0
            blocks.append(timer.nsecsElapsed() / 1e6)
            if time.perf_counter() - started > 10:
                raise RuntimeError("the edited row was not refreshed")
        app.processEvents()
        walls.append(time.perf_counter() - started)
        longest.append(max(blocks))
        cpu_totals.append(cpu * 1000)
    # The old way, for comparison: every matching row id read again on the GUI thread.
    requery = []
    for _i in range(5):
        s = time.perf_counter()
        search_ids(ctx.store, Filters(), limit=None)
        requery.append((time.perf_counter() - s) * 1000)
    return {"register_refresh_after_edit_max_gui_block_ms": max(longest),
            "register_refresh_after_edit_median_gui_block_ms": statistics.median(longest),
            "register_refresh_after_edit_gui_cpu_median_ms": statistics.median(cpu_totals),
            "register_refresh_after_edit_to_row_painted_median_s": statistics.median(walls),
            "register_full_requery_median_ms": statistics.median(requery)}


def _open_editors(app, ctx, browser, times: int = 5) -> dict[str, float]:
    """Opening the person and household editors on the big register (constructed and shown)."""
    from views.households.household_dialog import HouseholdDialog
    from views.households.person_dialog import PersonDialog

    row = browser.model.row(0)
    person, household = [], []
    for _i in range(times):
        s = time.perf_counter()
        dlg = PersonDialog(ctx, person_id=row["person_id"], membership_id=row["membership_id"],
                           relation=row["relation"])
        dlg.show()
        app.processEvents()
        person.append((time.perf_counter() - s) * 1000)
        dlg.close()
        dlg.deleteLater()
        s = time.perf_counter()
        dlg = HouseholdDialog(ctx, household_id=row["household_id"])
        dlg.show()
        app.processEvents()
        household.append((time.perf_counter() - s) * 1000)
        dlg.close()
        dlg.deleteLater()
        app.processEvents()
    # The database reads of each editor, on the GUI thread when it opens (target: within a frame).
    from db.register import households as hh_service
    from db.register import persons as person_service
    from db.register.places import place_tree

    person_reads, household_reads = [], []
    for _i in range(times):
        s = time.perf_counter()
        person_service.get_person(ctx.store, row["person_id"])
        person_reads.append((time.perf_counter() - s) * 1000)
        s = time.perf_counter()
        hh_service.get_household(ctx.store, row["household_id"])
        place_tree(ctx.store)
        hh_service.household_members(ctx.store, row["household_id"])
        household_reads.append((time.perf_counter() - s) * 1000)
    return {"register_person_editor_open_median_ms": statistics.median(person),
            "register_household_editor_open_median_ms": statistics.median(household),
            "register_person_editor_db_reads_median_ms": statistics.median(person_reads),
            "register_household_editor_db_reads_median_ms": statistics.median(household_reads)}


def run(results: dict, workdir: Path) -> None:
    before = set(workdir.glob(f"demo-{HOUSEHOLDS}-1*.sqlite"))
    started, cpu = time.perf_counter(), time.process_time()
    source = demo_db(workdir, HOUSEHOLDS)
    if source not in before:  # generated now, not taken from the cache
        results["register_demo_generate_s"] = time.perf_counter() - started
        # CPU time too: on a shared machine the wall clock also counts other processes' turns.
        results["register_demo_generate_cpu_s"] = time.process_time() - cpu
    path = fresh_copy(source, workdir / "register-bench.sqlite")
    _search(results, path)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "bench.bench_register", str(path)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"register GUI benchmark failed:\n{proc.stdout}\n{proc.stderr}")
    results.update(json.loads(line[len("RESULT "):]))


if __name__ == "__main__":
    _child(sys.argv[1])
