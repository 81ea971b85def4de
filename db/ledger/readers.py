"""Reading spreadsheets people already keep: .xlsx/.xlsm/.xls/.ods through python-calamine, .csv
in UTF-8 (with or without BOM) or GBK/GB18030 (what Excel writes on Chinese Windows).

A sheet gives raw rows of cell values exactly as the reader gives them (str, float, date,
datetime, bool, ""); interpretation happens in db/ledger/mapping.py and preview.py. A workbook is
parsed once (calamine keeps its cells compactly, outside Python); its rows become Python lists one
at a time (Sheet.iter_rows), so a 150,000-row ledger is never a list of 150,000 lists. The first
rows (where the title and the column titles are) are kept as `head`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from db.errors import GridDeskError
from i18n import _

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
SUFFIXES = SPREADSHEET_SUFFIXES + CSV_SUFFIXES


HEAD_ROWS = 40  # rows kept as Sheet.head: the header is looked for in the first 25


class Sheet:
    """One sheet: its name, merged ranges, first rows (`head`), height, and its rows on demand."""

    def __init__(self, name: str, rows: list[list] | None = None,
                 merged: list[tuple[tuple[int, int], tuple[int, int]]] | None = None, *,
                 source=None, height: int | None = None, left: int = 0):
        self.name = name
        # Merged ranges as ((first_row, first_col), (last_row, last_col)), 0-based, inclusive.
        self.merged = list(merged or [])
        self._rows = rows
        self._source = source  # a calamine sheet (its cells stay in calamine's own memory)
        self._left = left  # empty columns left of the used area (calamine leaves them out)
        self.height = len(rows) if rows is not None else int(height or 0)
        self.head: list[list] = rows[:HEAD_ROWS] if rows is not None else list(islice(self.iter_rows(), HEAD_ROWS))

    def iter_rows(self, start: int = 0) -> Iterator[list]:
        """Rows from `start` (0-based), each a new list of cell values."""
        if self._rows is not None:
            return islice(iter(self._rows), start, None)
        rows = islice(self._source.iter_rows(), start, None)
        if self._left:
            pad = [""] * self._left
            return (pad + row for row in rows)
        return rows

    @property
    def rows(self) -> list[list]:
        """Every row as a list (small sheets and tests; the import streams with iter_rows)."""
        return self._rows if self._rows is not None else list(self.iter_rows())


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
            top, left = sheet.start or (0, 0)
            if not any(any(v not in ("", None) for v in row) for row in sheet.iter_rows()):
                continue
            merged = []
            try:
                merged = list(sheet.merged_cell_ranges or [])
            except Exception:  # noqa: BLE001 - not every format reports merged cells
                merged = []
            # iter_rows starts at the sheet's first row but at the used area's first column.
            sheets.append(Sheet(name, merged=merged, source=sheet, height=sheet.height + top, left=left))
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
    source = _CsvRows(text, delimiter)
    return Sheet(path.stem, source=source, height=source.height)


class _CsvRows:
    """The rows of a CSV text, parsed again on each pass (the text is kept, not a list per row),
    each padded to the widest row."""

    def __init__(self, text: str, delimiter: str):
        self.text, self.delimiter = text, delimiter
        self.height = self.width = 0
        for row in self._parse():
            self.height += 1
            self.width = max(self.width, len(row))

    def _parse(self):
        return csv.reader(io.StringIO(self.text), delimiter=self.delimiter)

    def iter_rows(self) -> Iterator[list]:
        width = self.width
        for row in self._parse():
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield row
