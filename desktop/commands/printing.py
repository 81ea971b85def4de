"""`griddesk print FORM --db PATH --out FILE.pdf [options]` and `griddesk print --list`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from i18n import _


def register(sub) -> None:
    p = sub.add_parser("print", help=_("print a form to a PDF file (griddesk print --list names them)"))
    p.add_argument("form", nargs="?", help=_("the form to print"))
    p.add_argument("--list", action="store_true", help=_("list the forms"))
    p.add_argument("--db", help=_("database file"))
    p.add_argument("--out", help=_("PDF file to write"))
    p.add_argument("--full", action="store_true",
                   help=_("print ID and phone numbers in full (recorded in the audit log)"))
    p.add_argument("--user", help=_("who prints (for the audit log; default: your login name)"))
    g = p.add_argument_group(_("places (names or ids)"))
    g.add_argument("--compound", help=_("a compound: one notice or sign-in list per building of it"))
    g.add_argument("--building", action="append", dest="buildings", default=[],
                   help=_("a building (repeatable)"))
    g.add_argument("--household", action="append", dest="households", default=[],
                   help=_("a household: number, address or id (repeatable)"))
    g.add_argument("--visit", help=_("a home visit id (visit form)"))
    g = p.add_argument_group(_("notices and meetings"))
    g.add_argument("--meeting", help=_("meeting name, e.g. 3号楼居民议事会 ({building} is replaced in batches)"))
    g.add_argument("--time", help=_("meeting time"))
    g.add_argument("--place", help=_("meeting place"))
    g.add_argument("--attendees", help=_("who is to attend"))
    g.add_argument("--agenda", action="append", default=[], help=_("an agenda item (repeatable)"))
    g.add_argument("--requirement", action="append", dest="requirements", default=[],
                   help=_("a requirement for attendees (repeatable)"))
    g.add_argument("--contact", help=_("contact person"))
    g.add_argument("--contact-phone", help=_("contact telephone"))
    g.add_argument("--issuer", help=_("issuing office, printed bottom right"))
    g.add_argument("--date", help=_("date of the notice (default: today)"))
    g.add_argument("--host", help=_("who chairs the meeting (sign-in sheet; default: a line to fill in by hand)"))
    g.add_argument("--addressee", help=_("addressee line, e.g. 各位居民："))
    g.add_argument("--title", help=_("title (notices and lists)"))
    g.add_argument("--body", help=_("notice text; @FILE reads it from a UTF-8 file"))
    g.add_argument("--names", help=_("names for the sign-in sheet, separated by commas"))
    g.add_argument("--blank-rows", type=int, default=5, help=_("blank rows on the sign-in sheet"))
    g.add_argument("--motion", help=_("a motion of the meeting (ballots; default: every motion)"))
    g.add_argument("--matter", action="append", dest="matters", default=[],
                   help=_("a residents' matter, id or title (receipts and result postings; repeatable)"))
    g = p.add_argument_group(_("register lists"))
    g.add_argument("--kind", default="persons", help=_("persons, households or visits"))
    g.add_argument("--tag", help=_("only residents with this tag, e.g. 独居老人"))
    g.add_argument("--person-type", help=_("only this person type, e.g. 流动"))
    g.add_argument("--house-use", help=_("only households of this use, e.g. 出租"))
    g.add_argument("--from", dest="date_from", help=_("visits from this date"))
    g.add_argument("--to", dest="date_to", help=_("visits up to this date"))
    g.add_argument("--portrait", action="store_true", help=_("portrait pages (default landscape)"))
    p.set_defaults(func=cmd_print)


def _job_params(args) -> dict:
    body = args.body
    if body and body.startswith("@"):
        body = Path(body[1:]).read_text(encoding="utf-8")
    names = [n for n in (args.names or "").replace("，", ",").split(",") if n.strip()]
    building = args.buildings[0] if args.form == "list" and args.buildings else None
    return {
        "compound": args.compound, "buildings": [] if args.form == "list" else args.buildings,
        "building": building, "households": args.households, "household": (args.households or [None])[0],
        "visit": args.visit, "meeting": args.meeting, "time": args.time, "place": args.place,
        "attendees": args.attendees, "agenda": args.agenda, "requirements": args.requirements,
        "contact": args.contact, "contact_phone": args.contact_phone, "issuer": args.issuer,
        "date": args.date, "host": args.host, "addressee": args.addressee, "title": args.title, "body": body,
        "names": names, "blank_rows": args.blank_rows, "kind": args.kind, "tag": args.tag,
        "person_type": args.person_type, "house_use": args.house_use, "date_from": args.date_from,
        "date_to": args.date_to, "portrait": args.portrait, "motion": args.motion, "matters": args.matters,
    }


def cmd_print(args) -> int:
    from db.print_jobs import FORMS, PrintJob, make_pdf

    if args.list or not args.form:
        for key, label in FORMS.items():
            print(f"{key:16} {_(label)}")
        return 0 if args.list else 2
    if args.form not in FORMS:
        print(_("Unknown form “{form}”; the forms are: {forms}.").format(form=args.form, forms=", ".join(FORMS)),
              file=sys.stderr)
        return 2
    if not args.db or not args.out:
        print(_("Give --db DATABASE and --out FILE.pdf."), file=sys.stderr)
        return 2
    from db.store import Store

    store = Store(Path(args.db), create=False, user=args.user)
    try:
        result = make_pdf(store, PrintJob(args.form, _job_params(args), show_full=args.full))
    finally:
        store.close()
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(result.pdf)
    os.replace(tmp, out)
    print(_("Wrote {path}: {title}, {pages} page(s).").format(path=out, title=result.title, pages=result.pages))
    if args.full:
        print(_("ID and phone numbers are printed in full; this was recorded in the audit log."))
    return 0
