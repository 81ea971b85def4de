"""Exporting the residents list as CSV for systems that take no .xlsx: UTF-8 (with a BOM, so Excel
opens it), GB18030 (every Chinese character, also 𫖯 beyond the BMP) or GBK (old systems only).

GBK cannot hold rare characters such as 𫖯 (U+2B5AF) or 𠮷 (U+20BB7): an export in GBK checks every
value first and, when one cannot be written, writes nothing and raises CsvEncodingError naming the
rows, columns and characters and offering GB18030 and UTF-8 (which hold them all).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from db.errors import GridDeskError
from db.ledger.export import (
    PeopleFilter,
    column_label,
    columns_for,
    count_people,
    iter_people,
    record_export,
    resolve_filter,
)
from db.ledger.progress import gc_paused, step
from i18n import N_, _

CSV_ENCODINGS = {
    "utf-8-sig": N_("UTF-8 (every character; Excel opens it)"),
    "gb18030": N_("GB18030 (every Chinese character, the national standard)"),
    "gbk": N_("GBK (old systems only: no rare characters)"),
}
SUGGESTED = ("gb18030", "utf-8-sig")  # the encodings offered when GBK cannot hold a name


class CsvEncodingError(GridDeskError):
    """Some values cannot be written in the chosen encoding; nothing was written."""

    def __init__(self, encoding: str, problems: list[tuple[int, str, str]], total: int):
        self.encoding = encoding
        self.problems = problems  # (row, column, character)
        self.total = total
        self.suggestions = tuple(e for e in SUGGESTED if e != encoding)
        shown = "；".join(_("row {row}, column “{column}”: “{char}” (U+{code:04X})").format(
            row=row, column=column, char=char, code=ord(char)) for row, column, char in problems[:5])
        super().__init__(_("{encoding} cannot hold {n} of the characters to export, e.g. {examples}. Export "
                           "as GB18030 or UTF-8 instead: both hold every Chinese character.").format(
            encoding=encoding.upper(), n=total, examples=shown))


def _cannot_encode(value: str, encoding: str) -> str | None:
    try:
        value.encode(encoding)
    except UnicodeEncodeError as exc:
        return value[exc.start]
    return None


@gc_paused()
def export_people_csv(store, path: str | Path, *, people: PeopleFilter | None = None,
                      columns: list[str] | tuple[str, ...] | None = None, unmasked: bool = False,
                      encoding: str = "utf-8-sig", state=None) -> int:
    """Write the residents matching `people` to a CSV file; returns the number of rows."""
    if encoding not in CSV_ENCODINGS:
        raise GridDeskError(_("Unknown text encoding “{encoding}”.").format(encoding=encoding))
    path = Path(path)
    people = people or PeopleFilter()
    described = people.describe()
    columns = columns_for(people, columns or ())
    resolved = resolve_filter(store, people)
    total = count_people(store, resolved)
    labels = [column_label(c) for c in columns]
    step(state, 0, total, _("Exporting…"))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for n, d in enumerate(iter_people(store, resolved, unmasked=unmasked), start=1):
            if (n & 4095) == 0:
                step(state, n, total, _("Exporting…"))
            yield n, ["" if d.get(key) is None else str(d[key]) for key in columns]

    if encoding == "gbk":
        # Checked before anything is written: a half-written file is worse than none.
        problems: list[tuple[int, str, str]] = []
        count = 0
        for n, values in rows():
            for label, value in zip(labels, values, strict=True):
                char = _cannot_encode(value, encoding) if not value.isascii() else None
                if char is not None:
                    count += 1
                    if len(problems) < 20:
                        problems.append((n, label, char))
        if count:
            raise CsvEncodingError(encoding, problems, count)
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(labels)
            written = 0
            for n, values in rows():
                writer.writerow(values)
                written = n
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    with store.db.atomic():
        record_export(store, path=path, rows=written, unmasked=unmasked,
                      detail={"filter": described, "columns": list(columns), "encoding": encoding})
    step(state, total, total, _("Exported {n} rows").format(n=written))
    return written
