"""The op log: every write of a synced row appends one op in the same transaction.

An op names the row, the changed columns with their new values, and per column the op ids the
writer could see (the ones it supersedes). The live candidates of a column are the ops that no
other op supersedes; one candidate is the value, several with different values are a conflict
(the newest by hybrid clock is shown, all are kept, the conflict waits in the `conflict` table).
A `redact` op erases personal data: it wins against every older op of those columns, even one
that arrives later. The register tables are a view of this log: `rebuild` gives the same rows.
The log stores an op's fields packed (column names once per column list, db/opfields.py); read
them with `_op_from_row(row, db)` or `opfields.wire_rows`, never as JSON straight from SQL.
Since migration 17 `oplog` is a view of the compact `oplog_store` (db/opstore.py): read it as
before, look rows up by `rid in (opstore.rid(...))` (indexed), write through opstore.insert_rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import orjson

from db import migrations, opfields, opstore
from db.ids import new_id, op_id
from db.models import SYNCED_MODELS, SyncedModel, synced_model
from db.sync import chains

CHUNK = 500

# Derived local data (search indexes, caches) follows the tables through row hooks, installed per
# Store (Store.__init__ calls the installers explicitly; importing a module installs nothing):
# store.row_hooks[table] holds callables (store, row_ids) run inside the writing transaction after
# rows of that table were written, merged or rebuilt.


def add_row_hook(store, table: str, hook) -> None:
    hooks = store.row_hooks.setdefault(table, [])
    if hook not in hooks:
        hooks.append(hook)


def remove_row_hook(store, table: str, hook) -> None:
    hooks = store.row_hooks.get(table, [])
    if hook in hooks:
        hooks.remove(hook)


def add_bulk_context(store, factory) -> None:
    """factory(store) -> context manager entered around the hooks of a bulk merge, so derived data
    that several tables feed (e.g. the register's search index) is refreshed once per bulk merge."""
    if factory not in store.bulk_contexts:
        store.bulk_contexts.append(factory)


def _hooks(store, table: str) -> list:
    return getattr(store, "row_hooks", {}).get(table, [])


_deferred: list[dict[str, list[str]]] = []  # stack of pending hook calls while deferred (ids, in order)


def _run_hooks(store, table: str, row_ids) -> None:
    hooks = _hooks(store, table)
    if not hooks:
        return
    if _deferred:
        _deferred[-1].setdefault(table, []).extend(row_ids)
        return
    for hook in list(hooks):
        hook(store, list(row_ids))


@contextmanager
def deferred_hooks(store, *, run: bool = True) -> Iterator[dict]:
    """Collect row hooks during a bulk merge and run each table's hooks once at the end.

    Use inside the writing transaction: the hooks then still run in it. Yields a dict that gets
    "seconds": the time the deferred hooks took (derived data such as search indexes).
    run=False drops them: for a dry run whose transaction is rolled back anyway.
    """
    import time

    stats: dict = {"seconds": 0.0}
    _deferred.append({})
    try:
        yield stats
        pending = _deferred[-1]
    finally:
        _deferred.pop()
    if not run:
        return
    started = time.perf_counter()
    # Each once, sorted (a bulk merge hands them over in order: the sort is one pass).
    run_hooks_once(store, {table: [sorted(dict.fromkeys(ids))] for table, ids in pending.items()})
    stats["seconds"] = time.perf_counter() - started


def run_hooks_once(store, pending: dict[str, Iterable[Sequence[str]]]) -> None:
    """Run each table's row hooks over its blocks of row ids (each id once), inside the bulk
    contexts: the end of deferred_hooks, and of a bulk merge that keeps the ids of its rows itself
    (see forget_deferred) and hands them over block by block."""
    with ExitStack() as stack:
        for factory in getattr(store, "bulk_contexts", ()):
            stack.enter_context(factory(store))
        for table, blocks in pending.items():
            for ids in blocks:
                _run_hooks(store, table, ids)
    if pending and store.db.in_transaction():
        # Full-text tables keep new terms in memory until the next savepoint or the commit: write
        # them out here, so their time counts as derived data rather than as the caller's next step.
        with store.db.atomic():
            pass


def forget_deferred() -> None:
    """Drop the row ids the innermost deferred_hooks collected so far: for a bulk merge in batches
    that keeps them itself (on disk) and runs the hooks with run_hooks_once, so the ids of every
    batch do not stay in memory."""
    if _deferred:
        _deferred[-1].clear()


def _dumps(value: Any) -> str:
    # orjson: compact UTF-8 JSON, several times faster than the json module on the write path.
    return orjson.dumps(value).decode()


_loads = orjson.loads


@dataclass(slots=True)
class Change:
    """What one write changed: the views refresh from this, not by polling."""

    table: str
    row_id: str
    fields: dict[str, Any]
    op: str
    created: bool = False


@dataclass(slots=True)
class OpRecord:
    node: str
    counter: int
    tbl: str
    row_id: str
    fields: dict[str, Any]
    supersedes: dict[str, list[str]]
    hlc: str
    user: str | None = None
    schema: int = migrations.SCHEMA_VERSION
    kind: str = "edit"
    # The stored form when the op was read from a bundle or the log (saves re-encoding).
    raw: tuple | None = field(default=None, compare=False, repr=False)
    # The chain digest of this node's previous op (db/sync/chains.py); None: from before chains.
    prev: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return op_id(self.node, self.counter)

    def as_row(self) -> tuple:
        if self.raw is not None:
            return self.raw
        return (self.node, self.counter, self.tbl, self.row_id, _dumps(self.fields),
                _dumps(self.supersedes) if self.supersedes else "{}", self.hlc, self.user, self.schema, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "counter": self.counter, "tbl": self.tbl, "row_id": self.row_id,
                "fields": self.fields, "supersedes": self.supersedes, "hlc": self.hlc,
                "user": self.user, "schema": self.schema, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OpRecord:
        return cls(d["node"], int(d["counter"]), d["tbl"], d["row_id"], dict(d["fields"]),
                   {k: list(v) for k, v in (d.get("supersedes") or {}).items()}, d["hlc"],
                   d.get("user"), int(d.get("schema") or 1), d.get("kind") or "edit")


_OP_COLUMNS = "node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind"


def _op_from_row(row: Sequence, db=None) -> OpRecord:
    """An op from a row of `select _OP_COLUMNS from oplog` (fields stored packed or as JSON text:
    db/opfields.py; db is needed for the packed form)."""
    return OpRecord(row[0], row[1], row[2], row[3], opfields.loads(db, row[4]), _loads(row[5]), row[6], row[7],
                    row[8], row[9])


def stored_rows(ops: Iterable[OpRecord], packer: opfields.Packer) -> list[tuple]:
    """The rows to insert into the log for these ops (fields packed where that is lossless)."""
    out = []
    for op in ops:
        raw = op.raw
        if raw is None:
            out.append((op.node, op.counter, op.tbl, op.row_id, packer.pack(op.fields),
                        _dumps(op.supersedes) if op.supersedes else "{}", op.hlc, op.user, op.schema, op.kind))
        else:
            out.append((*raw[:4], packer.pack_text(raw[4], op.fields), *raw[5:]))
    return out


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    """Pieces of at most `size` items: the one way to keep `where id in (...)` under SQLite's limits."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class Resolved:
    values: dict[str, Any]
    conflicts: dict[str, list[OpRecord]] = field(default_factory=dict)
    live: dict[str, list[OpRecord]] = field(default_factory=dict)


def resolve(ops: Sequence[OpRecord]) -> Resolved:
    """Per column: the live candidates, the value shown (newest live), and real conflicts."""
    if len(ops) == 1 and not ops[0].supersedes:
        op = ops[0]
        return Resolved(dict(op.fields), {}, {f: [op] for f in op.fields})
    dead: dict[str, set[str]] = defaultdict(set)
    redacted_at: dict[str, str] = {}
    for op in ops:
        for column, ids in op.supersedes.items():
            dead[column].update(ids)
        if op.kind == "redact":
            for column in op.fields:
                if op.hlc > redacted_at.get(column, ""):
                    redacted_at[column] = op.hlc
    live: dict[str, list[OpRecord]] = defaultdict(list)
    for op in ops:
        oid = op.id
        for column in op.fields:
            if oid in dead[column]:
                continue
            if column in redacted_at and op.hlc < redacted_at[column]:
                continue
            live[column].append(op)
    values: dict[str, Any] = {}
    conflicts: dict[str, list[OpRecord]] = {}
    for column, candidates in live.items():
        newest = max(candidates, key=lambda o: o.hlc)
        values[column] = newest.fields[column]
        if len(candidates) > 1 and len({_dumps(c.fields[column]) for c in candidates}) > 1:
            conflicts[column] = sorted(candidates, key=lambda o: o.hlc, reverse=True)
    return Resolved(values, conflicts, dict(live))


def ops_for_rows(db, table: str, row_ids: Sequence[str]) -> dict[str, list[OpRecord]]:
    grouped: dict[str, list[OpRecord]] = defaultdict(list)
    for chunk in chunks(list(row_ids)):
        marks = ",".join("?" * len(chunk))
        # By the stored row id (db/opstore.py): the (table, row id) index serves the look-up.
        cursor = db.execute_sql(
            f"select {_OP_COLUMNS} from oplog where tbl = ? and rid in ({marks})", (table, *map(opstore.rid, chunk)))
        for row in cursor:
            grouped[row[3]].append(_op_from_row(row, db))
    return grouped


def _column_defaults(model: type[SyncedModel]) -> dict[str, Any]:
    defaults = {}
    for f in model._meta.sorted_fields:
        default = f.default() if callable(f.default) else f.default
        defaults[f.column_name] = default
    return defaults


def _columns(model: type[SyncedModel]) -> list[str]:
    return [f.column_name for f in model._meta.sorted_fields]


def last_counter(store) -> int:
    """The counter of this node's newest op (0 before the first write)."""
    row = store.db.execute_sql("select value from meta where key = 'op_counter'").fetchone()
    return int(row[0]) if row and row[0] else 0


def _save_position(store, counter: int) -> None:
    store.set_meta(op_counter=str(counter), hlc=store.clock.last)


def write(store, model: type[SyncedModel], rows: Iterable[dict[str, Any]], *, kind: str = "edit",
          user: str | None = None) -> list[Change]:
    """Write rows of one synced table and append their ops, in one transaction.

    Each row is a dict of column values; with an "id" of an existing row it is an update of just
    those columns, otherwise a creation (a new UUIDv7 id when none is given). Returns the changes.
    """
    table = model._meta.table_name
    columns = _columns(model)
    known = set(columns)
    # Callers may name foreign keys by field ("household") or column ("household_id").
    renames = {f.name: f.column_name for f in model._meta.sorted_fields if f.name != f.column_name}
    rows = [{renames.get(k, k): v for k, v in r.items()} if renames and not renames.keys().isdisjoint(r)
            else dict(r) for r in rows]
    if not rows:
        return []
    checked: set[tuple[str, ...]] = set()  # column sets known to be valid (checked once each)
    for r in rows:
        keys = tuple(r)
        if keys not in checked:
            unknown = set(keys) - known
            if unknown:
                raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
            checked.add(keys)
    db = store.db
    user = user or store.user
    if table != "audit_entry" and getattr(store, "session", None) is not None:
        from db.accounts.session import require_write

        require_write(store)  # a read-only account changes nothing (its audit entries excepted)
    with db.atomic():
        given = [r["id"] for r in rows if r.get("id")]
        existing: set[str] = set()
        for chunk in chunks(given):
            marks = ",".join("?" * len(chunk))
            existing.update(x for (x,) in db.execute_sql(
                f'select id from "{table}" where id in ({marks})', tuple(chunk)))
        if existing and table == "audit_entry":
            raise PermissionError("the audit trail is append-only")
        history = ops_for_rows(db, table, sorted(existing)) if existing else {}
        counter = last_counter(store)
        defaults = _column_defaults(model)
        log_rows: list[tuple] = []
        inserts: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        required = frozenset({"id"} | {c for c, v in defaults.items() if v is not None})
        updates: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        changes: list[Change] = []
        insert_specs: dict[tuple[str, ...], tuple] = {}
        node, schema = store.node_id, migrations.SCHEMA_VERSION
        op_prefix = f"{node}:"
        pack = (packer := opfields.Packer(db)).pack
        prev = chains.tip(db, node, counter)
        for r, stamp in zip(rows, store.tick_many(len(rows)), strict=True):
            row_id = r.pop("id", None) or new_id()
            # A resolution settles only the chosen column; it must not undo a delete elsewhere.
            if kind not in ("redact", "resolve") and "deleted" not in r:
                r["deleted"] = 0
            supersedes: dict[str, list[str]] = {}
            created = row_id not in existing
            if not created:
                past = history.get(row_id, ())
                if len(past) == 1 and not past[0].supersedes and past[0].kind != "redact":
                    # The common case: a row written once; it is the only candidate of its columns.
                    only, seen_fields = past[0].id, past[0].fields
                    supersedes = {column: [only] for column in r if column in seen_fields}
                elif past:
                    live = resolve(past).live
                    for column in r:
                        seen = live.get(column)
                        if seen:
                            supersedes[column] = sorted(o.id for o in seen)
            counter += 1
            # The op's stored form, built here (no OpRecord needed on the write path).
            log_rows.append((node, counter, table, row_id, pack(r), _dumps(supersedes) if supersedes else "{}",
                             stamp, user, schema, kind, prev))
            if prev is not None:
                prev = chains.digest(node, counter, table, row_id, r, supersedes, stamp, user, schema, kind, prev)
            if created:
                # Only the given columns and those with a non-NULL default: binding a long row of
                # NULLs costs as much as real values.
                given_keys = tuple(r)
                spec = insert_specs.get(given_keys)
                if spec is None:
                    spec = insert_specs[given_keys] = _narrow_spec(given_keys, known, required, defaults)
                inserts[spec[0]].append((row_id, *spec[1](r), *spec[2]))
                existing.add(row_id)
            else:
                key = tuple(sorted(r))
                updates[key].append(tuple(r[c] for c in key) + (row_id,))
            changes.append(Change(table, row_id, r, op_prefix + str(counter), created))
        cursor = db.cursor()
        packer.flush()
        opstore.insert_rows(db, log_rows)
        for key, params in inserts.items():
            col_sql = ",".join(f'"{c}"' for c in key)
            cursor.executemany(f'insert into "{table}" ({col_sql}) values ({",".join("?" * len(key))})',
                               params)
        has_conflicts = bool(updates) and db.execute_sql(
            "select exists(select 1 from conflict where tbl = ?)", (table,)).fetchone()[0]
        for key, params in updates.items():
            sets = ",".join(f'"{c}" = ?' for c in key)
            cursor.executemany(f'update "{table}" set {sets} where id = ?', params)
            # A person's write on a column settles any conflict on it.
            for column in key if has_conflicts else ():
                cursor.executemany("delete from conflict where tbl = ? and row_id = ? and field = ?",
                                   [(table, p[-1], column) for p in params])
        _save_position(store, counter)
        _run_hooks(store, table, [c.row_id for c in changes])
    return changes


def delete(store, model: type[SyncedModel], row_ids: Iterable[str]) -> list[Change]:
    """Tombstone rows (deleted = 1); nothing is removed from the database."""
    return write(store, model, [{"id": rid, "deleted": 1} for rid in row_ids])


# -- applying ops from elsewhere -------------------------------------------------------------------

@dataclass
class ApplyResult:
    new_ops: int = 0
    duplicate_ops: int = 0
    rows_changed: int = 0
    conflicts: int = 0
    skewed: bool = False
    copied_node_detected: bool = False
    unknown_columns: set[str] = field(default_factory=set)


def _known_ops(db, ops: Sequence[OpRecord], nodes: set[str] | None = None) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for node in set(map(attrgetter("node"), ops)) if nodes is None else nodes:
        if db.execute_sql("select not exists(select 1 from oplog where node = ?)", (node,)).fetchone()[0]:
            continue  # nothing of this node here yet (e.g. a full handover into a new database)
        counters = [op.counter for op in ops if op.node == node]
        lo, hi = min(counters), max(counters)
        for (c,) in db.execute_sql("select counter from oplog where node = ? and counter between ? and ?",
                                   (node, lo, hi)):
            found.add((node, c))
    return found


def fresh_ops(db, ops: Sequence[OpRecord]) -> list[OpRecord]:
    """The ops that are not in the log yet, each once, in their order."""
    if not ops:
        return []
    nodes = set(map(attrgetter("node"), ops))
    known = _known_ops(db, ops, nodes)
    if not known:
        # The common case: all new, none twice (one sender: its counters are enough).
        distinct = len(set(map(attrgetter("counter"), ops))) if len(nodes) == 1 else \
            len(set(map(attrgetter("node", "counter"), ops)))
        if distinct == len(ops):
            return list(ops)
    fresh: list[OpRecord] = []
    seen = known  # ops already here, then those taken
    for op in ops:
        key = (op.node, op.counter)
        if key not in seen:
            seen.add(key)
            fresh.append(op)
    return fresh


def group_ops(ops: Iterable[OpRecord]) -> dict[str, dict[str, OpRecord | list[OpRecord]]]:
    """Per table, per row: the row's op, or the list of its ops when there are several (one pass)."""
    by_table: dict[str, dict[str, OpRecord | list[OpRecord]]] = {}
    for op in ops:
        rows = by_table.get(op.tbl)
        if rows is None:
            rows = by_table[op.tbl] = {}
        row_id = op.row_id
        found = rows.get(row_id)
        if found is None:
            rows[row_id] = op
        elif type(found) is list:
            found.append(op)
        else:
            rows[row_id] = [found, op]
    return by_table


def apply_ops(store, ops: Sequence[OpRecord], *, rotate: bool = True) -> ApplyResult:
    """Merge ops written elsewhere; idempotent. Call inside the caller's transaction or alone.

    With rotate=False a detected copy of this database is only reported (the caller rotates the
    node id after its own transaction commits, or not at all for a dry run).
    """
    db = store.db
    with db.atomic():
        fresh = fresh_ops(db, ops)
        result = merge_fresh(store, fresh, group_ops(fresh))
        result.duplicate_ops = len(ops) - len(fresh)
    if result.copied_node_detected and rotate:
        store.rotate_node_id()
    return result


MERGE_STEP = 20_000  # ops inserted, or rows merged, between two progress reports
BULK_ROWS = 5_000  # from this many rows into an empty table, its indexes are built after the load


def _empty(db, table: str) -> bool:
    return not db.execute_sql(f'select exists(select 1 from "{table}")').fetchone()[0]


def _drop_indexes(db, table: str) -> list[str]:
    """Drop the secondary indexes of `table` (inside the caller's transaction); returns their SQL."""
    found = db.execute_sql("select name, sql from sqlite_master where type = 'index' and tbl_name = ? "
                           "and sql is not null order by name", (table,)).fetchall()
    for name, _sql in found:
        db.execute_sql(f'drop index "{name}"')
    return [sql for _name, sql in found]


def _bulk_tables(db, grouped: dict[str, dict]) -> list[str]:
    """The tables a bulk merge loads from empty: their indexes are built once after the load
    (sorted, packed pages) instead of row by row. Only while row hooks are deferred, so nothing
    reads these tables before the indexes are back (all inside the merge's transaction)."""
    if not _deferred:
        return []
    return [t for t, rows in grouped.items()
            if len(rows) >= BULK_ROWS and synced_model(t) is not None and _empty(db, t)]


def merge_fresh(store, fresh: Sequence[OpRecord], grouped: dict[str, dict[str, OpRecord | list[OpRecord]]],
                *, order: dict[str, list[str]] | None = None, step=None) -> ApplyResult:
    """Merge ops that are not in the log (each once; see fresh_ops), grouped by group_ops.

    order: per table the row ids in the order to write them (sorted when not given).
    step(done, total) is called between parts of the work (progress; it may raise to cancel).
    Does not rotate the node id: the result says whether this database is a copy.
    """
    result = ApplyResult()
    if not fresh:
        return result
    db = store.db
    with db.atomic():
        result.copied_node_detected = store.node_id in set(map(attrgetter("node"), fresh))
        # Rows that had ops here before are read back from the log; the others are made from the
        # incoming ops alone.
        had_history = {table: _rows_with_ops(db, table, rows) for table, rows in grouped.items()}
        total = len(fresh) + sum(len(rows) for rows in grouped.values())
        # Into an empty log (a handover to a new database): the (tbl, row_id) index is built after.
        log_indexes = _drop_indexes(db, opstore.STORE) if (
            _deferred and len(fresh) >= BULK_ROWS and _empty(db, opstore.STORE)) else []
        packer = opfields.Packer(db)
        for start in range(0, len(fresh), MERGE_STEP):
            part = fresh[start:start + MERGE_STEP]
            rows = [(*row, op.prev) for row, op in zip(stored_rows(part, packer), part, strict=True)]
            packer.flush()
            opstore.insert_rows(db, rows)
            if step:
                step(min(start + MERGE_STEP, len(fresh)), total)
        for index_sql in log_indexes:
            db.execute_sql(index_sql)
        result.new_ops = done = len(fresh)
        table_indexes = [sql for table in _bulk_tables(db, grouped) for sql in _drop_indexes(db, table)]
        if store.observe(max(map(attrgetter("hlc"), fresh))):
            result.skewed = True
        for table, rows in grouped.items():
            model = synced_model(table)
            if model is None:
                done += len(rows)
                continue  # a table of a newer schema: kept in the log, applied after an upgrade
            ids = order[table] if order and table in order else sorted(rows)
            for start in range(0, len(ids), MERGE_STEP):
                chunk = ids[start:start + MERGE_STEP]
                changed, conflicts, unknown = _materialize(store, model, chunk, rows, had_history[table])
                result.rows_changed += changed
                result.conflicts += conflicts
                result.unknown_columns |= unknown
                done += len(chunk)
                if step:
                    step(done, total)
        for index_sql in table_indexes:
            db.execute_sql(index_sql)
        store.set_meta(hlc=store.clock.last)
    return result


def _rows_with_ops(db, table: str, row_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    if not db.execute_sql("select exists(select 1 from oplog where tbl = ?)", (table,)).fetchone()[0]:
        return found  # nothing of this table here yet (e.g. a full handover into a new database)
    for chunk in chunks(list(row_ids)):
        marks = ",".join("?" * len(chunk))
        found.update(x for (x,) in db.execute_sql(
            f"select distinct row_id from oplog where tbl = ? and rid in ({marks})", (table, *map(opstore.rid, chunk))))
    return found


def _narrow_spec(given: tuple[str, ...], known: set[str], required: frozenset,
                 defaults: dict[str, Any]) -> tuple | None:
    """For new rows made of one op with the columns `given` (in this order): (insert columns,
    values getter, default tail); None when those columns cannot be inserted as they are."""
    if "id" in given or not known.issuperset(given):
        return None
    extra = [c for c in sorted(required) if c not in given and c != "id"]
    if len(given) > 1:
        getter = itemgetter(*given)
    elif given:
        only = given[0]

        def getter(values):
            return (values[only],)
    else:
        def getter(values):
            return ()
    return ("id", *given, *extra), getter, tuple(defaults[c] for c in extra)


def materialize(store, model: type[SyncedModel], row_ids: Sequence[str],
                preloaded: dict[str, list[OpRecord]] | None = None) -> tuple[int, int, set[str]]:
    """Recompute rows from all their ops; upsert them and refresh their conflicts.

    preloaded: for rows whose every op is known to the caller (new rows), those ops.
    """
    preloaded = preloaded or {}
    return _materialize(store, model, row_ids, preloaded, {rid for rid in row_ids if rid not in preloaded})


_NOT_YET = object()


def _materialize(store, model: type[SyncedModel], row_ids: Sequence[str],
                 incoming: dict[str, OpRecord | list[OpRecord]], read_back: set[str]) -> tuple[int, int, set[str]]:
    """materialize: rows in read_back are read from the log; for the others `incoming` holds
    every op they have (one op, or a list)."""
    db = store.db
    table = model._meta.table_name
    columns = _columns(model)
    known = set(columns)
    defaults = _column_defaults(model)
    to_read = [rid for rid in row_ids if rid in read_back] if read_back else []
    history = ops_for_rows(db, table, to_read) if to_read else {}
    upserts: list[tuple] = []
    conflict_rows: list[tuple] = []
    unknown: set[str] = set()
    n_conflicts = 0
    row_tuple = itemgetter(*columns)
    # Rows new here made by one op: insert just their columns and those with a non-NULL default
    # (binding a long row of NULLs costs as much as real values), grouped by column set.
    required = frozenset({"id"} | {c for c, v in defaults.items() if v is not None})
    narrow: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    specs: dict[tuple[str, ...], tuple | None] = {}
    for row_id in row_ids:
        if history and row_id in history:
            ops = history[row_id]
        else:
            ops = incoming.get(row_id, ())
            if type(ops) is not list and type(ops) is not tuple:
                # The common case of a bulk handover: a row new here made by one op.
                if not ops.supersedes:
                    values = ops.fields
                    key = tuple(values)
                    spec = specs.get(key, _NOT_YET)
                    if spec is _NOT_YET:
                        spec = specs[key] = _narrow_spec(key, known, required, defaults)
                    if spec is not None:
                        narrow[key].append((row_id, *spec[1](values), *spec[2]))
                        continue
                ops = [ops]
        if len(ops) == 1 and not ops[0].supersedes:
            # One op made the row; it is the value.
            values = ops[0].fields
            full = dict(defaults)
            if values.keys() <= known:
                full.update(values)
            else:
                full.update((k, v) for k, v in values.items() if k in known)
                unknown.update(k for k in values if k not in known)
            full["id"] = row_id
            upserts.append(row_tuple(full))
            continue
        full = dict(defaults)
        resolved = resolve(ops)
        for column, value in resolved.values.items():
            if column in known:
                full[column] = value
            else:
                unknown.add(column)
        full["id"] = row_id
        upserts.append(row_tuple(full))
        for column, candidates in resolved.conflicts.items():
            conflict_rows.append((table, row_id, column, candidates[0].hlc))
            n_conflicts += 1
    cursor = db.cursor()
    for key, params in narrow.items():
        cols = specs[key][0]
        # "or replace": a row left in the table without ops (never expected) becomes defaults + values.
        col_sql = ",".join(f'"{c}"' for c in cols)
        cursor.executemany(f'insert or replace into "{table}" ({col_sql}) values ({",".join("?" * len(cols))})',
                           params)
    col_sql = ",".join(f'"{c}"' for c in columns)
    sets = ",".join(f'"{c}" = excluded."{c}"' for c in columns if c != "id")
    if upserts:
        cursor.executemany(
            f'insert into "{table}" ({col_sql}) values ({",".join("?" * len(columns))}) '
            f"on conflict(id) do update set {sets}", upserts)
    for chunk in chunks(to_read):  # rows new here have no conflicts to clear
        marks = ",".join("?" * len(chunk))
        db.execute_sql(f"delete from conflict where tbl = ? and row_id in ({marks})", (table, *chunk))
    cursor.executemany("insert into conflict (tbl, row_id, field, detected_hlc) values (?,?,?,?)",
                       conflict_rows)
    _run_hooks(store, table, row_ids)
    return len(upserts) + sum(map(len, narrow.values())), n_conflicts, unknown


def rematerialize_newer(store, since_schema: int) -> int:
    """After an upgrade: apply the kept ops written by a newer schema than `since_schema`."""
    db = store.db
    affected: dict[str, list[str]] = defaultdict(list)
    for tbl, row_id in db.execute_sql(
            "select distinct tbl, row_id from oplog where schema > ? order by tbl, row_id", (since_schema,)):
        affected[tbl].append(row_id)
    total = 0
    with db.atomic():
        for table, row_ids in affected.items():
            model = synced_model(table)
            if model is not None:
                total += materialize(store, model, row_ids)[0]
    return total


# -- rebuild and check ----------------------------------------------------------------------------

def iter_resolved(db, model: type[SyncedModel]) -> Iterator[tuple[str, Resolved]]:
    table = model._meta.table_name
    # In stored row id order (the index's): each row's ops come together.
    cursor = db.execute_sql(f"select {_OP_COLUMNS} from oplog where tbl = ? order by rid", (table,))
    current: str | None = None
    group: list[OpRecord] = []
    for row in cursor:
        if row[3] != current and group:
            yield current, resolve(group)
            group = []
        current = row[3]
        group.append(_op_from_row(row, db))
    if group:
        yield current, resolve(group)


def compare_with_log(store, models: Sequence[type[SyncedModel]] | None = None,
                     limit: int = 20) -> list[dict[str, Any]]:
    """Differences between the tables and a rebuild from the op log (empty when they agree)."""
    db = store.db
    problems: list[dict[str, Any]] = []
    for model in models or SYNCED_MODELS:
        table = model._meta.table_name
        columns = _columns(model)
        defaults = _column_defaults(model)
        col_sql = ",".join(f'"{c}"' for c in columns)
        id_index = columns.index("id")
        actual = {r[id_index]: r for r in db.execute_sql(f'select {col_sql} from "{table}"')}
        for row_id, resolved in iter_resolved(db, model):
            row = actual.pop(row_id, None)
            if row is None:
                problems.append({"table": table, "row_id": row_id, "problem": "missing_row"})
                continue
            for i, column in enumerate(columns):
                if column == "id":
                    continue
                expected = resolved.values.get(column, defaults[column])
                if row[i] != expected:
                    problems.append({"table": table, "row_id": row_id, "problem": "value",
                                     "column": column, "table_value": row[i], "log_value": expected})
            if len(problems) >= limit:
                return problems
        for row_id in actual:
            problems.append({"table": table, "row_id": row_id, "problem": "row_without_ops"})
            if len(problems) >= limit:
                return problems
    return problems


def rebuild(store, models: Sequence[type[SyncedModel]] | None = None) -> int:
    """Replace the tables' content with what the op log says; returns rows written."""
    db = store.db
    total = 0
    with db.atomic():
        for model in models or SYNCED_MODELS:
            table = model._meta.table_name
            columns = _columns(model)
            defaults = _column_defaults(model)
            db.execute_sql(f'delete from "{table}"')
            db.execute_sql("delete from conflict where tbl = ?", (table,))
            batch: list[tuple] = []
            conflicts: list[tuple] = []
            col_sql = ",".join(f'"{c}"' for c in columns)
            sql = f'insert into "{table}" ({col_sql}) values ({",".join("?" * len(columns))})'
            for row_id, resolved in iter_resolved(db, model):
                full = dict(defaults)
                full.update({k: v for k, v in resolved.values.items() if k in full})
                full["id"] = row_id
                batch.append(tuple(full[c] for c in columns))
                for column, candidates in resolved.conflicts.items():
                    conflicts.append((table, row_id, column, candidates[0].hlc))
                if len(batch) >= 5000:
                    db.cursor().executemany(sql, batch)
                    total += len(batch)
                    batch = []
            db.cursor().executemany(sql, batch)
            total += len(batch)
            db.cursor().executemany(
                "insert into conflict (tbl, row_id, field, detected_hlc) values (?,?,?,?)", conflicts)
            if _hooks(store, table):
                ids = [r[0] for r in db.execute_sql(f'select id from "{table}"')]
                _run_hooks(store, table, ids)
    return total


def load_ops(db, since: dict[str, int] | None = None) -> Iterator[OpRecord]:
    """Ops in (node, counter) order, skipping per node those at or below `since[node]`."""
    since = since or {}
    for row in db.execute_sql(f"select {_OP_COLUMNS} from oplog order by node, counter"):
        if row[1] > since.get(row[0], 0):
            yield _op_from_row(row, db)


def version_vector(db) -> dict[str, int]:
    """Per node, the highest counter such that every op up to it is here (no gaps)."""
    vector: dict[str, int] = {}
    for node, count, top in db.execute_sql("select node, count(*), max(counter) from oplog group by node"):
        if count == top:
            vector[node] = top
        else:
            expected = 0
            for (c,) in db.execute_sql("select counter from oplog where node = ? order by counter", (node,)):
                if c != expected + 1:
                    break
                expected = c
            vector[node] = expected
    return vector
