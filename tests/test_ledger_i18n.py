"""Every string the ledger code shows has a Simplified Chinese translation in ledger.po (or another
catalogue), and db/ledger stays importable without Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.extract import extract_from_file

import i18n

ROOT = Path(__file__).resolve().parent.parent
LEDGER_FILES = [*sorted((ROOT / "db" / "ledger").glob("*.py")), ROOT / "desktop" / "commands" / "ledger.py",
                *sorted((ROOT / "views" / "ledger").glob("*.py"))]


def test_every_ledger_msgid_has_a_chinese_translation():
    catalogue = i18n._load("zh_CN")
    missing = []
    for path in LEDGER_FILES:
        for lineno, message, _comments, _ctx in extract_from_file(
                "python", str(path), keywords={"_": None, "N_": None, "ngettext": (1, 2)}):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and msgid not in catalogue:
                missing.append(f"{path.relative_to(ROOT)}:{lineno}: {msgid}")
    assert missing == []
    assert len(LEDGER_FILES) > 10


def test_db_ledger_imports_without_qt():
    code = ("import sys\nimport db.ledger.commit, db.ledger.export, db.ledger.templates, db.ledger.report\n"
            "import desktop.commands.ledger\n"
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
