"""ReportLab's C accelerator (rl-accel) is in use, and a sign-in sheet made with it reads and
renders exactly as one made by ReportLab's pure-Python code (made in a child process without it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_MAKE = """
import sys
if sys.argv[2] == "python":
    sys.modules["_rl_accel"] = None  # ReportLab falls back to its pure-Python functions
import i18n
i18n.set_language("zh_CN")
from printouts.data import SigninData, SigninPerson
from printouts.tables import signin_pdf
people = [SigninPerson(name=f"住户{i}", unit=f"百步亭花园{i % 30 + 1}栋{i % 4 + 1}单元{i % 6 + 1}0{i % 4 + 1}室",
                       role="户代表", phone=f"1391234{i:04d}", note="列席" if i % 9 == 0 else "")
          for i in range(60)]
data = SigninData(meeting="幸福里居民会议", time="2026-11-25 19:00", place="社区党群服务中心", people=people)
open(sys.argv[1], "wb").write(signin_pdf(data))
"""


def _make(tmp_path: Path, mode: str) -> Path:
    out = tmp_path / f"{mode}.pdf"
    subprocess.run([sys.executable, "-c", _MAKE, str(out), mode], check=True, cwd=Path(__file__).parents[1],
                   timeout=120)
    return out


def test_the_accelerator_is_used():
    from reportlab.lib import rl_accel

    assert getattr(rl_accel.fp_str, "__module__", None) == "_rl_accel"


def test_a_sheet_is_the_same_with_and_without_the_accelerator(tmp_path):
    fast, slow = _make(tmp_path, "accel"), _make(tmp_path, "python")
    texts = [subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, check=True).stdout
             for p in (fast, slow)]
    assert "住户59" in texts[0].decode() and texts[0] == texts[1]
    for p in (fast, slow):
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(p), str(tmp_path / p.stem)], check=True)
    pages = sorted(tmp_path.glob("accel-*.png"))
    assert len(pages) >= 2
    for page in pages:
        assert page.read_bytes() == (tmp_path / page.name.replace("accel-", "python-")).read_bytes()
