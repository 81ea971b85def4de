"""import, export, undo-import, template: Excel and CSV ledgers in and out from the command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from i18n import _


def register(sub) -> None:
    p = sub.add_parser("import", help=_("import residents from an .xlsx, .xls, .ods or .csv ledger"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("file", help=_("spreadsheet or CSV file"))
    p.add_argument("--mapping", help=_("name of a saved column mapping"))
    p.add_argument("--save-mapping", metavar="NAME", help=_("save the column mapping used under this name"))
    p.add_argument("--dry-run", action="store_true",
                   help=_("only check and report; exits with 1 when there are errors"))
    p.add_argument("--skip-invalid", action="store_true",
                   help=_("import the valid rows and write the invalid ones to an error workbook"))
    p.add_argument("--errors", metavar="FILE", help=_("where to write the error workbook"))
    p.add_argument("--grid", metavar="NAME", help=_("the grid the people live in, when the ledger has no grid column"))
    p.add_argument("--compound", metavar="NAME",
                   help=_("the compound the people live in, when the ledger has no compound column"))
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("undo-import", help=_("undo an import as one step (the latest by default)"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("batch", nargs="?", help=_("import id (see griddesk undo-import --list)"))
    p.add_argument("--list", action="store_true", help=_("list the imports"))
    p.set_defaults(func=cmd_undo_import)

    p = sub.add_parser("export", help=_("export residents to .xlsx (ID and phone numbers masked)"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("--to", required=True, help=_("the .xlsx file to write"))
    p.add_argument("--template", help=_("name of a saved department template to fill"))
    p.add_argument("--columns", help=_("comma-separated fields, e.g. name,sex,id_number,phone"))
    p.add_argument("--unmasked", action="store_true",
                   help=_("write ID and phone numbers in full (recorded in the audit trail)"))
    for flag, text in (("--grid", _("only this grid")), ("--compound", _("only this compound")),
                       ("--building", _("only this building")), ("--unit", _("only this unit")),
                       ("--person-type", _("only this person type (户籍/常住/流动/境外)")),
                       ("--sex", _("only 男 or 女")), ("--name", _("names containing this text")),
                       ("--tag", _("only residents with this tag"))):
        p.add_argument(flag, help=text)
    p.add_argument("--status", choices=("active", "moved_out", "deceased", "all"), default="active",
                   help=_("who: living here (default), moved out, deceased, or all; a status column is "
                          "added when the export may include people no longer living here"))
    p.add_argument("--encoding", choices=("utf-8-sig", "gb18030", "gbk"), default="utf-8-sig",
                   help=_("text encoding of a .csv file (GBK cannot hold rare characters such as 𫖯)"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("template", help=_("save a department's .xlsx template for export"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("--name", required=True, help=_("template name"))
    p.add_argument("file", help=_("the department's .xlsx form"))
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                   help=_("map a template column (its title or number, from 1) to a field"))
    p.set_defaults(func=cmd_template)


def _open(path: str, create: bool = False):
    from db.store import Store

    return Store(Path(path), create=create)


def cmd_import(args) -> int:
    import tempfile

    from db.errors import ValidationErrors
    from db.ledger.commit import commit_import
    from db.ledger.mapping import save_mapping
    from db.ledger.preview import build_preview, plan_import
    from db.ledger.report import error_workbook_path, report_lines, write_error_workbook

    scratch = None
    if args.dry_run and not Path(args.db).exists():
        # A dry run writes nothing, not even a new database file: check against an empty register.
        scratch = tempfile.TemporaryDirectory()
        store = _open(str(Path(scratch.name) / "empty.sqlite"), create=True)
    else:
        store = _open(args.db, create=True)
    try:
        started = time.perf_counter()
        plan = plan_import(args.file, store=store, mapping_name=args.mapping)
        _where_people_live(plan, args)
        preview = build_preview(store, plan)
        for line in report_lines(preview, limit=200):
            print(line)
        _warn_households_without_head(preview)
        if args.save_mapping:
            for sp in plan.sheets[:1]:
                save_mapping(store, name=args.save_mapping, headers=sp.layout.headers, mapping=sp.mapping)
            print(_("Mapping saved as “{name}”.").format(name=args.save_mapping))
        if args.dry_run:
            print(_("Dry run: nothing was written ({s:.1f} s).").format(s=time.perf_counter() - started))
            return 1 if preview.has_errors else 0
        if preview.has_errors and not args.skip_invalid:
            print(_("Nothing was imported: fix the errors, or use --skip-invalid to import the valid rows."),
                  file=sys.stderr)
            return 1
        try:
            result = commit_import(store, preview, skip_invalid=args.skip_invalid)
        except ValidationErrors as exc:
            print(exc.message, file=sys.stderr)
            return 1
        if preview.has_errors:
            target = Path(args.errors) if args.errors else error_workbook_path(Path(args.file))
            n = write_error_workbook(preview, target)
            print(_("{n} rows with errors were skipped and written to {path}.").format(n=n, path=target))
        if result.batch_id:
            print(_("Imported: {created} new, {updated} updated, {households} new households "
                    "(import id {batch}; undo with griddesk undo-import).").format(
                created=f"{result.created:,}", updated=f"{result.updated:,}",
                households=f"{result.households_created:,}",
                batch=result.batch_id))
        else:
            print(_("Nothing to change: the register already holds these rows."))
        print(_("Done in {s:.1f} s.").format(s=time.perf_counter() - started))
    finally:
        store.close()
        if scratch is not None:
            scratch.cleanup()
    return 0


def cmd_undo_import(args) -> int:
    from db.errors import GridDeskError
    from db.ledger.commit import list_batches, undo_import

    store = _open(args.db)
    try:
        batches = list_batches(store)
        if args.list:
            for b in batches:
                state = _("undone {at}").format(at=b.undone_at) if b.undone_at else ""
                print(f"{b.id}  {b.at}  {b.file_name}  +{b.created} ~{b.updated}  {state}")
            return 0
        batch = args.batch or next((b.id for b in batches if not b.undone_at), None)
        if batch is None:
            raise GridDeskError(_("There is no import to undo."))
        changes = undo_import(store, batch_id=batch)
        print(_("Import {batch} undone: {n} rows restored or removed.").format(
            batch=batch, n=len({(c.table, c.row_id) for c in changes})))
    finally:
        store.close()
    return 0


def _filter(args):
    from db.ledger.export import PeopleFilter

    return PeopleFilter(grid=args.grid, compound=args.compound, building=args.building, unit=args.unit,
                        person_type=args.person_type, sex=args.sex, name=args.name, tag=args.tag,
                        status=args.status)


def cmd_export(args) -> int:
    from db.errors import GridDeskError
    from db.ledger.export import DEFAULT_COLUMNS, all_columns, export_people
    from db.ledger.templates import fill_template

    store = _open(args.db)
    try:
        if args.template:
            n = fill_template(store, name=args.template, path=args.to, people=_filter(args),
                              unmasked=args.unmasked)
        else:
            columns = [c.strip() for c in args.columns.split(",")] if args.columns else list(DEFAULT_COLUMNS)
            unknown = [c for c in columns if c not in all_columns()]
            if unknown:
                raise GridDeskError(_("Unknown column(s): {names}. Known: {known}").format(
                    names=", ".join(unknown), known=", ".join(all_columns())))
            if args.to.lower().endswith(".csv"):
                from db.ledger.export_csv import export_people_csv

                n = export_people_csv(store, args.to, people=_filter(args), columns=columns,
                                      unmasked=args.unmasked, encoding=args.encoding)
            else:
                n = export_people(store, args.to, people=_filter(args), columns=columns, unmasked=args.unmasked)
    finally:
        store.close()
    print(_("{n} rows exported to {path}.").format(n=n, path=args.to))
    if args.unmasked:
        print(_("ID and phone numbers were written in full; this export is recorded in the audit trail."))
    return 0


def cmd_template(args) -> int:
    from db.errors import GridDeskError
    from db.ledger.export import all_columns, column_label
    from db.ledger.mapping import clean_header
    from db.ledger.templates import inspect_template, save_template

    info = inspect_template(args.file, name=args.name)
    mapping = dict(info.mapping)
    for item in args.map:
        column, _sep, key = item.partition("=")
        if key and key not in all_columns():
            raise GridDeskError(_("Unknown field “{field}”.").format(field=key))
        if column.isdigit():
            col = int(column) - 1
        else:
            found = [i for i, h in enumerate(info.headers) if clean_header(h) == clean_header(column)]
            if not found:
                raise GridDeskError(_("The template has no column “{column}”.").format(column=column))
            col = found[0]
        if key:
            mapping[col] = key
        else:
            mapping.pop(col, None)
    store = _open(args.db)
    try:
        save_template(store, path=args.file, name=args.name, mapping=mapping)
    finally:
        store.close()
    print(_("Template “{name}” saved; its columns:").format(name=args.name))
    for col, header in enumerate(info.headers):
        if header:
            key = mapping.get(col)
            print(f"  {col + 1}. {header} → {column_label(key) if key else _('(ignore)')}")
    return 0


def _where_people_live(plan, args) -> None:
    """Levels the ledger has no column for: the ones given on the command line, else a note with
    what the sheet names and title rows suggest (db/ledger/places_hint.py)."""
    from db.ledger.places_hint import missing_levels, suggest_places

    missing = missing_levels(plan)
    if not missing:
        return
    given = {"grid": getattr(args, "grid", None), "compound": getattr(args, "compound", None)}
    hints = suggest_places(plan)
    labels = {"grid": _("grid"), "compound": _("compound")}
    for level in missing:
        if given.get(level):
            plan.default_places[level] = given[level].strip()
            continue
        if hints.get(level):
            print(_("Note: the ledger has no {level} column; the sheet suggests “{name}”. Give it with "
                    "--{option} {name}, or the people go to an unnamed {level}.").format(
                        level=labels[level], name=hints[level], option=level))
        else:
            print(_("Note: the ledger has no {level} column; give one with --{option} NAME, or the people go to "
                    "an unnamed {level}.").format(level=labels[level], option=level))


def _warn_households_without_head(preview) -> None:
    from db.ledger.places_hint import households_without_head

    lacking = households_without_head(preview)
    if not lacking:
        return
    print(_("Warning: {n} of {total} households have no head (户主) in the ledger, e.g. {address} (rows {rows}). "
            "Check the 与户主关系 column before importing.").format(
                n=len(lacking), total=len(preview.households),
                address=lacking[0]["address"] or "?",
                rows="、".join(str(row) for _sheet, row in lacking[0]["rows"][:5])))
