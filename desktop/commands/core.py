"""info, check, backup, restore, demo."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from i18n import _


def _add_db(p) -> None:
    p.add_argument("--db", required=True, help=_("database file"))


def register(sub) -> None:
    p = sub.add_parser("info", help=_("show schema version, node id and counts"))
    _add_db(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("check", help=_("check integrity, foreign keys and tables against the op log"))
    _add_db(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", help=_("make a backup of the database now"))
    _add_db(p)
    p.add_argument("--incremental", action="store_true",
                   help=_("only the changes since the newest full backup (a full backup when there is none)"))
    p.add_argument("--list", action="store_true", help=_("list the backups instead of making one"))
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help=_("replace the database with a backup"))
    _add_db(p)
    p.add_argument("backup", help=_("backup file"))
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("demo", help=_("create a realistic demo community"))
    _add_db(p)
    p.add_argument("--households", type=int, default=2000, help=_("number of households"))
    p.add_argument("--seed", type=int, default=1, help=_("random seed (same seed, same community)"))
    p.add_argument("--add", action="store_true",
                   help=_("add the demo to a database that already has households"))
    p.set_defaults(func=cmd_demo)


def _open(path: str, create: bool = False):
    from db.store import Store

    return Store(Path(path), create=create)


def cmd_info(args) -> int:
    from db.info import database_info

    store = _open(args.db)
    try:
        info = database_info(store)
    finally:
        store.close()
    print(_("Database: {path}").format(path=info.path))
    print(_("Schema version: {v}").format(v=info.schema_version))
    print(_("Node id: {node}").format(node=info.node_id))
    print(_("Ops in the log: {n}").format(n=info.ops))
    print(_("Open conflicts: {n}").format(n=info.conflicts))
    for t in info.tables:
        print("  " + _("{label}: {live} (and {deleted} deleted)").format(
            label=_(t.label), live=t.live, deleted=t.deleted))
    return 0


def cmd_check(args) -> int:
    from db.check import run_check

    store = _open(args.db)
    try:
        report = run_check(store)
    finally:
        store.close()
    for line in report.lines:
        print(line)
    if report.ok:
        print(_("Check passed: the database is intact and matches its op log."))
        return 0
    print(_("Check FAILED: {n} problem(s) found.").format(n=report.problem_count), file=sys.stderr)
    return 1


def cmd_backup(args) -> int:
    from db.backup import backup_dir, backups, make_backup
    from desktop.backups import describe_backup

    if args.list:
        found = backups(Path(args.db))
        if not found:
            print(_("No backups yet."))
        for info in reversed(found):
            print(f"{describe_backup(info.path)}\n    {info.path.name}")
        print(_("Folder: {folder}").format(folder=backup_dir(Path(args.db))))
        return 0
    store = _open(args.db)
    try:
        path = make_backup(store, "manual", incremental=args.incremental)
    finally:
        store.close()
    print(_("Backup written: {path}").format(path=path))
    if args.incremental:
        print(describe_backup(path))
    return 0


def cmd_restore(args) -> int:
    from db.backup import describe, restore

    safety = restore(Path(args.db), Path(args.backup))
    info = describe(Path(args.backup))
    if info is not None and info.incremental:
        print(_("Restored {db} from the incremental backup {backup} on the full backup {base}.").format(
            db=args.db, backup=args.backup, base=info.base.name))
    else:
        print(_("Restored {db} from {backup}.").format(db=args.db, backup=args.backup))
    if safety:
        print(_("The replaced database was kept as {path}.").format(path=safety))
    return 0


def cmd_demo(args) -> int:
    from db.demo import generate
    from db.errors import GridDeskError
    from db.info import TABLE_LABELS, has_households

    store = _open(args.db, create=True)
    if has_households(store) and not args.add:
        store.close()
        raise GridDeskError(_("{path} already has households: a demo community would be mixed into real "
                              "data. Use a new file, or add --add if you really want that.").format(path=args.db))
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> bool:
        now = time.perf_counter()
        if now - last[0] > 1 or done == total:
            last[0] = now
            print(_("Households: {done} / {total}").format(done=done, total=total), flush=True)
        return True

    try:
        summary = generate(store, households=args.households, seed=args.seed, progress=progress)
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    labels = {"grids": "grid", "compounds": "compound", "buildings": "building", "units": "unit",
              "households": "household", "persons": "person", "tags": "person_tag", "visits": "visit",
              "life_events": "life_event", "teams": "vol_team", "volunteers": "volunteer",
              "service_records": "vol_service"}
    parts = [_("{label} {n}").format(label=_(TABLE_LABELS[labels[k]]), n=v)
             for k, v in summary.items() if k in labels]
    print(_("Demo community created in {s:.1f} s: {summary}").format(s=elapsed, summary=", ".join(parts)))
    return 0
