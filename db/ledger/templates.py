"""Department templates: a department's own .xlsx form, mapped once, filled from the register.

The template file is kept in the database (ledger_export_template) with the mapping of its
columns to GridDesk fields. Filling opens a copy with openpyxl and writes values below the header,
giving each new row the style of the template's first data row, so titles, merged cells, borders,
fonts, widths and print setup stay the department's own.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

from db.errors import GridDeskError
from db.ledger.export import PeopleFilter, count_people, iter_people, record_export, resolve_filter
from db.ledger.mapping import auto_mapping, clean_header, detect_layout
from db.ledger.progress import step
from db.ledger.readers import Sheet
from db.models.ledger import ExportTemplate
from db.validation import normalize_text
from i18n import _

EXTRA_SYNONYMS = {"序号": "seq", "编号": "seq", "年龄": "age", "家庭住址": "address", "户籍住址": "hukou_address"}


@dataclass
class TemplateInfo:
    name: str
    file_name: str
    sheet: str
    header_row: int
    data_row: int
    headers: list[str]
    mapping: dict[int, str]


def inspect_template(path: str | Path, *, name: str | None = None) -> TemplateInfo:
    """Read a template's first sheet, find its header and propose a mapping of its columns."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise GridDeskError(_("A department template must be an .xlsx file; save “{name}” as .xlsx first.").format(
            name=path.name))
    return _inspect(path.read_bytes(), path.name, name or path.stem)


def _inspect(content: bytes, file_name: str, name: str) -> TemplateInfo:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - openpyxl's own errors, shown to the user
        raise GridDeskError(_("“{name}” cannot be read as an .xlsx template ({error}).").format(
            name=file_name, error=exc)) from exc
    ws = wb.worksheets[0]
    rows = [["" if v is None else v for v in row] for row in ws.iter_rows(
        max_row=min(ws.max_row, 40), values_only=True)]
    merged = [((r.min_row - 1, r.min_col - 1), (r.max_row - 1, r.max_col - 1)) for r in ws.merged_cells.ranges]
    layout = detect_layout(Sheet(ws.title, rows, merged))
    mapping = auto_mapping(layout.headers)
    for col, header in enumerate(layout.headers):
        extra = EXTRA_SYNONYMS.get(clean_header(header))
        if extra and extra not in mapping.values():
            mapping[col] = extra  # an export wants the household's address, not the person's
    return TemplateInfo(name, file_name, ws.title, layout.header_row, layout.data_row, layout.headers, mapping)


def save_template(store, *, path: str | Path, name: str, mapping: dict[int, str]) -> TemplateInfo:
    """Keep the template file and its (user-adjusted) mapping under a name."""
    path = Path(path)
    name = normalize_text(name)
    if not name:
        raise GridDeskError(_("Give the template a name."))
    if not mapping:
        raise GridDeskError(_("Map at least one column of the template to a GridDesk field."))
    content = path.read_bytes()
    info = _inspect(content, path.name, name)
    info.mapping = {int(k): v for k, v in mapping.items() if v}
    with store.activated(), store.db.atomic():
        ExportTemplate.insert(
            name=name, file_name=path.name, content=content, sheet=info.sheet, header_row=info.header_row,
            mapping=json.dumps({"data_row": info.data_row, "columns": info.mapping}, ensure_ascii=False),
            created_at=dt.datetime.now().isoformat(timespec="seconds")).on_conflict_replace().execute()
    return info


def template_names(store) -> list[str]:
    with store.activated():
        return [t.name for t in ExportTemplate.select(ExportTemplate.name).order_by(ExportTemplate.name)]


def load_template(store, name: str) -> tuple[TemplateInfo, bytes]:
    with store.activated():
        row = ExportTemplate.get_or_none(ExportTemplate.name == name)
    if row is None:
        raise GridDeskError(_("There is no department template named “{name}”.").format(name=name))
    saved = json.loads(row.mapping)
    info = TemplateInfo(row.name, row.file_name, row.sheet, row.header_row, saved["data_row"], [],
                        {int(k): v for k, v in saved["columns"].items()})
    return info, bytes(row.content)


def fill_template(store, *, name: str, path: str | Path, people: PeopleFilter | None = None,
                  unmasked: bool = False, state=None) -> int:
    """Fill a copy of the named template with the matching residents; returns the row count."""
    from openpyxl import load_workbook

    info, content = load_template(store, name)
    people = people or PeopleFilter()
    described = people.describe()
    people = resolve_filter(store, people)
    path = Path(path)
    wb = load_workbook(io.BytesIO(content))
    ws = wb[info.sheet] if info.sheet in wb.sheetnames else wb.worksheets[0]
    first = info.data_row + 1  # openpyxl rows are 1-based
    columns = sorted(info.mapping.items())
    styles = {col: copy.copy(ws.cell(first, col + 1)._style) for col, _key in columns}
    height = ws.row_dimensions[first].height
    # Merged ranges inside the data area would swallow values; the list replaces them.
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= first:
            ws.unmerge_cells(str(rng))
    total = count_people(store, people)
    step(state, 0, total, _("Filling the template…"))
    n = 0
    for n, d in enumerate(iter_people(store, people, unmasked=unmasked), start=1):
        r = first + n - 1
        for col, key in columns:
            cell = ws.cell(r, col + 1)
            value = d.get(key)
            cell.value = value if isinstance(value, int) or value is None else str(value)
            if cell.data_type == "f":
                cell.data_type = "s"  # a value that starts with "=" is text, never a formula
            cell._style = copy.copy(styles[col])
        if height is not None:
            ws.row_dimensions[r].height = height
        if (n & 1023) == 0:
            step(state, n, total, _("Filling the template…"))
    tmp = path.with_name(path.name + ".part")
    try:
        wb.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    with store.db.atomic():
        record_export(store, path=path, rows=n, unmasked=unmasked,
                      detail={"template": name, "filter": described})
    step(state, total, total, _("Exported {n} rows").format(n=n))
    return n
