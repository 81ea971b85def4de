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
