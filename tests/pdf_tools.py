"""Looking into PDFs with poppler (pdftotext, pdffonts, pdfinfo): what a reader would see."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MM = 72 / 25.4


def _file(pdf: bytes | Path) -> Path:
    if isinstance(pdf, Path):
        return pdf
    f = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)
    f.write(pdf)
    f.close()
    return Path(f.name)


def text(pdf: bytes | Path, *, layout: bool = False, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run([*args, str(_file(pdf)), "-"], check=True, capture_output=True,
                          text=True).stdout


def pages(pdf: bytes | Path) -> int:
    out = subprocess.run(["pdfinfo", str(_file(pdf))], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def fonts(pdf: bytes | Path) -> list[dict]:
    """pdffonts rows: name, type, emb (yes/no)."""
    out = subprocess.run(["pdffonts", str(_file(pdf))], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object ID
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


@dataclass
class Word:
    text: str
    x0: float
    y0: float  # from the top of the page, pt
    x1: float
    y1: float
    page: int


def words(pdf: bytes | Path) -> list[Word]:
    out = subprocess.run(["pdftotext", "-bbox", str(_file(pdf)), "-"], check=True, capture_output=True,
                         text=True).stdout
    result = []
    page = 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            result.append(Word(m.group(5), float(m.group(1)), float(m.group(2)), float(m.group(3)),
                               float(m.group(4)), page))
    return result


def font_runs(pdf: bytes | Path) -> list[tuple[str, str]]:
    """(text, font name without the subset prefix) of every text run, in page order (pdftohtml -xml)."""
    out = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", str(_file(pdf))], check=True,
                         capture_output=True, text=True).stdout
    families = {m.group(1): m.group(2).split("+")[-1]
                for m in re.finditer(r'<fontspec id="(\d+)"[^>]*family="([^"]+)"', out)}
    runs = []
    for m in re.finditer(r'<text [^>]*font="(\d+)"[^>]*>(.*?)</text>', out):
        run = re.sub(r"<[^>]+>", "", m.group(2)).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        runs.append((run, families[m.group(1)]))
    return runs
