"""The layers hold: db/ and printouts/ import without Qt and nothing from the shell or the screens,
the screens hold no SQL, no peewee and no transaction, and db/ has no import cycle."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def qt_free_modules() -> list[str]:
    names = []
    for package in ("db", "printouts"):
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            names.append(info.name)
    return sorted(names)


def test_db_and_printouts_import_without_qt():
    modules = qt_free_modules()
    assert "db.store" in modules and "db.oplog" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'))\n"
        "    if qt:\n"
        "        print(f'{name} loaded {qt[:3]}')\n"
        "        sys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


SQL_TEXT = re.compile(r"\bselect\s+.+\s+from\s|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b",
                      re.IGNORECASE | re.DOTALL)
# Calls that run SQL or open a transaction: only db/ services do that.
DATABASE_CALLS = {"execute_sql", "execute", "executemany", "cursor", "atomic", "transaction", "savepoint"}


def database_work(source: str, name: str) -> list[str]:
    """Lines of `source` that call a database method or hold SQL text (from its syntax tree)."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS:
            found.append(f"{name}:{node.lineno}: .{node.func.attr}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
            found.append(f"{name}:{node.lineno}: SQL text {node.value[:40]!r}")
    return sorted(found, key=lambda line: int(line.split(":")[1]))


def shell_and_screen_sources():
    """Every module of desktop/ (the command line included: its reports print what db/ returns) and views/."""
    for folder in ("desktop", "views"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_views_and_desktop_hold_no_sql_and_open_no_transaction():
    """Widgets call db/ services: no SQL text, execute_sql, cursor, atomic() or transaction() in
    desktop/ and views/ (the services open the one transaction of each user action)."""
    offenders = []
    for path in shell_and_screen_sources():
        offenders += database_work(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not offenders, "\n".join(offenders)


def test_the_sql_check_can_fail():
    widget = ("def save(self):\n    with self.ctx.store.db.atomic():\n        pass\n"
              "def load(store):\n    return store.db.execute_sql('select id from person where deleted = 0')\n")
    assert database_work(widget, "w.py") == ["w.py:2: .atomic()", "w.py:5: .execute_sql()",
                                             "w.py:5: SQL text 'select id from person where deleted = 0'"]


# --- Dependency direction, from real import analysis (grimp builds the graph from the AST) ---

LAYERS = ("views", "desktop", "hub", "db", "printouts", "i18n")


def import_graph():
    import grimp

    # Same interpreter, with the checkout first on the path, so grimp finds these packages.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*LAYERS, include_external_packages=True, cache_dir=None)


def forbidden_imports(graph, importers: tuple[str, ...], imported: tuple[str, ...]) -> list[str]:
    found = []
    for low in importers:
        for high in imported:
            if high not in graph.modules:
                continue
            chain = graph.find_shortest_chain(importer=low, imported=high, as_packages=True)
            if chain:
                found.append(" -> ".join(chain))
    return found


def test_db_and_printouts_import_nothing_from_the_shell_or_the_screens():
    graph = import_graph()
    bad = forbidden_imports(graph, ("db", "printouts", "i18n"), ("desktop", "views", "hub"))
    assert not bad, "db/, printouts/ and i18n/ must not import these:\n" + "\n".join(bad)


def test_i18n_is_below_every_layer():
    graph = import_graph()
    bad = forbidden_imports(graph, ("i18n",), ("db", "printouts", "desktop", "views", "hub"))
    assert not bad, "\n".join(bad)


def test_the_hub_imports_no_qt_and_no_screens():
    graph = import_graph()
    bad = forbidden_imports(graph, ("hub",), ("desktop", "views", "PySide6"))
    assert not bad, "\n".join(bad)


def test_the_forbidden_import_check_can_fail(tmp_path):
    """The check itself finds a db/ module that imports desktop/ (it is not a check that cannot fail)."""
    graph = import_graph()
    graph.add_import(importer="db.store", imported="desktop.app", line_number=1, line_contents="import desktop.app")
    assert forbidden_imports(graph, ("db",), ("desktop",)) == ["db.store -> desktop.app"]


def test_the_screens_and_the_shell_import_no_peewee():
    """views/ and desktop/ reach the data through db/ services only (no models, no queries)."""
    graph = import_graph()
    bad = []
    for package in ("views", "desktop"):
        for module in sorted(graph.find_descendants(package) | {package}):
            for imported in graph.find_modules_directly_imported_by(module):
                if imported.split(".")[0] in ("peewee", "playhouse") or imported.startswith("db.models"):
                    bad.append(f"{module} -> {imported}")
    assert not bad, "\n".join(bad)


def import_cycles(graph, package: str) -> list[list[str]]:
    """The import cycles among the modules of `package` (strongly connected components of more than
    one module). A package's __init__ importing its own submodules (re-exports) is not a cycle."""
    modules = sorted(graph.find_descendants(package) | {package})
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m)
                       if i in modules and i != m and not i.startswith(m + ".")) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan's algorithm
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in edges[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    return sorted(cycles)


def test_no_import_cycle_inside_db():
    graph = import_graph()
    cycles = import_cycles(graph, "db")
    assert not cycles, "import cycles in db/:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_finds_an_injected_cycle():
    graph = import_graph()
    graph.add_import(importer="db.oplog", imported="db.register.undo", line_number=1,
                     line_contents="from db.register import undo")
    cycles = import_cycles(graph, "db")
    assert any({"db.oplog", "db.register.undo"} <= set(c) for c in cycles), cycles
