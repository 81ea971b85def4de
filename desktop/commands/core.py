"""info, check, backup, restore, demo."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from desktop.i18n import _


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
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help=_("replace the database with a backup"))
    _add_db(p)
    p.add_argument("backup", help=_("backup file"))
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("demo", help=_("create a realistic demo community"))
    _add_db(p)
    p.add_argument("--households", type=int, default=2000, help=_("number of households"))
    p.add_argument("--seed", type=int, default=1, help=_("random seed (same seed, same community)"))
    p.set_defaults(func=cmd_demo)


def _open(path: str, create: bool = False):
    from db.store import Store

    return Store(Path(path), create=create)


def cmd_info(args) -> int:
    from db.models import SYNCED_MODELS

    store = _open(args.db)
    try:
        print(_("Database: {path}").format(path=store.path))
        print(_("Schema version: {v}").format(v=store.schema_version()))
        print(_("Node id: {node}").format(node=store.node_id))
        ops = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
        print(_("Ops in the log: {n}").format(n=ops))
        conflicts = store.db.execute_sql("select count(*) from conflict").fetchone()[0]
        print(_("Open conflicts: {n}").format(n=conflicts))
        for model in SYNCED_MODELS:
            table = model._meta.table_name
            total, live = store.db.execute_sql(
                f'select count(*), coalesce(sum(deleted = 0), 0) from "{table}"').fetchone()
            print("  " + _("{table}: {live} (including deleted: {total})").format(
                table=table, live=live, total=total))
    finally:
        store.close()
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
    from db.backup import make_backup

    store = _open(args.db)
    try:
        path = make_backup(store, "manual")
    finally:
        store.close()
    print(_("Backup written: {path}").format(path=path))
    return 0


def cmd_restore(args) -> int:
    from db.backup import restore

    safety = restore(Path(args.db), Path(args.backup))
    print(_("Restored {db} from {backup}.").format(db=args.db, backup=args.backup))
    if safety:
        print(_("The replaced database was kept as {path}.").format(path=safety))
    return 0


def cmd_demo(args) -> int:
    from db.demo import generate

    store = _open(args.db, create=True)
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
    print(_("Demo community created in {s:.1f} s: {summary}").format(
        s=elapsed, summary=", ".join(f"{k} {v}" for k, v in summary.items())))
    return 0
