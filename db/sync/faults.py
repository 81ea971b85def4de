"""The same op id with different content: a fault, reported and kept, never silently dropped.

An op id (node, counter) names one write forever. Two different writes under one id mean that
one database file was copied (a disk clone, a file copied to another laptop under the same path)
and both copies wrote under the same node id. An import that meets an op id it already holds
compares the content: a difference is recorded in `sync_op_fault` (both versions kept: ours in
the op log, theirs there), reported by the import and by `griddesk check`, and this database
takes a new node id when the node is its own (so it stops writing under the shared id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from db import opfields
from db.sync.identity import now_iso
from i18n import _

_COLUMNS = "node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind"


@dataclass
class Fault:
    node: str
    counter: int
    ours: tuple
    theirs: tuple

    @property
    def op_id(self) -> str:
        return f"{self.node}:{self.counter}"


def _same(ours: Sequence, theirs: Sequence) -> bool:
    if tuple(ours) == tuple(theirs):
        return True
    # The JSON columns may be spelt differently (spacing, key order) for the same values.
    try:
        return (tuple(ours[:4]) == tuple(theirs[:4]) and tuple(ours[6:]) == tuple(theirs[6:])
                and orjson.loads(ours[4]) == orjson.loads(theirs[4])
                and orjson.loads(ours[5] or "{}") == orjson.loads(theirs[5] or "{}"))
    except (orjson.JSONDecodeError, TypeError):
        return False


def find_faults(db, ops: Sequence, fresh: Sequence) -> list[Fault]:
    """Of the incoming ops that are not fresh (their id is in the log), those whose content differs.

    Costs nothing when every op is new (the common case); otherwise one read per 500 known ops."""
    if len(fresh) == len(ops):
        return []
    fresh_ids = {(op.node, op.counter) for op in fresh}
    known = {}
    for op in ops:
        key = (op.node, op.counter)
        if key not in fresh_ids and key not in known:
            known[key] = op
    faults: list[Fault] = []
    by_node: dict[str, list[int]] = {}
    for node, counter in known:
        by_node.setdefault(node, []).append(counter)
    for node, counters in by_node.items():
        for start in range(0, len(counters), 500):
            chunk = counters[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in opfields.wire_rows(db, db.execute_sql(
                    f"select {_COLUMNS} from oplog where node = ? and counter in ({marks})", (node, *chunk))):
                theirs = known[(row[0], row[1])]
                other = theirs.as_row()
                if not _same(row, other):
                    faults.append(Fault(row[0], row[1], tuple(row), tuple(other)))
    return faults


def record_faults(store, faults: Sequence[Fault], *, source: str) -> int:
    """Keep the other versions (in the caller's transaction); returns how many were new here."""
    new = 0
    for f in faults:
        cursor = store.db.execute_sql(
            "insert or ignore into sync_op_fault (node, counter, ours, theirs, source, detected_at) "
            "values (?, ?, ?, ?, ?, ?)",
            (f.node, f.counter, orjson.dumps(list(f.ours)).decode(), orjson.dumps(list(f.theirs)).decode(),
             source, now_iso()))
        new += cursor.rowcount
    return new


def list_faults(store, limit: int = 1000) -> list[dict]:
    rows = store.db.execute_sql(
        "select node, counter, ours, theirs, source, detected_at from sync_op_fault order by id limit ?", (limit,))
    return [{"node": r[0], "counter": r[1], "ours": orjson.loads(r[2]), "theirs": orjson.loads(r[3]),
             "source": r[4], "detected_at": r[5]} for r in rows]


def count_faults(store) -> int:
    return store.db.execute_sql("select count(*) from sync_op_fault").fetchone()[0]


def fault_warning(n: int) -> str:
    """What an import says when it met faults."""
    return _("Warning: {n} change(s) in the bundle carry the same number as a different change already here. "
             "A copy of a database file wrote under the same identity. Both versions are kept; run "
             "“griddesk check” to see them, and stop using one of the copies.").format(n=n)


def describe_fault(f: dict) -> str:
    ours, theirs = f["ours"], f["theirs"]
    return _("change {op} of {table} {row}: here {ours}, in {source} {theirs}").format(
        op=f"{f['node']}:{f['counter']}", table=ours[2], row=ours[3], ours=ours[4], source=f["source"] or "?",
        theirs=theirs[4] if theirs[2:4] == ours[2:4] else f"{theirs[2]} {theirs[3]} {theirs[4]}")
