"""The preview of an import: every row validated and matched with the register; nothing written.

A row whose ID number is already in the register becomes an update with a field-by-field diff
(an empty cell never erases a known value); a new ID number becomes a creation; an ID number seen
earlier in the file is flagged as a duplicate. Rows are grouped into households by 户号, else by
compound/building/unit/door, else by address.
"""

from __future__ import annotations

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
from db.ledger.progress import gc_paused, step
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
    raw: list
    action: str = "create"  # create | update | unchanged | error
    person: dict[str, Any] = field(default_factory=dict)
    household_key: tuple | None = None
    household: tuple | None = None  # ((grid, compound, building, unit), {household column: value})
    relation: str | None = None
    person_id: str | None = None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    diff: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class HouseholdPlan:
    key: tuple
    place: tuple  # (grid, compound, building, unit) names
    fields: dict[str, Any]
    household_id: str | None = None  # existing household
    diff: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preview:
    plan: ImportPlan
    rows: list[RowResult]
    households: dict[tuple, HouseholdPlan]
    ignored_rows: int = 0
    log_position: int = 0  # max(rowid) of the op log when the preview was made
    snapshot: Any = None  # the register as it was then (reused by the commit while still current)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def has_errors(self) -> bool:
        return any(r.action == "error" for r in self.rows)

    def error_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == "error"]

    def new_households(self) -> int:
        keys = {r.household_key for r in self.rows if r.action in ("create", "update") and r.household_key}
        return sum(1 for k in keys if self.households[k].household_id is None)


def log_position(store) -> int:
    return store.db.execute_sql("select coalesce(max(rowid), 0) from oplog_store").fetchone()[0]


@gc_paused()
def build_preview(store, plan: ImportPlan, *, state=None) -> Preview:
    """Validate every row of every planned sheet and match it with the register."""
    from db.ledger.register_snapshot import Snapshot

    position = log_position(store)
    snapshot = Snapshot.load(store)
    total = sum(max(0, len(p.sheet.rows) - p.layout.data_row) for p in plan.sheets)
    results: list[RowResult] = []
    households: dict[tuple, HouseholdPlan] = {}
    seen_ids: dict[str, RowResult] = {}
    ignored = 0
    done = 0
    for sp in plan.sheets:
        ignored += _validate_sheet(sp, results, seen_ids, state, done, total, plan.default_places)
        done += max(0, len(sp.sheet.rows) - sp.layout.data_row)
    # Who this file says is what: a head named elsewhere in the file may be stepping down.
    relations_in_file = {}
    for r in results:
        existing = snapshot.persons.get(r.person.get("id_number")) if r.action != "error" else None
        if existing is not None:
            relations_in_file[existing[0]] = r.relation
    heads: dict[tuple, RowResult] = {}
    columns = {sp.sheet.name: sp.layout.headers[c] for sp in plan.sheets for c, k in sp.mapping.items()
               if k == "relation"}
    for r in results:
        if r.action != "error":
            _match(snapshot, r, households)
            _check_head(snapshot, r, households, heads, relations_in_file, columns.get(r.sheet, ""))
    step(state, total, total, _("Checked {n} rows").format(n=total))
    return Preview(plan, results, households, ignored, position, snapshot)


def _validate_sheet(sp: SheetPlan, results: list[RowResult], seen_ids: dict[str, RowResult], state,
                    done: int, total: int, defaults: dict[str, str] | None = None) -> int:
    headers = sp.layout.headers
    items = sorted((col, key) for col, key in sp.mapping.items() if key != "id_number")
    id_col = next((col for col, key in sp.mapping.items() if key == "id_number"), None)
    relation_col = next((col for col, key in sp.mapping.items() if key == "relation"), None)
    mapped_cols = list(sp.mapping)
    # Columns of free text where an old system's self-made glyphs (造字, private use) turn up.
    text_cols = [col for col, key in sp.mapping.items() if key in PRIVATE_USE_CHECKED]
    converters = [(col, key, cells.converter(key), key in _CACHED) for col, key in items]
    cache: dict[tuple[str, Any], Any] = {}
    ignored = 0
    rows = sp.sheet.rows
    for index in range(sp.layout.data_row, len(rows)):
        if (index & 2047) == 0:
            step(state, done + index - sp.layout.data_row, total, _("Checking rows…"))
        raw = rows[index]
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
                ignored += 1
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
        if "name" not in sp.mapping.values():
            r.errors.append(Issue("", "name", _("No column is mapped to the name.")))
        if id_col is None:
            r.errors.append(Issue("", "id_number", _("No column is mapped to the ID number.")))
        else:
            _check_id(r, raw[id_col] if id_col < width else "", headers[id_col], values, seen_ids)
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
        results.append(r)
    return ignored


def _check_id(r: RowResult, cell: object, header: str, values: dict[str, Any],
              seen_ids: dict[str, RowResult]) -> None:
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
        r.errors.append(Issue(header, "id_number", _duplicate_message(first, r, values)))
    else:
        seen_ids[number] = r


def _duplicate_message(first: RowResult, r: RowResult, values: dict[str, Any]) -> str:
    """Which rows, whether they differ (and in what), and which one to keep."""
    from db.ledger.mapping import field_label

    keys = sorted((set(first.person) | {k for k, v in values.items() if v is not None}) & _PERSON_SET - {"id_number"})
    differ = [k for k in keys if (first.person.get(k) or None) != (values.get(k) or None)]
    where = _("row {row} of sheet “{sheet}”").format(row=first.row, sheet=first.sheet)
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


def _match(snapshot, r: RowResult, households: dict[tuple, HouseholdPlan]) -> None:
    existing = snapshot.persons.get(r.person.get("id_number"))
    if existing is not None:
        r.person_id, old = existing
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
        current = snapshot.memberships.get(r.person_id, [])
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


def _check_head(snapshot, r: RowResult, households: dict[tuple, HouseholdPlan], heads: dict[tuple, RowResult],
                relations_in_file: dict[str, str | None], column: str) -> None:
    """A household has one head (户主), as the register requires."""
    if r.relation != "户主" or r.household_key is None:
        return
    hp = households[r.household_key]
    first = heads.get(r.household_key)
    if first is not None:
        r.errors.append(Issue(column, "relation", _(
            "This household already has a head (户主) in row {row} of sheet “{sheet}”; a household has one "
            "head.").format(row=first.row, sheet=first.sheet)))
    elif hp.household_id is not None:
        head = snapshot.heads.get(hp.household_id)
        if head and head[0] != r.person_id and relations_in_file.get(head[0], "户主") == "户主":
            r.errors.append(Issue(column, "relation", _(
                "This household already has a head (户主) in the register: {name}. Change that member's "
                "relation first, or correct this row.").format(name=head[1] or "")))
    if r.errors:
        r.action = "error"
    else:
        heads[r.household_key] = r


def _place_name(name: str | None, suffix: str) -> str | None:
    """3 → 3栋, 2 → 2单元: the way the register names its places, so both match."""
    return f"{name}{suffix}" if name and name.isdigit() else name


def _compose_address(place: tuple, door: str | None) -> str:
    """Like the register: compound, building, unit and door, one after the other."""
    _grid, compound, building, unit = place
    return "".join(x for x in (compound, building, unit, door) if x)
