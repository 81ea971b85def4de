"""`griddesk audit …` (the audit trail) and `griddesk accounts …` (accounts of an encrypted database).

An encrypted database opens with --login NAME and the password from --password-file, the
GRIDDESK_PASSWORD environment variable, or a prompt.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from i18n import _


def _add_db(p) -> None:
    p.add_argument("--db", required=True, help=_("database file"))
    p.add_argument("--login", help=_("account name (encrypted database)"))
    p.add_argument("--password-file", help=_("file holding the password (first line)"))


def register(sub) -> None:
    p = sub.add_parser("audit", help=_("search the audit trail: views, prints, exports, logins, exchanges, changes"))
    _add_db(p)
    p.add_argument("--person", help=_("name, ID number or id of a person"))
    p.add_argument("--user", help=_("who did it"))
    p.add_argument("--action", help=_("reveal, print_unmasked, export_unmasked, login, login_failed, change, …"))
    p.add_argument("--from", dest="date_from", help=_("first day (YYYY-MM-DD)"))
    p.add_argument("--to", dest="date_to", help=_("last day (YYYY-MM-DD)"))
    p.add_argument("--no-changes", action="store_true", help=_("without the changes from the op log"))
    p.add_argument("--limit", type=int, default=200, help=_("at most this many entries (newest first)"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("accounts", help=_("accounts of this laptop: create the administrator (encrypts), list, add"))
    _add_db(p)
    p.add_argument("action", choices=["create-admin", "list", "add", "reset-password"])
    p.add_argument("--name", help=_("login name of the account to create, add or reset"))
    p.add_argument("--role", choices=["admin", "grid", "readonly"], default="grid")
    p.add_argument("--grid", action="append", default=[], help=_("grid id of a grid worker (repeatable)"))
    p.add_argument("--new-password-file", help=_("file holding the new account's password (first line)"))
    p.set_defaults(func=cmd_accounts)

    p = sub.add_parser("retention", help=_("people moved out or deceased more than N years ago; erase their data"))
    _add_db(p)
    p.add_argument("--years", type=int, default=5, help=_("years since moving out or death"))
    p.add_argument("--redact", metavar="PERSON_ID", action="append", default=[],
                   help=_("erase this person's personal data (repeatable; recorded in the audit trail)"))
    p.set_defaults(func=cmd_retention)


def _read_secret(path: str | None, prompt: str) -> str:
    if path:
        return Path(path).read_text(encoding="utf-8").splitlines()[0]
    if os.environ.get("GRIDDESK_PASSWORD"):
        return os.environ["GRIDDESK_PASSWORD"]
    return getpass.getpass(prompt)


def open_db(args):
    """Open the database of the command: plain as always, encrypted with --login and a password."""
    from db.accounts import service
    from db.store import Store

    path = Path(args.db)
    if not service.has_accounts(path):
        return Store(path, create=False)
    if not args.login:
        from db.errors import GridDeskError

        raise GridDeskError(_("“{path}” is encrypted: give --login and a password.").format(path=path))
    return service.open_store(path, login=args.login, password=_read_secret(args.password_file, _("Password: ")))


def cmd_audit(args) -> int:
    from db.accounts import audit

    store = open_db(args)
    try:
        rows = audit.search(store, person=args.person, user=args.user, action=args.action, date_from=args.date_from,
                            date_to=args.date_to, changes=not args.no_changes, limit=args.limit)
    finally:
        store.close()
    for d in audit.as_dicts(rows):
        if args.json:
            print(json.dumps(d, ensure_ascii=False))
        else:
            print("\t".join((d["at"], d["user"], d["label"], d["record"], d["detail"])))
    print(_("{n} entries").format(n=len(rows)), file=sys.stderr)
    return 0


def cmd_accounts(args) -> int:
    from db.accounts import service
    from db.store import Store

    if args.action == "create-admin":
        store = Store(Path(args.db), create=False)
        password = _read_secret(args.new_password_file, _("New password: "))
        new, recovery = service.create_first_admin(store, login=args.name or "admin", password=password)
        new.close()
        print(_("The database is encrypted. Office recovery key (shown once, keep it in the office):"))
        print(recovery)
        return 0
    store = open_db(args)
    try:
        if args.action == "list":
            for u in service.list_users(store):
                print("\t".join((u["login"], u["display_name"] or "", u["role"], u["grid_ids"] or "")))
        elif args.action == "add":
            service.add_user(store, login=args.name or "", role=args.role, grid_ids=args.grid,
                             password=_read_secret(args.new_password_file, _("New password: ")))
        elif args.action == "reset-password":
            service.reset_password(store, login=args.name or "",
                                   new_password=_read_secret(args.new_password_file, _("New password: ")))
    finally:
        store.close()
    return 0


def cmd_retention(args) -> int:
    from db.accounts import retention

    store = open_db(args)
    try:
        for person_id in args.redact:
            retention.redact_person(store, person_id=person_id, reason=_("retention review"))
            print(_("Erased the personal data of {id}.").format(id=person_id))
        if not args.redact:
            for r in retention.review_list(store, years=args.years):
                print("\t".join((r["id"], r["name"] or "", r["move_out_date"] or "", r["death_date"] or "")))
    finally:
        store.close()
    return 0
