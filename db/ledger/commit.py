"""Committing a previewed import, all or nothing, and undoing a whole import as one step.

A backup is made first; then the file is read and checked again a block of rows at a time (the
preview keeps only counts and samples), and each block's places, households, persons and
memberships are written through db.oplog.write in bulk, all inside one transaction (a cancel or
an error, in any block, rolls everything back). The
import's ops are one contiguous counter range of this node, recorded as an ImportBatch. Undo
writes new ops that restore the previous values and tombstone the rows the import created; the
log keeps every entry.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from peewee import SQL

from db import oplog
from db.bulk import checkpoint_deferred
from db.errors import Cancelled, GridDeskError, ValidationError, ValidationErrors
from db.ids import new_id
from db.ledger.preview import Checker, HouseholdPlan, Preview, RowResult, build_preview, log_position
from db.ledger.progress import bounded_cache, gc_paused, step
from db.ledger.register_snapshot import Snapshot
from db.models.ledger import ImportBatch
from db.models.register import Building, Compound, Grid, Household, Membership, Person, Unit
from db.oplog import chunks
from db.register import index as search_index  # importing db.register installs the index hooks
from i18n import _, ngettext

CHUNK = 5000
CHANGES_KEPT = 5_000  # changes handed back to the views; a bigger import refreshes them whole


@dataclass
class ImportResult:
    batch_id: str | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    households_created: int = 0
    backup: str | None = None
    error_workbook: str | None = None  # where the skipped rows were written, if any
    # What was written (the first CHANGES_KEPT changes, and one of each table written after them).
    changes: list[oplog.Change] = field(default_factory=list)


def issue_errors(rows) -> list[ValidationError]:
    out = []
    for r in rows:
        for issue in r.errors:
            out.append(ValidationError(
                _("Sheet “{sheet}”, row {row}, column “{column}”: {message}").format(
                    sheet=r.sheet, row=r.row, column=issue.column, message=issue.message),
                field=issue.field, row=r.row))
    return out


def row_errors(preview: Preview) -> list[ValidationError]:
    return issue_errors(preview.error_rows())


@gc_paused()
def commit_import(store, preview: Preview, *, skip_invalid: bool = False, state=None,
                  backup: bool = True) -> ImportResult:
    """Write the previewed rows; invalid rows stop everything unless skip_invalid.

    The file is read and checked again as it is written, a block of rows at a time, all inside one
    transaction: a row that fails now (the register changed since the preview) rolls back every
    block written before it."""
    if preview.has_errors and not skip_invalid:
        raise ValidationErrors(row_errors(preview))
    if not (preview.count("create") or preview.count("update")):
        return ImportResult(None, unchanged=preview.count("unchanged"), skipped=preview.count("error"))
    from db.backup import make_backup

    backup_path = str(make_backup(store, "import")) if backup else None
    with bounded_cache(store), checkpoint_deferred(store), store.db.atomic():
        if log_position(store) != preview.log_position:
            # The register changed since the preview: check the file again inside this transaction.
            preview = build_preview(store, preview.plan, state=state)
            if preview.has_errors and not skip_invalid:
                raise ValidationErrors(row_errors(preview))
        first = oplog.last_counter(store) + 1
        with search_index.deferred(store):  # the register's search index follows once, at the end
            result = _write(store, preview, state, skip_invalid)
            step(state, 0, 0, _("Updating the search index…"))
        result.backup = backup_path
        last = oplog.last_counter(store)
        if last >= first:
            result.batch_id = new_id()
            with store.activated():
                ImportBatch.insert(
                    id=result.batch_id, at=dt.datetime.now().isoformat(timespec="seconds"), user=store.user,
                    file_name=preview.plan.path.name, node=store.node_id, first_counter=first,
                    last_counter=last, created=result.created, updated=result.updated,
                    skipped=result.skipped).execute()
        # The last look at the cancel flag, right before the commit (after the index refresh, which
        # takes seconds for a big import): a cancel until now leaves nothing written.
        if state is not None and state.is_cancelled():
            raise Cancelled(_("The work was cancelled; nothing was changed."))
    return result


def _write(store, preview: Preview, state, skip_invalid: bool) -> ImportResult:
    # The preview's view of the register is current (the log has not moved): reuse it. The place
    # maps are copied because new places are added to them while writing.
    snapshot = copy.copy(preview.snapshot) if preview.snapshot is not None else Snapshot.load(store)
    for name in ("grids", "compounds", "buildings", "units"):
        setattr(snapshot, name, dict(getattr(snapshot, name)))
    checker = Checker(preview.plan, preview.snapshot or snapshot, relations_in_file=preview.relations_in_file,
                      households=preview.households if preview.snapshot is not None else None, state=state,
                      text=_("Writing persons…"))
    writer = _Writer(store, snapshot, state, checker.total)
    result = writer.result
    for block in checker.blocks(store):
        rows = []
        for r in block:
            if r.action in ("create", "update"):
                rows.append(r)
            elif r.action == "unchanged":
                result.unchanged += 1
            else:
                if not skip_invalid:
                    raise ValidationErrors(issue_errors([r]))
                result.skipped += 1
        if rows:
            writer.write(checker.households, rows)
    return result


class _Writer:
    """Writes checked rows a block at a time: places, households, persons and memberships, each
    through db.oplog.write in bulk (one op per row)."""

    def __init__(self, store, snapshot: Snapshot, state=None, total: int = 0):
        self.store, self.state, self.total = store, state, total
        self.done = 0  # rows written
        self.places = _Places(snapshot)
        self.household_id: dict[tuple, str] = {}  # household key -> id (existing or written)
        self.result = ImportResult(None)
        self.seen_tables: set[str] = set()
        self.today = dt.date.today().isoformat()

    def _keep(self, written: list[oplog.Change]) -> None:
        changes = self.result.changes
        room = CHANGES_KEPT - len(changes)
        if room > 0:
            changes.extend(written[:room])
        if written and written[0].table not in self.seen_tables:
            self.seen_tables.add(written[0].table)
            if room < len(written):
                changes.append(written[-1])

    def _write(self, model, rows: list[dict[str, Any]]) -> list[oplog.Change]:
        out: list[oplog.Change] = []
        for chunk in chunks(rows, CHUNK):
            written = oplog.write(self.store, model, chunk)
            self._keep(written)
            out.extend(written)
            step(self.state, min(self.done, self.total), self.total, _("Writing persons…"))
        return out

    def write(self, households: dict[tuple, HouseholdPlan], rows: list[RowResult]) -> None:
        result, household_id = self.result, self.household_id
        # Households this block's rows belong to that are not written yet (a household whose rows
        # all failed is not made): places first, found or created by name.
        new: list[HouseholdPlan] = []
        for r in rows:
            key = r.household_key
            if key is None or key in household_id:
                continue
            hp = households[key]
            if hp.household_id is None:
                new.append(hp)
                household_id[key] = ""  # written below
            else:
                household_id[key] = hp.household_id
                if hp.diff:
                    self._write(Household, [{"id": hp.household_id, **hp.diff}])
        creates = []
        for hp in new:
            unit_id, grid_id = self.places.ids(hp.place)
            creates.append({"unit_id": unit_id, "grid_id": grid_id, **hp.fields})
        for model, pending in self.places.take():
            self._write(model, pending)
        # New rows are written without an id: the op log then gives each a fresh UUIDv7 and skips
        # looking it up; the returned changes come back in row order.
        written = self._write(Household, creates)
        household_id.update(zip((hp.key for hp in new), (c.row_id for c in written), strict=True))
        result.households_created += len(creates)
        # Persons: creations, then updates of the changed fields only.
        fresh = [r for r in rows if r.person_id is None]
        written = self._write(Person, [r.person for r in fresh])
        person_id = {id(r): c.row_id for r, c in zip(fresh, written, strict=True)}
        result.created += len(fresh)
        updates = []
        for r in rows:
            if r.person_id is not None:
                person_id[id(r)] = r.person_id
                fields = {k: new for k, _old, new in r.diff if k in r.person}
                if fields:
                    updates.append({"id": r.person_id, **fields})
                result.updated += 1
        self._write(Person, updates)
        # Memberships: join the household; a person who moved leaves the old one (history is kept).
        today = self.today
        members = []
        for r in rows:
            if r.household_key is None:
                continue
            pid, hid = person_id[id(r)], household_id[r.household_key]
            current = (r.memberships or []) if r.person_id else []
            same = [m for m in current if m[1] == hid]
            if same:
                if r.relation and same[0][2] != r.relation:
                    members.append({"id": same[0][0], "relation": r.relation})
                continue
            for mid, _hid, _rel in current:
                members.append({"id": mid, "until": today})
            # Joined when the ledger says they moved in; a known person who changed households, today.
            since = r.person.get("move_in_date") or (today if current else None)
            member = {"household_id": hid, "person_id": pid, "relation": r.relation}
            if since:
                member["since"] = since
            members.append(member)
        self._write(Membership, members)
        self.done += len(rows)


class _Places:
    """Find or create grid, compound, building and unit rows by name; new ones written in bulk."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.pending: dict[type, list[dict[str, Any]]] = {Grid: [], Compound: [], Building: [], Unit: []}

    def _get(self, model, key_map: dict, key, **values) -> str:
        found = key_map.get(key)
        if found is None:
            found = new_id()
            self.pending[model].append({"id": found, **values})
            key_map[key] = found
        return found

    def ids(self, place: tuple) -> tuple[str | None, str | None]:
        s = self.snapshot
        grid, compound, building, unit = s.effective_place(place)
        gid = self._get(Grid, s.grids, grid, name=grid) if grid else None
        if not (building or unit):
            return None, gid
        cid = self._get(Compound, s.compounds, compound, name=compound, grid_id=gid)
        bid = self._get(Building, s.buildings, (cid, building), name=building, compound_id=cid)
        uid = self._get(Unit, s.units, (bid, unit), name=unit, building_id=bid)
        return uid, gid

    def take(self) -> list[tuple[type, list[dict[str, Any]]]]:
        """The new places found since the last call, by table in writing order."""
        out = [(model, rows) for model, rows in self.pending.items() if rows]
        self.pending = {Grid: [], Compound: [], Building: [], Unit: []}
        return out


# -- undo -------------------------------------------------------------------------------------------

MODELS = {m._meta.table_name: m for m in (Grid, Compound, Building, Unit, Household, Person, Membership)}


def list_batches(store) -> list[ImportBatch]:
    with store.activated():
        # Newest first; rowid is the insertion order (two imports may share a second).
        return list(ImportBatch.select().order_by(SQL("rowid").desc()))


def undo_import(store, *, batch_id: str, state=None) -> list[oplog.Change]:
    """Undo one import with new ops: created rows are tombstoned, updated columns get their old value
    back unless someone changed them since (those are left as they are)."""
    with store.activated():
        batch = ImportBatch.get_or_none(ImportBatch.id == batch_id)
    if batch is None:
        raise GridDeskError(_("There is no import with the id {id}.").format(id=batch_id))
    if batch.undone_at:
        raise GridDeskError(_("This import was already undone on {at}.").format(at=batch.undone_at))
    with store.activated():
        later = (ImportBatch.select().where((ImportBatch.undone_at.is_null()) & (ImportBatch.id != batch.id)
                                            & (ImportBatch.at >= batch.at)).order_by(ImportBatch.at.desc()))
        later = [b for b in later if (b.at, b.node, b.first_counter) > (batch.at, batch.node, batch.first_counter)]
    if later:
        # Imports are undone newest first: a later one may have updated rows this one created.
        raise GridDeskError(_("The import of “{file}” ({at}) came after this one: undo it first.").format(
            file=later[0].file_name or "?", at=later[0].at.replace("T", " ")))
    db = store.db
    changes: list[oplog.Change] = []
    with db.atomic():
        by_table: dict[str, list[str]] = {}
        for tbl, row_id in db.execute_sql(
                "select tbl, row_id from oplog where node = ? and counter between ? and ? order by counter",
                (batch.node, batch.first_counter, batch.last_counter)):
            by_table.setdefault(tbl, []).append(row_id)
        order = ["membership", "person", "household", "unit", "building", "compound", "grid"]
        # Progress by rows: reading a table's history, then writing its rows, count one each.
        total = 2 * sum(len(set(ids)) for ids in by_table.values()) + 1
        done = 0
        with search_index.deferred(store):
            for tbl in (t for t in order if t in by_table):
                step(state, done, total, _("Undoing the import…"))
                model = MODELS[tbl]
                rows = sorted(set(by_table[tbl]))
                writes = _undo_rows(db, model, rows, batch)
                done += len(rows)
                step(state, done, total, _("Undoing the import…"))
                for chunk in chunks(writes, CHUNK):
                    changes.extend(oplog.write(store, model, chunk))
                    done += len(chunk)
                    step(state, done, total, _("Undoing the import…"))
                done += len(rows) - len(writes)
            step(state, total - 1, total, _("Updating the search index…"))
        with store.activated():
            ImportBatch.update(undone_at=dt.datetime.now().isoformat(timespec="seconds")).where(
                ImportBatch.id == batch_id).execute()
    return changes


def _undo_rows(db, model, row_ids: list[str], batch: ImportBatch) -> list[dict[str, Any]]:
    table = model._meta.table_name
    history = oplog.ops_for_rows(db, table, row_ids)
    columns = [f.column_name for f in model._meta.sorted_fields]
    current = {}
    col_sql = ",".join(f'"{c}"' for c in columns)
    for chunk in chunks(row_ids, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.execute_sql(f'select {col_sql} from "{table}" where id in ({marks})', tuple(chunk)):
            current[row[columns.index("id")]] = dict(zip(columns, row, strict=True))
    writes = []
    edited: list[str] = []  # rows this import created that were changed since (by hand, by a merge)
    defaults = oplog._column_defaults(model)
    for row_id in row_ids:
        ops = history.get(row_id, [])
        mine = [o for o in ops if o.node == batch.node and batch.first_counter <= o.counter <= batch.last_counter]
        before = [o for o in ops if o not in mine and o.hlc < min(m.hlc for m in mine)]
        now = current.get(row_id, {})
        if not before:
            if not now.get("deleted"):
                made = {**defaults, **oplog.resolve(mine).values}
                if any(now.get(c) != made.get(c) for c in columns if c not in ("deleted", "id")):
                    edited.append(row_id)
                writes.append({"id": row_id, "deleted": 1})
            continue
        if now.get("deleted"):
            continue  # deleted since: an undone update must not bring it back
        previous = oplog.resolve(before).values
        restore = {}
        for op in mine:
            for column, value in op.fields.items():
                if column in ("deleted", "id"):
                    continue
                if now.get(column) == value and previous.get(column) != value:
                    restore[column] = previous.get(column)
        if restore:
            writes.append({"id": row_id, **restore})
    if edited:
        raise GridDeskError(ngettext(
            "{n} record this import created was changed after the import; undoing the import would delete "
            "that change too. Nothing was undone.",
            "{n} records this import created were changed after the import; undoing the import would delete "
            "those changes too. Nothing was undone.", len(edited)).format(n=len(edited)))
    return writes
