"""db/ and printouts/ (every module) import without Qt: the CLI, the hub and most tests need that."""

from __future__ import annotations

import pkgutil
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


def test_views_and_desktop_hold_no_sql():
    """Widgets call db/ functions; no SQL text or raw cursors in desktop/ and views/."""
    import re

    pattern = re.compile(r"execute_sql|\.cursor\(|\bselect\s+.+\s+from\s|\binsert\s+into\b|\bupdate\s+\w+\s+set\b",
                         re.IGNORECASE)
    offenders = []
    for folder in ("desktop", "views"):
        for path in (ROOT / folder).rglob("*.py"):
            if folder == "desktop" and path.parent.name == "commands":
                continue  # command-line reports, not widgets
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


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
