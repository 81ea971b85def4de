"""`griddesk volunteers teams|hours|stars|bank --db PATH`: the volunteer rosters without a window."""

from __future__ import annotations

from pathlib import Path

from i18n import _


def register(sub) -> None:
    p = sub.add_parser("volunteers", help=_("list volunteer teams, service hours and star levels"))
    p.add_argument("what", choices=["teams", "hours", "stars", "bank", "certificates"],
                   help=_("teams, hours (per volunteer), stars (per level), bank (time-bank overdrafts) or "
                          "certificates (numbers given twice)"))
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("--volunteer", help=_("one volunteer: number or name"))
    p.add_argument("--top", type=int, default=20, help=_("how many volunteers to list (most hours first)"))
    p.add_argument("--preset", choices=["national", "beijing", "town", "custom"],
                   help=_("star-level preset (default: this database's setting)"))
    p.add_argument("--renumber", metavar="CERTIFICATE_ID",
                   help=_("with certificates: give this certificate the next free number"))
    p.set_defaults(func=cmd_volunteers)


def _hours(minutes: int) -> str:
    from db.volunteers.common import hours_text

    return hours_text(minutes)


def cmd_volunteers(args) -> int:
    from db.errors import GridDeskError
    from db.store import Store
    from db.volunteers import roster, service, stars, timebank

    store = Store(Path(args.db), create=False)
    try:
        if args.what == "teams":
            teams = roster.list_teams(store)
            for t in teams:
                print(_("{name}  {kind}  leader {leader}  {n} members").format(
                    name=t["name"], kind=t["kind"] or "", leader=t["leader_name"] or "-", n=t["members"]))
            print(_("{n} teams").format(n=len(teams)))
        elif args.what == "hours":
            limits = stars.thresholds(store, args.preset)
            if args.volunteer:
                found = roster.find_by_number_or_name(store, args.volunteer)
                if found is None:
                    raise GridDeskError(_("No volunteer “{who}”.").format(who=args.volunteer))
                ids = [found]
                totals = {found: service.total_minutes(store, found)}
            else:
                totals = service.all_totals(store)
                ids = sorted(totals, key=lambda v: -totals[v])[:args.top]
            rows = roster.roster_rows(store, ids)
            for vid in ids:
                r = rows[vid]
                level = stars.level_for(totals.get(vid, 0), limits)
                print(f"{r['number']}  {r['name']}  " + _("{hours} h").format(hours=_hours(totals.get(vid, 0)))
                      + f"  {'★' * level}")
        elif args.what == "stars":
            counts = stars.level_counts(store, args.preset)
            limits = stars.thresholds(store, args.preset)
            for level in range(len(limits), 0, -1):
                print(_("{stars} (from {hours} h): {n}").format(stars="★" * level, hours=limits[level - 1],
                                                                 n=counts.get(level, 0)))
            print(_("below one star: {n}").format(n=counts.get(0, 0)))
        elif args.what == "certificates":
            if args.renumber:
                changes = stars.renumber_certificate(store, certificate_id=args.renumber)
                print(_("Certificate renumbered: {number}").format(
                    number=stars.certificate(store, changes[0].row_id)["number"]))
            found = stars.duplicate_certificates(store)
            for c in found:
                print(_("{number}  {name}  issued {issued} by {handler}  id {id}").format(
                    number=c["number"], name=c["name"], issued=c["issued"], handler=c["handler"] or "-", id=c["id"]))
            print(_("Certificate numbers given twice: {n}").format(n=len({c["number"] for c in found})))
            if found:
                print(_("Renumber one of each pair: griddesk volunteers certificates --db FILE --renumber ID"))
        else:
            found = timebank.overdrafts(store)
            for account, minutes in found:
                print(_("{name}: overdrawn by {hours} h").format(name=timebank.account_name(store, account),
                                                                hours=_hours(-minutes)))
            print(_("Overdrawn accounts: {n}").format(n=len(found)))
    finally:
        store.close()
    return 0
