"""`griddesk meetings`: list meetings, residents' matters and meeting kinds, show one meeting (for
scripts and tests). Tab-separated lines, one record a line."""

from __future__ import annotations

from pathlib import Path

from i18n import _


def register(sub) -> None:
    p = sub.add_parser("meetings", help=_("list meetings, residents' matters or meeting kinds"))
    p.add_argument("what", nargs="?", default="list", choices=["list", "matters", "kinds", "show"],
                   help=_("list (meetings), matters, kinds, or show --meeting MEETING"))
    p.add_argument("--meeting", help=_("meeting id or title (for show)"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("--month", help=_("only meetings of this month, e.g. 2026-11"))
    p.add_argument("--status", choices=["planned", "held", "cancelled"], help=_("only meetings with this status"))
    p.add_argument("--flag", choices=["overdue", "unposted", "unevaluated", "open"],
                   help=_("only matters that are overdue, done but not posted, not evaluated, or open"))
    p.add_argument("--category", help=_("only matters of this category, e.g. 环境"))
    p.add_argument("--limit", type=int, default=0, help=_("at most this many lines (0: all)"))
    p.set_defaults(func=cmd_meetings)


def _print_rows(rows) -> None:
    for r in rows:
        print("\t".join("" if v is None else str(v) for v in r))


def cmd_meetings(args) -> int:
    from db.errors import GridDeskError
    from db.meetings import kinds, matters
    from db.meetings import meetings as mt
    from db.meetings.kinds import kind_rule
    from db.store import Store

    store = Store(Path(args.db), create=False)
    try:
        limit = args.limit or None
        if args.what == "kinds":
            kinds.ensure_default_kinds(store)
            _print_rows((k["name"], k["entitled"], k["quorum"], k["pass_rule"], k["pass_base"],
                         k["major_rule"] or "", k["double_majority"], k["proxy_limit"])
                        for k in kinds.list_kinds(store))
        elif args.what == "matters":
            ids = matters.matter_ids(store, flag=args.flag, category=args.category)[:limit]
            rows = matters.matter_rows(store, ids)
            _print_rows((r["raised_on"], r["title"], r["category"], r["raised_by"], r["building"],
                         _(matters.STAGES[r["stage"]]), r["owner"] or "", r["deadline"] or "",
                         _("overdue") if r["overdue"] else "") for r in (rows[i] for i in ids))
            print(_("{n} matters").format(n=len(ids)))
        elif args.what == "show":
            if not args.meeting:
                raise GridDeskError(_("Name the meeting to show (its id or title)."))
            mid = _resolve(store, args.meeting)
            m = mt.get_meeting(store, mid)
            att = mt.attendance(store, mid)
            print(f"{m['title']}\t{m['kind']}\t{m['starts_at']}\t{m['place'] or ''}\t{_(mt.STATUSES[m['status']])}")
            print(_("Entitled {e}, present {p}, by proxy {x}, attending {a}, absent {b}").format(
                e=att.entitled, p=att.present, x=att.proxies, a=att.attending, b=att.absent))
            rule = kind_rule(kinds.get_kind(store, m["kind_id"]))
            for motion in mt.motions(store, mid):
                result, options = mt.motion_result(store, motion, att, rule)
                print(f"{motion['title']}\t{result.label}\t{result.reason}")
                for o in options:
                    t = o["tally"]
                    votes = "" if t is None else f"{t.votes_for}/{t.votes_against}/{t.votes_abstain}"
                    print(f"  {o['position']}. {o['label']}\t{votes}\t{_('Adopted') if o['adopted'] else o['outcome']}"
                          f"\t{o['reason']}")
            for r in mt.resolutions(store, meeting_id=mid):
                print(f"{r['text']}\t{r['owner'] or r['org'] or ''}\t{r['deadline'] or ''}\t{r['progress']}%")
        else:
            ids = mt.meeting_ids(store, month=args.month, status=args.status)[:limit]
            rows = mt.meeting_rows(store, ids)
            _print_rows((r["starts_at"], r["title"], r["kind"], r["place"], _(mt.STATUSES.get(r["status"], "")),
                         r["invited"], r["present"], r["id"]) for r in (rows[i] for i in ids))
            print(_("{n} meetings").format(n=len(ids)))
    finally:
        store.close()
    return 0


def _resolve(store, text: str) -> str:
    from db.errors import GridDeskError
    from db.meetings import meetings as mt

    ids = mt.meeting_ids(store)
    if text in ids:
        return text
    rows = mt.meeting_rows(store, ids)
    found = [i for i in ids if rows[i]["title"] == text] or [i for i in ids if text in (rows[i]["title"] or "")]
    if not found:
        raise GridDeskError(_("No meeting “{name}”.").format(name=text))
    return found[0]
