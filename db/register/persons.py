"""Persons: validation, create/update, duplicates, merge, life events (move in/out, death)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from db.accounts.session import require_person
from db.errors import GridDeskError, ValidationError, ValidationErrors
from db.models.register import LifeEvent, Membership, Person
from db.oplog import Change, chunks
from db.register.common import CHINESE_ID_TYPES, ID_TYPES, RELATIONS, SEXES, Edit, iso, today
from db.register.readings import private_use_message
from db.validation import age_on, id_conflicts, normalize_phone, normalize_text, parse_date, parse_id_number
from i18n import N_, _

PERSON_FIELDS = {f.column_name for f in Person._meta.sorted_fields} - {"id", "deleted", "merged_into"}
DATE_FIELDS = ("birth_date", "move_in_date", "move_out_date", "death_date")
# Old systems' self-made glyphs (造字) in these are flagged (db.register.readings).
TEXT_CHECKED_FOR_PRIVATE_USE = ("name", "former_name", "hukou_address", "current_address", "employer")


@dataclass
class CheckedPerson:
    """Clean values ready to write, and warnings (flagged, not refused)."""

    values: dict[str, Any]
    warnings: list[ValidationError] = field(default_factory=list)
    age: int | None = None


class DuplicatePersonError(GridDeskError):
    """A person with the same ID number, or the same name and birth date, already exists."""

    def __init__(self, candidates: list[dict[str, Any]]):
        super().__init__(_("A person with the same ID number, or the same name and birth date, is "
                           "already in the register ({n} found).").format(n=len(candidates)))
        self.candidates = candidates


def check_person(values: dict[str, Any], *, on: dt.date | None = None, row: int | None = None) -> CheckedPerson:
    """Validate and normalise person fields; raises ValidationErrors listing every bad field."""
    on = on or today()
    unknown = set(values) - PERSON_FIELDS
    if unknown:
        raise KeyError(f"person has no field(s) {sorted(unknown)}")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        text = normalize_text(value) if value is not None else ""
        clean[key] = text or None
    errors: list[ValidationError] = []
    warnings: list[ValidationError] = []
    if "name" in values and not clean.get("name"):
        errors.append(ValidationError(_("The name is required."), field="name", row=row))
    for key in DATE_FIELDS:
        if clean.get(key):
            try:
                clean[key] = iso(parse_date(clean[key], field=key, today=on))
            except ValidationError as exc:
                errors.append(ValidationError(exc.message, field=key, row=row))
    if clean.get("sex") and clean["sex"] not in SEXES:
        errors.append(ValidationError(_("The sex must be 男 or 女, not “{value}”.").format(
            value=clean["sex"]), field="sex", row=row))
    if clean.get("phone"):
        try:
            clean["phone"] = normalize_phone(clean["phone"])
        except ValidationError as exc:
            errors.append(ValidationError(exc.message, field="phone", row=row))
    id_type = clean.get("id_type") or (ID_TYPES[0] if clean.get("id_number") else None)
    if clean.get("id_number"):
        clean["id_type"] = id_type
    age = None
    if clean.get("id_number") and id_type in CHINESE_ID_TYPES:
        try:
            info = parse_id_number(values.get("id_number"), today=on)
        except ValidationError as exc:
            errors.append(ValidationError(exc.message, field="id_number", row=row))
        else:
            clean["id_number"] = info.number
            entered_birth = clean.get("birth_date") if "birth_date" not in {e.field for e in errors} else None
            for message in id_conflicts(info, birth_date=entered_birth, sex=None):
                warnings.append(ValidationError(message, field="birth_date", row=row))
            for message in id_conflicts(info, birth_date=None, sex=clean.get("sex")):
                warnings.append(ValidationError(message, field="sex", row=row))
            if not clean.get("birth_date") or "birth_date" in {e.field for e in errors}:
                clean["birth_date"] = info.birth_date.isoformat()
            if not clean.get("sex"):
                clean["sex"] = info.sex
            age = info.age_on(on)
    elif clean.get("id_number"):
        clean["id_number"] = clean["id_number"].upper().replace(" ", "")
    if clean.get("birth_date") and clean.get("death_date") and clean["death_date"] < clean["birth_date"]:
        errors.append(ValidationError(_("The date of death is before the birth date."),
                                      field="death_date", row=row))
    if clean.get("move_in_date") and clean.get("move_out_date") and clean["move_out_date"] < clean["move_in_date"]:
        errors.append(ValidationError(_("The move-out date is before the move-in date."),
                                      field="move_out_date", row=row))
    if errors:
        raise ValidationErrors(errors)
    for key in TEXT_CHECKED_FOR_PRIVATE_USE:
        message = private_use_message(clean.get(key))
        if message:
            warnings.append(ValidationError(message, field=key, row=row))
    if age is None and clean.get("birth_date"):
        age = age_on(clean["birth_date"], on)
    return CheckedPerson(clean, warnings, age)


_CANDIDATE_SQL = ("select id, name, sex, birth_date, id_number, phone, current_address from person "
                  "where deleted = 0 and merged_into is null and ")


def find_duplicates(store, *, name: str | None = None, birth_date: str | None = None,
                    id_number: str | None = None, exclude_id: str | None = None) -> list[dict[str, Any]]:
    """Persons with the same ID number, or the same name and birth date."""
    found: dict[str, dict[str, Any]] = {}
    keys = ("id", "name", "sex", "birth_date", "id_number", "phone", "current_address")
    queries = []
    if id_number:
        queries.append((_CANDIDATE_SQL + "id_number = ?", (normalize_text(id_number).upper(),)))
    if name and birth_date:
        queries.append((_CANDIDATE_SQL + "name = ? and birth_date = ?", (normalize_text(name), birth_date)))
    for sql, params in queries:
        for row in store.db.execute_sql(sql, params):
            if row[0] != exclude_id:
                found[row[0]] = dict(zip(keys, row, strict=True))
    return list(found.values())


def save_person(store, *, values: dict[str, Any], person_id: str | None = None,
                allow_duplicate: bool = False, on: dt.date | None = None,
                edit: Edit | None = None) -> list[Change]:
    """Create (no person_id) or update a person after validation and the duplicate check."""
    checked = check_person(values, on=on)
    own = edit is None
    edit = edit or Edit(store, N_("Edit person") if person_id else N_("New person"))
    with store.db.atomic():
        if not allow_duplicate:
            _refuse_duplicate(store, checked.values, _current(store, person_id) if person_id else {}, person_id)
        row = dict(checked.values)
        if person_id:
            row["id"] = person_id
        edit.write(Person, [row])
        return edit.finish() if own else edit.changes


def _refuse_duplicate(store, v: dict[str, Any], current: dict[str, Any], person_id: str | None) -> None:
    """DuplicatePersonError when the values change who the person is into someone already registered."""
    if any(k in v and v[k] != current.get(k) for k in ("id_number", "name", "birth_date")):
        candidates = find_duplicates(
            store, name=v.get("name", current.get("name")), birth_date=v.get("birth_date", current.get("birth_date")),
            id_number=v.get("id_number", current.get("id_number")), exclude_id=person_id)
        if candidates:
            raise DuplicatePersonError(candidates)


def _differs(old: Any, new: Any) -> bool:
    """An empty text and no value are the same (the editors show both as an empty field)."""
    return (None if old == "" else old) != (None if new == "" else new)


def save_person_edit(store, *, person_id: str, changes: dict[str, Any], relation: str | None = None,
                     membership_id: str | None = None, allow_duplicate: bool = False,
                     on: dt.date | None = None) -> list[Change]:
    """One save of the person editor: the edited fields and the relation in the household.

    One transaction and one undo entry: what changed is computed against the current row inside
    the transaction (unchanged values are not written); if any part fails, nothing is written.
    `changes` may hold unchanged fields (e.g. the entered birth date next to a new ID number, so
    that a disagreement is checked); `relation` applies to `membership_id`, or to the person's
    current membership when none is given. Returns the Changes (table, row id, fields).
    """
    if relation is not None and relation not in RELATIONS:
        raise ValidationErrors([ValidationError(_("Unknown relation “{value}”.").format(value=relation),
                                                field="relation")])
    checked = check_person(changes, on=on) if changes else None
    edit = Edit(store, N_("Edit person"))
    with store.db.atomic():
        current = _current(store, person_id)
        row = {k: v for k, v in checked.values.items() if _differs(current.get(k), v)} if checked else {}
        if row and not allow_duplicate:
            _refuse_duplicate(store, row, current, person_id)
        if row:
            edit.write(Person, [{"id": person_id, **row}])
        if relation is not None:
            found = store.db.execute_sql(
                "select id, relation from membership where deleted = 0 and "
                + ("id = ?" if membership_id else "person_id = ? and until is null order by since desc limit 1"),
                (membership_id or person_id,)).fetchone()
            if found and found[1] != relation:
                edit.write(Membership, [{"id": found[0], "relation": relation}])
        return edit.finish()


def _current(store, person_id: str) -> dict[str, Any]:
    require_person(store, person_id)  # a 网格员 opens and edits only the persons of their grids
    cols = sorted(PERSON_FIELDS | {"merged_into", "deleted"})
    row = store.db.execute_sql(f"select {','.join(cols)} from person where id = ?", (person_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This person no longer exists in the register."))
    return dict(zip(cols, row, strict=True))


def get_person(store, person_id: str) -> dict[str, Any]:
    values = _current(store, person_id)
    values["id"] = person_id
    return values


def _end_memberships(store, edit: Edit, person_id: str, day: str) -> None:
    rows = store.db.execute_sql("select id from membership where person_id = ? and deleted = 0 and until is null",
                                (person_id,)).fetchall()
    edit.write(Membership, [{"id": r[0], "until": day} for r in rows])


def _event_date(value, field_name: str) -> str:
    day = parse_date(value, field=field_name)
    if day is None:
        raise ValidationErrors([ValidationError(_("The date is required."), field=field_name)])
    return day.isoformat()


def move_in(store, *, person_id: str, household_id: str, date, relation: str = "其他",
            came_from: str | None = None) -> list[Change]:
    """迁入: the person joins a household; the event is kept in the history."""
    require_person(store, person_id)
    day = _event_date(date, "move_in_date")
    edit = Edit(store, N_("Move in"))
    with store.db.atomic():
        _end_memberships(store, edit, person_id, day)
        edit.write(Membership, [{"household_id": household_id, "person_id": person_id,
                                 "relation": relation, "since": day}])
        edit.write(Person, [{"id": person_id, "move_in_date": day, "move_out_date": None, "move_out_to": None}])
        edit.write(LifeEvent, [{"person_id": person_id, "household_id": household_id, "kind": "move_in",
                                "event_date": day, "detail": normalize_text(came_from) or None}])
        return edit.finish()


def move_out(store, *, person_id: str, date, destination: str) -> list[Change]:
    """迁出: the person leaves with a destination; the record and its history stay."""
    require_person(store, person_id)
    day = _event_date(date, "move_out_date")
    destination = normalize_text(destination)
    if not destination:
        raise ValidationErrors([ValidationError(_("Where did the person move to? The destination is required."),
                                                field="move_out_to")])
    edit = Edit(store, N_("Move out"))
    with store.db.atomic():
        household = _household_of(store, person_id)
        _end_memberships(store, edit, person_id, day)
        edit.write(Person, [{"id": person_id, "move_out_date": day, "move_out_to": destination}])
        edit.write(LifeEvent, [{"person_id": person_id, "household_id": household, "kind": "move_out",
                                "event_date": day, "detail": destination}])
        return edit.finish()


def record_death(store, *, person_id: str, date) -> list[Change]:
    """死亡: recorded with its date; memberships end, nothing is deleted."""
    require_person(store, person_id)
    day = _event_date(date, "death_date")
    edit = Edit(store, N_("Record death"))
    with store.db.atomic():
        household = _household_of(store, person_id)
        _end_memberships(store, edit, person_id, day)
        edit.write(Person, [{"id": person_id, "death_date": day}])
        edit.write(LifeEvent, [{"person_id": person_id, "household_id": household, "kind": "death",
                                "event_date": day}])
        return edit.finish()


def _household_of(store, person_id: str) -> str | None:
    row = store.db.execute_sql("select household_id from membership where person_id = ? and deleted = 0 "
                               "and until is null order by since desc limit 1", (person_id,)).fetchone()
    return row[0] if row else None


def life_events(store, person_id: str) -> list[dict[str, Any]]:
    require_person(store, person_id)
    keys = ("id", "kind", "event_date", "detail", "household_id")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select id, kind, event_date, detail, household_id from life_event where person_id = ? and deleted = 0 "
        "order by event_date, id", (person_id,))]


# -- duplicates review and merge ------------------------------------------------------------------

def duplicate_pairs(store, *, limit: int = 2000) -> list[dict[str, Any]]:
    """Candidate pairs across the database: same ID number, or same name and birth date."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    live = "deleted = 0 and merged_into is null"
    queries = [
        ("id_number", f"select id_number, group_concat(id) from person where {live} and id_number is not null "
                      f"and id_number <> '' group by id_number having count(*) > 1"),
        ("name_birth", f"select name || ' ' || birth_date, group_concat(id) from person where {live} "
                       f"and name is not null and birth_date is not null group by name, birth_date "
                       f"having count(*) > 1"),
    ]
    for reason, sql in queries:
        for _key, ids in store.db.execute_sql(sql):
            members = sorted(ids.split(","))
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    entry = pairs.setdefault((a, b), {"a": a, "b": b, "reasons": []})
                    entry["reasons"].append(reason)
            if len(pairs) >= limit:
                break
    result = list(pairs.values())[:limit]
    ids = sorted({x for p in result for x in (p["a"], p["b"])})
    info = _brief(store, ids)
    for p in result:
        p["person_a"] = info.get(p["a"], {})
        p["person_b"] = info.get(p["b"], {})
    return result


def _brief(store, ids: list[str]) -> dict[str, dict[str, Any]]:
    keys = ("id", "name", "sex", "birth_date", "id_number", "phone", "current_address")
    out: dict[str, dict[str, Any]] = {}
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in store.db.execute_sql(f"select {','.join(keys)} from person where id in ({marks})", tuple(chunk)):
            out[row[0]] = dict(zip(keys, row, strict=True))
    return out


def merge_persons(store, *, keep_id: str, duplicate_id: str) -> list[Change]:
    """Merge a duplicate into the kept record: merged_into is set, nothing is deleted.

    Empty fields of the kept record are filled from the duplicate; the duplicate's memberships
    end and move to the kept person; tags, visits and events keep pointing at the duplicate,
    whose history is shown with the kept person's.
    """
    if keep_id == duplicate_id:
        raise GridDeskError(_("A person cannot be merged with itself."))
    edit = Edit(store, N_("Merge duplicates"))
    with store.db.atomic():
        keep = _current(store, keep_id)
        dup = _current(store, duplicate_id)
        if dup.get("merged_into") or keep.get("merged_into"):
            raise GridDeskError(_("One of these persons was already merged into another record."))
        fill = {k: dup[k] for k in PERSON_FIELDS if not keep.get(k) and dup.get(k)}
        if fill:
            edit.write(Person, [{"id": keep_id, **fill}])
        edit.write(Person, [{"id": duplicate_id, "merged_into": keep_id}])
        kept_households = {r[0] for r in store.db.execute_sql(
            "select household_id from membership where person_id = ? and deleted = 0 and until is null", (keep_id,))}
        moved = []
        for mid, household, relation, since in store.db.execute_sql(
                "select id, household_id, relation, since from membership where person_id = ? and deleted = 0 "
                "and until is null", (duplicate_id,)).fetchall():
            edit.write(Membership, [{"id": mid, "until": today().isoformat()}])
            if household not in kept_households:
                moved.append({"household_id": household, "person_id": keep_id, "relation": relation, "since": since})
                kept_households.add(household)
        edit.write(Membership, moved)
        return edit.finish()


def merged_ids(store, person_id: str) -> list[str]:
    """The person and every record merged into it (for showing one history)."""
    ids = [person_id]
    frontier = [person_id]
    while frontier:
        marks = ",".join("?" * len(frontier))
        frontier = [r[0] for r in store.db.execute_sql(
            f"select id from person where merged_into in ({marks})", tuple(frontier))]
        ids.extend(frontier)
    return ids
