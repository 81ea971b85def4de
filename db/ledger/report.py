"""What an import preview says to a person: a text report and an error workbook to fix and re-import."""

from __future__ import annotations

from pathlib import Path

from db.ledger import cells
from db.ledger.mapping import field_label
from db.ledger.preview import Preview, RowResult
from i18n import _


def issue_lines(r: RowResult) -> list[str]:
    lines = []
    for issue in r.errors:
        lines.append(_("Sheet “{sheet}”, row {row}, column “{column}”: {message}").format(
            sheet=r.sheet, row=r.row, column=issue.column or field_label(issue.field), message=issue.message))
    return lines


def diff_text(r: RowResult) -> str:
    parts = []
    for key, old, new in r.diff:
        if key == "household":
            label = _("Household")
        elif key.startswith("household."):
            label = _("Household {field}").format(field=_household_label(key.split(".", 1)[1]))
        else:
            label = field_label(key)
        old, new = (cells.masked_sample(str(v), key) if v else v for v in (old, new))
        parts.append(_("{field}: {old} → {new}").format(field=label, old=old or _("(empty)"), new=new or _("(empty)")))
    return "; ".join(parts)


def _household_label(column: str) -> str:
    return field_label({"number": "household_number"}.get(column, column))


def summary(preview: Preview) -> str:
    return _("{rows} rows: {create} new, {update} updated, {unchanged} unchanged, {error} with errors; "
             "{households} new households.").format(
        rows=f"{preview.total:,}", create=f"{preview.count('create'):,}", update=f"{preview.count('update'):,}",
        unchanged=f"{preview.count('unchanged'):,}", error=f"{preview.count('error'):,}",
        households=f"{preview.new_households():,}")


def report_lines(preview: Preview, *, limit: int | None = None) -> list[str]:
    """The dry-run report: the summary, every error by sheet/row/column, warnings and updates."""
    lines = [_("File: {name}").format(name=preview.plan.path.name)]
    for sp in preview.plan.sheets:
        mapped = ", ".join(f"{sp.layout.headers[c]}→{field_label(k)}" for c, k in sorted(sp.mapping.items()))
        lines.append(_("Sheet “{sheet}”: header in row {row}; columns {mapped}").format(
            sheet=sp.sheet.name, row=sp.layout.header_row + 1, mapped=mapped))
    for name in preview.plan.skipped_sheets:
        lines.append(_("Sheet “{sheet}” has no table and was left out.").format(sheet=name))
    lines.append(summary(preview))
    errors = [line for r in preview.error_rows() for line in issue_lines(r)]
    if errors:
        lines.append(_("Errors:"))
        lines.extend("  " + e for e in (errors if limit is None else errors[:limit]))
        if limit is not None and len(errors) > limit:
            lines.append("  " + _("… and {n} more").format(n=len(errors) - limit))
    warnings = [(r, w) for r in preview.rows for w in r.warnings]
    if warnings:
        lines.append(_("Warnings:"))
        for r, w in warnings[: limit or len(warnings)]:
            lines.append("  " + _("Sheet “{sheet}”, row {row}, column “{column}”: {message}").format(
                sheet=r.sheet, row=r.row, column=w.column, message=w.message))
    updates = [r for r in preview.rows if r.action == "update"]
    if updates:
        lines.append(_("Updates:"))
        for r in updates[: limit or len(updates)]:
            lines.append("  " + _("Sheet “{sheet}”, row {row} ({name}): {diff}").format(
                sheet=r.sheet, row=r.row, name=r.person.get("name", ""), diff=diff_text(r)))
    return lines


def write_error_workbook(preview: Preview, path: str | Path) -> int:
    """The rows with errors, as they were, plus a column saying what to fix; returns the row count."""
    from rustpy_xlsxwriter import Format, write_worksheets

    path = Path(path)
    sheets = []
    count = 0
    reason = _("What to fix")
    for sp in preview.plan.sheets:
        bad = [r for r in preview.error_rows() if r.sheet == sp.sheet.name]
        if not bad:
            continue
        headers = _unique([h or _("Column {n}").format(n=i + 1) for i, h in enumerate(sp.layout.headers)])
        records = []
        for r in bad:
            rec = {h: cells.display(r.raw[i]) if i < len(r.raw) else "" for i, h in enumerate(headers)}
            rec[reason] = "；".join(f"{i.column}：{i.message}" if i.column else i.message for i in r.errors)
            records.append(rec)
            count += 1
        sheets.append((sp.sheet.name[:31], records))
    if not sheets:
        return 0
    header = Format().set_bold().set_background_color("#FCE4D6")
    names = [name for name, _records in sheets]
    write_worksheets(sheets, str(path), freeze_panes={"general": {"row": 1, "col": 0}},
                     header_format=dict.fromkeys(names, header), column_width=dict.fromkeys(names, 16.0))
    return count


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h}{n + 1}")
    return out


def error_workbook_path(source: Path) -> Path:
    """Where the skipped rows go by default, next to the imported file: 台账-错误.xlsx (the same
    from the app and the command line)."""
    source = Path(source)
    return source.with_name(source.stem + "-错误.xlsx")
