"""The preview of an import: every row validated and matched with the register; nothing written.

A row whose ID number is already in the register becomes an update with a field-by-field diff
(an empty cell never erases a known value); a new ID number becomes a creation; an ID number seen
earlier in the file is flagged as a duplicate. Rows are grouped into households by 户号, else by
compound/building/unit/door, else by address.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.errors import GridDeskError, ValidationError
from db.ledger import cells
from db.ledger.address import fill_places
from db.ledger.mapping import (
    PERSON_FIELDS,
    Layout,
    auto_mapping,
    detect_layout,
    load_mapping,
    mapping_from_template,
)
from db.ledger.progress import bounded_cache, gc_paused, step
from db.ledger.readers import Sheet, read_file
from db.register.readings import PRIVATE_USE_CHECKED, private_use_message, private_use_search
from db.validation import id_conflicts
from i18n import _

_PERSON_SET = frozenset(PERSON_FIELDS)
PLACE_FIELDS = ("grid", "compound", "building", "unit")
HOUSEHOLD_FIELDS = {"household_number": "number", "door": "door", "house_use": "house_use",
                    "owner_name": "owner_name", "owner_phone": "owner_phone"}
_CACHED = {"sex", "ethnicity", "id_type", "relation", "political_status", "education", "marital_status",
           "health", "disability", "employment", "residence_status", "person_type", "grid", "compound",
           "building", "unit", "house_use",
           # Dates repeat across a community's rows (birthdays, move-in days): parsed once each.
           "birth_date", "move_in_date"}


@dataclass
class SheetPlan:
    sheet: Sheet
    layout: Layout
    mapping: dict[int, str]  # column index -> field


@dataclass
class ImportPlan:
    path: Path
    sheets: list[SheetPlan]
    skipped_sheets: list[str] = field(default_factory=list)
    # Where people live when no column says so (db/ledger/places_hint.py): {"grid": …, "compound": …}.
    default_places: dict[str, str] = field(default_factory=dict)


@gc_paused()
def plan_import(path: str | Path, *, store=None, mapping_name: str | None = None) -> ImportPlan:
    """Read the file, find each sheet's table and propose (or apply a saved) column mapping."""
    path = Path(path)
    saved = load_mapping(store, mapping_name) if mapping_name else None
    plans, skipped = [], []
    for sheet in read_file(path):
        try:
            layout = detect_layout(sheet)
        except Exception:  # noqa: BLE001 - a sheet without a table (notes, charts) is left out
            skipped.append(sheet.name)
            continue
        if saved is not None:
            mapping = mapping_from_template(layout.headers, saved)
        else:
            mapping = auto_mapping(layout.headers)
        plans.append(SheetPlan(sheet, layout, mapping))
    if not plans:
        sheets = read_file(path)
        if not sheets:
            raise GridDeskError(_("“{name}” contains no data.").format(name=path.name))
        detect_layout(sheets[0])  # raises the explanation for the first sheet
    return ImportPlan(path, plans, skipped)


@dataclass(slots=True)
class Issue:
    column: str
    field: str | None
    message: str


@dataclass(slots=True)
class RowResult:
    sheet: str
    row: int  # 1-based, as the spreadsheet shows it
    raw: list | None  # the cells as read (kept in the preview for rows with errors only)
    action: str = "create"  # create | update | unchanged | error
    person: dict[str, Any] = field(default_factory=dict)
    household_key: tuple | None = None
    household: tuple | None = None  # ((grid, compound, building, unit), {household column: value})
    relation: str | None = None
    person_id: str | None = None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    diff: list[tuple[str, Any, Any]] = field(default_factory=list)
    # The register's current memberships of an existing person: (membership, household, relation).
    memberships: list[tuple[str, str, str | None]] | None = None


@dataclass(slots=True)
class HouseholdPlan:
    key: tuple
    place: tuple  # (grid, compound, building, unit) names
    fields: dict[str, Any]
    household_id: str | None = None  # existing household
    diff: dict[str, Any] = field(default_factory=dict)
    used: bool = False  # a row without errors belongs to it
    # Until a head (户主) turns up in the file (for a household whose register names none): its
    # first rows ((sheet, row), name).
    headless: list[tuple[tuple[str, int], str]] | None = None


ACTIONS = ("create", "update", "unchanged", "error")
# Rows of each result kept for the preview's list and report (every row of a smaller file); the
# counts cover all rows. The commit reads the file again and checks each row the same way.
KEPT_ROWS = {"create": 2_000, "update": 5_000, "unchanged": 2_000, "error": 10_000}
BLOCK = 5_000  # rows checked, matched with the register (and written by the commit) at a time


@dataclass
class Preview:
    plan: ImportPlan
    rows: list[RowResult]  # the rows kept (see KEPT_ROWS), in file order
    households: dict[tuple, HouseholdPlan]
    ignored_rows: int = 0
    log_position: int = 0  # max(rowid) of the op log when the preview was made
    snapshot: Any = None  # the register as it was then (reused by the commit while still current)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    # Persons of the register that the file names, with the relation it gives them (row checks
    # that need the whole file: a head named elsewhere in the file may be stepping down).
    relations_in_file: dict[str, str | None] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return self.counts.get(action, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def complete(self) -> bool:
        """Whether `rows` holds every checked row (else the first ones of each result)."""
        return len(self.rows) == self.total

    @property
    def has_errors(self) -> bool:
        return self.counts.get("error", 0) > 0

    def error_rows(self) -> list[RowResult]:
        """The rows with errors that were kept (all of them up to KEPT_ROWS["error"])."""
        return [r for r in self.rows if r.action == "error"]

    def new_households(self) -> int:
        return sum(1 for hp in self.households.values() if hp.used and hp.household_id is None)


def log_position(store) -> int:
    return store.db.execute_sql("select coalesce(max(rowid), 0) from oplog_store").fetchone()[0]


@gc_paused()
def build_preview(store, plan: ImportPlan, *, state=None) -> Preview:
    """Validate every row of every planned sheet and match it with the register, one block of
    rows at a time; keep the counts and the first rows of each result (nothing is written)."""

    with bounded_cache(store):
        return _build_preview(store, plan, state)


def _build_preview(store, plan: ImportPlan, state) -> Preview:
    from db.ledger.register_snapshot import Snapshot

    position = log_position(store)
    snapshot = Snapshot.load(store)
    checker = Checker(plan, snapshot, state=state)
    preview = Preview(plan, [], checker.households, 0, position, snapshot,
                      relations_in_file=checker.relations_in_file)
    kept, counts = preview.rows, preview.counts
    for block in checker.blocks(store):
        for r in block:
            counts[r.action] += 1
            if counts[r.action] <= KEPT_ROWS[r.action]:
                if r.action != "error":
                    r.raw = None
                kept.append(r)
    # Heads that waited for the whole file: the register's head is not stepping down after all.
    late = checker.settle_heads()
    if late:
        kept_ids = {id(r) for r in kept}
        for r, was in late:
            counts[was] -= 1
            counts["error"] += 1
            if id(r) not in kept_ids and counts["error"] <= KEPT_ROWS["error"]:
                kept.append(r)
        order = {sp.sheet.name: i for i, sp in enumerate(plan.sheets)}
        kept.sort(key=lambda r: (order.get(r.sheet, 0), r.row))
    preview.ignored_rows = checker.ignored
    total = checker.total
    step(state, total, total, _("Checked {n} rows").format(n=total))
    return preview


class Checker:
    """Every row of a plan validated and matched with the register, in file order, a block of
    rows at a time (what the preview shows and what the commit writes come from the same checks).

    What a check needs from the rest of the file is kept compactly: the ID numbers seen (for
    duplicates), households by key, the head of each household. With `relations_in_file` given
    (the preview's, for the commit), a head row is decided at once; without, a row naming a new
    head of a register household whose head the file has not mentioned yet waits until the end
    (settle_heads)."""

    def __init__(self, plan: ImportPlan, snapshot, *, relations_in_file: dict[str, str | None] | None = None,
                 households: dict[tuple, HouseholdPlan] | None = None, state=None, text: str | None = None):
        self.plan, self.snapshot, self.state, self.text = plan, snapshot, state, text
        self.final = relations_in_file is not None
        self.relations_in_file: dict[str, str | None] = dict(relations_in_file or {})
        # The preview's, for the commit (the same matches, made once).
        self.households: dict[tuple, HouseholdPlan] = {} if households is None else households
        # Household key -> (sheet, row) of its head (户主) row in the file: where, not the row itself
        # (a full RowResult per household, cells and all, was most of the check's memory).
        self.heads: dict[tuple, tuple[str, int]] = {}
        self.waiting: dict[str, list[RowResult]] = {}  # register head -> rows waiting on its relation
        self.seen_ids: dict[str, bytes] = {}  # number -> sheet, row and values digest, packed (_SEEN)
        self.ignored = 0
        self.total = sum(max(0, sp.sheet.height - sp.layout.data_row) for sp in plan.sheets)
        self.columns = {sp.sheet.name: sp.layout.headers[c] for sp in plan.sheets for c, k in sp.mapping.items()
                        if k == "relation"}

    def blocks(self, store) -> Iterator[list[RowResult]]:
        done = 0
        for index, sp in enumerate(self.plan.sheets):
            block: list[RowResult] = []
            for r in _validate_sheet(sp, index, self, done):
                block.append(r)
                if len(block) >= BLOCK:
                    self._match_block(store, block)
                    yield block
                    block = []
            if block:
                self._match_block(store, block)
                yield block
            done += max(0, sp.sheet.height - sp.layout.data_row)

    def _match_block(self, store, block: list[RowResult]) -> None:
        snapshot = self.snapshot
        valid = [r for r in block if r.action != "error"]
        existing = snapshot.persons_by_number(store, [r.person.get("id_number") for r in valid])
        memberships = snapshot.memberships_of(store, [p[0] for p in existing.values()])
        for r in valid:
            found = existing.get(r.person.get("id_number"))
            if found is not None:
                r.memberships = memberships.get(found[0], [])
                if not self.final:
                    self.relations_in_file[found[0]] = r.relation
        for r in valid:
            _match(snapshot, r, self.households, found=existing.get(r.person.get("id_number")))
            self._check_head(r)
            if r.action != "error" and r.household_key is not None:
                hp = self.households[r.household_key]
                hp.used = True
                if r.household_key not in self.heads and (
                        hp.household_id is None or hp.household_id not in snapshot.heads):
                    if hp.headless is None:
                        hp.headless = []
                    if len(hp.headless) < 5:
                        hp.headless.append(((r.sheet, r.row), r.person.get("name") or ""))

    def _check_head(self, r: RowResult) -> None:
        """A household has one head (户主), as the register requires."""
        if r.relation != "户主" or r.household_key is None:
            return
        column = self.columns.get(r.sheet, "")
        hp = self.households[r.household_key]
        first = self.heads.get(r.household_key)
        if first is not None:
            r.errors.append(Issue(column, "relation", _(
                "This household already has a head (户主) in row {row} of sheet “{sheet}”; a household has one "
                "head.").format(row=first[1], sheet=first[0])))
        elif hp.household_id is not None:
            head = self.snapshot.heads.get(hp.household_id)
            if head and head[0] != r.person_id:
                if head[0] in self.relations_in_file or self.final:
                    if self.relations_in_file.get(head[0], "户主") == "户主":
                        r.errors.append(self._head_issue(column, head))
                else:
                    self.waiting.setdefault(head[0], []).append(r)
        if r.errors:
            r.action = "error"
        else:
            self.heads[r.household_key] = (r.sheet, r.row)
            hp.headless = None

    @staticmethod
    def _head_issue(column: str, head: tuple) -> Issue:
        return Issue(column, "relation", _(
            "This household already has a head (户主) in the register: {name}. Change that member's "
            "relation first, or correct this row.").format(name=head[1] or ""))

    def settle_heads(self) -> list[tuple[RowResult, str]]:
        """The waiting head rows whose household's register head the file keeps as head: now errors.
        Returns (row, its action before)."""
        out = []
        for head_id, rows in self.waiting.items():
            if self.relations_in_file.get(head_id, "户主") != "户主":
                continue
            for r in rows:
                if r.action == "error":
                    continue
                head = self.snapshot.heads.get(self.households[r.household_key].household_id)
                r.errors.append(self._head_issue(self.columns.get(r.sheet, ""), head))
                out.append((r, r.action))
                r.action = "error"
        self.waiting.clear()
        return out


def _validate_sheet(sp: SheetPlan, sheet_index: int, checker: Checker, done: int) -> Iterator[RowResult]:
    """The rows of one sheet validated (cells converted, ID numbers checked), one at a time; blank
    rows and footers are counted in checker.ignored."""
    state, total, defaults = checker.state, checker.total, checker.plan.default_places
    seen_ids = checker.seen_ids
    headers = sp.layout.headers
    items = sorted((col, key) for col, key in sp.mapping.items() if key != "id_number")
    id_col = next((col for col, key in sp.mapping.items() if key == "id_number"), None)
    relation_col = next((col for col, key in sp.mapping.items() if key == "relation"), None)
    mapped_cols = list(sp.mapping)
    has_name = "name" in sp.mapping.values()
    # Columns of free text where an old system's self-made glyphs (造字, private use) turn up.
    text_cols = [col for col, key in sp.mapping.items() if key in PRIVATE_USE_CHECKED]
    converters = [(col, key, cells.converter(key), key in _CACHED) for col, key in items]
    cache: dict[tuple[str, Any], Any] = {}
    text = checker.text or _("Checking rows…")
    first = sp.layout.data_row
    for index, raw in enumerate(sp.sheet.iter_rows(first), start=first):
        if (index & 2047) == 0:
            step(state, done + index - first, total, text)
        width = len(raw)
        filled = 0
        for c in mapped_cols:
            if c < width and raw[c] != "" and raw[c] is not None and (
                    not isinstance(raw[c], str) or raw[c].strip()):
                filled += 1
                if filled == 2:
                    break
        if filled < 2:
            # Blank rows and footers (制表人：…) are not people.
            if any(not cells.is_blank(v) for v in raw):
                checker.ignored += 1
            continue
        r = RowResult(sp.sheet.name, index + 1, raw)
        values: dict[str, Any] = {}
        for col, key, conv, cached in converters:
            cell = raw[col] if col < width else ""
            if cached:
                ck = (key, cell)
                hit = cache.get(ck)
                if hit is None:
                    try:
                        hit = (conv(cell, key), None)
                    except ValidationError as exc:
                        hit = (None, exc.message)
                    cache[ck] = hit
                if hit[1] is not None:
                    r.errors.append(Issue(headers[col], key, hit[1]))
                else:
                    values[key] = hit[0]
                continue
            try:
                values[key] = conv(cell, key)
            except ValidationError as exc:
                r.errors.append(Issue(headers[col], key, exc.message))
        if not has_name:
            r.errors.append(Issue("", "name", _("No column is mapped to the name.")))
        if id_col is None:
            r.errors.append(Issue("", "id_number", _("No column is mapped to the ID number.")))
        else:
            _check_id(r, raw[id_col] if id_col < width else "", headers[id_col], values, seen_ids, sheet_index,
                      checker.plan)
        _split(r, values, defaults)
        for col in text_cols:
            cell = raw[col] if col < width else ""
            if isinstance(cell, str) and private_use_search(cell):
                r.warnings.append(Issue(headers[col], sp.mapping[col], private_use_message(cell)))
        if r.relation == "其他" and relation_col is not None:
            original = cells.as_text(raw[relation_col]) if relation_col < width else ""
            if original != "其他":
                r.warnings.append(Issue(headers[relation_col], "relation", _(
                    "“{value}” is not a census relation code; it is recorded as 其他.").format(value=original)))
        if r.errors:
            r.action = "error"
        yield r


_DIGEST_FIELDS = tuple(sorted(_PERSON_SET - {"id_number"}))
_DIGEST = struct.Struct(f"<{len(_DIGEST_FIELDS)}H")
_SEEN = struct.Struct(f"<HI{_DIGEST.size}s")  # sheet, row, digest: one small object per ID number


def _digest(values: dict[str, Any]) -> bytes:
    """A compact print of a row's person values (16 bits per field): enough to say in which fields
    two rows with the same ID number differ, without keeping every row's values."""
    return _DIGEST.pack(*(hash(values.get(k) or None) & 0xFFFF for k in _DIGEST_FIELDS))


def _check_id(r: RowResult, cell: object, header: str, values: dict[str, Any],
              seen_ids: dict[str, bytes], sheet_index: int, plan: ImportPlan) -> None:
    try:
        number, info = cells.convert_id_number(cell, values.get("id_type"))
    except ValidationError as exc:
        r.errors.append(Issue(header, "id_number", exc.message))
        return
    values["id_number"] = number
    if info is not None:
        if not values.get("id_type"):
            values["id_type"] = "居民身份证"
        # In the register's editor the person chooses which value to keep; in a list of thousands
        # a silent choice would import a wrong age or sex: the row is refused until one is corrected.
        for message in id_conflicts(info, birth_date=values.get("birth_date"), sex=values.get("sex")):
            r.errors.append(Issue(header, "id_number", _("{problem} Correct one of the two.").format(problem=message)))
        values.setdefault("birth_date", None)
        if not values["birth_date"]:
            values["birth_date"] = info.birth_date.isoformat()
        if not values.get("sex"):
            values["sex"] = info.sex
    first = seen_ids.get(number)
    if first is not None:
        r.errors.append(Issue(header, "id_number", _duplicate_message(first, r, values, plan)))
    else:
        seen_ids[number] = _SEEN.pack(sheet_index, r.row, _digest(values))


def _duplicate_message(first: bytes, r: RowResult, values: dict[str, Any], plan: ImportPlan) -> str:
    """Which rows, whether they differ (and in what), and which one to keep."""
    from db.ledger.mapping import field_label

    sheet_index, row, digest = _SEEN.unpack(first)
    theirs = _DIGEST.unpack(digest)
    mine = _DIGEST.unpack(_digest(values))
    differ = [k for k, a, b in zip(_DIGEST_FIELDS, theirs, mine, strict=True) if a != b]
    where = _("row {row} of sheet “{sheet}”").format(row=row, sheet=plan.sheets[sheet_index].sheet.name)
    if not differ:
        return _("Row {row} repeats {first} exactly (same ID number, same values): keep {first} and delete "
                 "row {row}, or skip this row.").format(row=r.row, first=where)
    return _("Row {row} has the same ID number as {first} but differs in {fields}: keep the row that is "
             "right (compare with the ID card) and delete the other.").format(
                 row=r.row, first=where, fields="、".join(field_label(k) for k in differ))


def _split(r: RowResult, values: dict[str, Any], defaults: dict[str, str] | None = None) -> None:
    fill_places(values)
    for level, name in (defaults or {}).items():
        if name and not values.get(level):
            values[level] = name
    r.person = {k: v for k, v in values.items() if v is not None and k in _PERSON_SET}
    r.relation = values.get("relation")
    place = (values.get("grid"), values.get("compound"), _place_name(values.get("building"), "栋"),
             _place_name(values.get("unit"), "单元"))
    household = {HOUSEHOLD_FIELDS[k]: values[k] for k in HOUSEHOLD_FIELDS if values.get(k) is not None}
    number = household.get("number")
    if number:
        key: tuple | None = ("number", number)
    elif household.get("door"):  # without a door, a unit is not one household
        key = ("place", *place, household.get("door"))
    elif r.person.get("current_address"):
        key = ("address", r.person["current_address"])
    else:
        key = None
    r.household_key = key
    if key is not None:
        r.household = (place, household)


def _match(snapshot, r: RowResult, households: dict[tuple, HouseholdPlan],
           found: tuple[str, dict[str, Any]] | None = None) -> None:
    """r against the register: `found` is the register's person with r's ID number (id, values)."""
    if found is not None:
        r.person_id, old = found
        r.diff = [(k, old.get(k), v) for k, v in r.person.items() if v != old.get(k)]
    hp = None
    if r.household_key is not None:
        hp = households.get(r.household_key)
        place, fields = r.household
        if hp is None:
            address = r.person.get("current_address") or _compose_address(place, fields.get("door"))
            fields = dict(fields)
            if address:
                fields.setdefault("address", address)
            hid = snapshot.find_household(r.household_key, place, fields)
            hp = HouseholdPlan(r.household_key, place, fields, hid)
            if hid is not None:
                old = snapshot.households[hid]
                hp.diff = {k: v for k, v in fields.items() if k != "address" and v != old.get(k)}
            households[r.household_key] = hp
            if hp.diff:
                r.diff.extend((f"household.{k}", snapshot.households[hid].get(k), v) for k, v in hp.diff.items())
    if r.person_id is not None:
        current = r.memberships or []
        target = hp.household_id if hp else None
        same = [m for m in current if target is not None and m[1] == target]
        if hp is not None and not same:
            old_addr = snapshot.households.get(current[0][1], {}).get("address") if current else None
            r.diff.append(("household", old_addr, hp.fields.get("address") or ""))
        elif same and r.relation and same[0][2] != r.relation:
            r.diff.append(("relation", same[0][2], r.relation))
        r.action = "update" if r.diff else "unchanged"
    else:
        r.action = "create"


def _place_name(name: str | None, suffix: str) -> str | None:
    """3 → 3栋, 2 → 2单元: the way the register names its places, so both match."""
    return f"{name}{suffix}" if name and name.isdigit() else name


def _compose_address(place: tuple, door: str | None) -> str:
    """Like the register: compound, building, unit and door, one after the other."""
    _grid, compound, building, unit = place
    return "".join(x for x in (compound, building, unit, door) if x)
