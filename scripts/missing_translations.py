"""List msgids used in the given files (or the whole tree) that have no zh_CN translation yet.

    python scripts/missing_translations.py [FILE_OR_DIR ...]   -> prints PO stubs to paste
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from i18n import _load  # noqa: E402

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
AREAS = ("desktop", "views", "db", "printouts", "hub")


def msgids(paths: list[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for f in files:
            for lineno, msg, _comments, _ctx in extract_from_file("python", str(f), keywords=KEYWORDS):
                key = msg[0] if isinstance(msg, tuple) else msg
                if key:
                    found.setdefault(key, f"{f.relative_to(ROOT)}:{lineno}")
    return found


def main() -> None:
    paths = [Path(p).resolve() for p in sys.argv[1:]] or [ROOT / a for a in AREAS if (ROOT / a).exists()]
    catalogue = _load("zh_CN")
    for key, where in msgids(paths).items():
        if key not in catalogue:
            escaped = key.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            print(f"#: {where}\nmsgid \"{escaped}\"\nmsgstr \"\"\n")


if __name__ == "__main__":
    main()
