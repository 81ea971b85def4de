"""Reading spreadsheets people already keep: .xlsx/.xlsm/.xls/.ods through python-calamine, .csv
in UTF-8 (with or without BOM) or GBK/GB18030 (what Excel writes on Chinese Windows).

A sheet is returned as raw rows of cell values exactly as the reader gives them (str, float,
date, datetime, bool, ""); interpretation happens in db/ledger/mapping.py and preview.py.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from db.errors import GridDeskError
from i18n import _

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
SUFFIXES = SPREADSHEET_SUFFIXES + CSV_SUFFIXES


@dataclass
class Sheet:
    name: str
    rows: list[list]
    # Merged ranges as ((first_row, first_col), (last_row, last_col)), 0-based, inclusive.
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def read_file(path: str | Path) -> list[Sheet]:
    """All non-empty sheets of a spreadsheet or CSV file; raises GridDeskError for the user."""
    path = Path(path)
    if not path.is_file():
        raise GridDeskError(_("The file “{path}” does not exist.").format(path=path))
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [read_csv(path)]
    if suffix not in SPREADSHEET_SUFFIXES:
        raise GridDeskError(
            _("“{name}” is not a spreadsheet GridDesk can read: use .xlsx, .xls, .ods or .csv.").format(
                name=path.name))
    return _read_calamine(path)


def _read_calamine(path: Path) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - the reader's own errors, shown to the user
        raise GridDeskError(
            _("“{name}” cannot be read as a spreadsheet ({error}). Is it damaged or password-protected?").format(
                name=path.name, error=exc)) from exc
    sheets: list[Sheet] = []
    try:
        for index, name in enumerate(workbook.sheet_names):
            try:
                sheet = workbook.get_sheet_by_index(index)
            except Exception:  # noqa: BLE001 - chart sheets and the like have no cells
                continue
            rows = sheet.to_python(skip_empty_area=False)
            if not any(any(v not in ("", None) for v in row) for row in rows):
                continue
            merged = []
            try:
                merged = list(sheet.merged_cell_ranges or [])
            except Exception:  # noqa: BLE001 - not every format reports merged cells
                merged = []
            sheets.append(Sheet(name, rows, merged))
    finally:
        workbook.close()
    return sheets


ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not) first; otherwise GB18030, a superset of GBK and GB2312."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    for encoding in ("utf-16",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise GridDeskError(_("The text file cannot be decoded: save it as UTF-8 or GBK."))


def read_csv(path: Path) -> Sheet:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        text = decode_text(data)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    return Sheet(path.stem, rows)
