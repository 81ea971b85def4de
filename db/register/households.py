"""Households (住户) and their members (Membership rows with the relation to the head)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.accounts.session import require_household
from db.errors import GridDeskError, ValidationError, ValidationErrors
from db.models.register import Household, Membership, Person
from db.oplog import Change
from db.register.common import HOUSE_USES, RELATIONS, Edit, today
from db.register.persons import DuplicatePersonError, check_person, find_duplicates
from db.register.places import unit_path
from db.validation import normalize_phone, normalize_text
from i18n import N_, _

HOUSEHOLD_FIELDS = ("number", "grid_id", "unit_id", "door", "address", "house_use", "owner_name",
                    "owner_phone", "notes")


def check_household(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    unknown = set(values) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise KeyError(f"household has no field(s) {sorted(unknown)}")
    for key, value in values.items():
        clean[key] = (normalize_text(value) or None) if value is not None else None
    errors: list[ValidationError] = []
    if "door" in values and not clean.get("door"):
        errors.append(ValidationError(_("The door number (门牌/房号) is required."), field="door"))
    if clean.get("house_use") and clean["house_use"] not in HOUSE_USES:
        errors.append(ValidationError(_("Unknown house use “{value}”; choose one of {choices}.").format(
            value=clean["house_use"], choices="、".join(HOUSE_USES)), field="house_use"))
    if clean.get("owner_phone"):
        try:
            clean["owner_phone"] = normalize_phone(clean["owner_phone"])
        except ValidationError as exc:
            errors.append(ValidationError(exc.message, field="owner_phone"))
    if errors:
        raise ValidationErrors(errors)
    return clean


def _compose_address(store, values: dict[str, Any]) -> str | None:
    if not values.get("unit_id"):
        return values.get("address")
    path = unit_path(store, values["unit_id"])
    if not path:
        return values.get("address")
    return f"{path['compound']}{path['building']}{path['unit']}{values.get('door') or ''}"


def register_household(store, *, household: dict[str, Any], members: list[dict[str, Any]] | None = None,
                       allow_duplicates: bool = False, on: dt.date | None = None) -> list[Change]:
    """登记住户: a household with its members in one transaction.

    Each member is {"relation": ..., "person_id": existing id} or {"relation": ..., **person fields}.
    Every member is validated first (errors name the member row); nothing is written on error.
    """
    clean = check_household(household)
    if not clean.get("grid_id") and clean.get("unit_id"):
        clean["grid_id"] = unit_path(store, clean["unit_id"]).get("grid_id")
    if not clean.get("address"):
        clean["address"] = _compose_address(store, clean)
    members = members or []
    errors: list[ValidationError] = []
    checked: list[tuple[dict[str, Any], str | None, str]] = []
    heads = 0
    for i, m in enumerate(members, start=1):
        m = dict(m)
        relation = m.pop("relation", None) or "其他"
        if relation not in RELATIONS:
            errors.append(ValidationError(_("Unknown relation “{value}”.").format(value=relation),
                                          field="relation", row=i))
        heads += relation == "户主"
        since = m.pop("since", None)
        if m.get("person_id"):
            checked.append(({}, m["person_id"], relation))
            continue
        try:
            person = check_person(m, on=on, row=i)
        except ValidationErrors as exc:
            errors.extend(exc.errors)
            continue
        if since:
            person.values["move_in_date"] = since
        checked.append((person.values, None, relation))
    if heads > 1:
        errors.append(ValidationError(_("A household has one head (户主); {n} members are marked as head.").format(
            n=heads), field="relation"))
    if errors:
        raise ValidationErrors(errors)
    if not allow_duplicates:
        candidates = []
        for values, _pid, _rel in checked:
            if values:
                candidates += find_duplicates(store, name=values.get("name"), birth_date=values.get("birth_date"),
                                              id_number=values.get("id_number"))
        if candidates:
            raise DuplicatePersonError(candidates)
    edit = Edit(store, N_("Register household"))
    with store.db.atomic():
        hh = edit.write(Household, [clean])[0]
        new_people = [v for v, pid, _r in checked if not pid]
        created = iter(edit.write(Person, new_people))
        memberships = []
        day = (on or today()).isoformat()
        for values, pid, relation in checked:
            person_id = pid or next(created).row_id
            memberships.append({"household_id": hh.row_id, "person_id": person_id, "relation": relation,
                                "since": values.get("move_in_date") or day})
        edit.write(Membership, memberships)
        return edit.finish()


def update_household(store, *, household_id: str, values: dict[str, Any]) -> list[Change]:
    clean = check_household(values)
    if "unit_id" in clean or "door" in clean:
        current = get_household(store, household_id)
        merged = {**current, **clean}
        if merged.get("unit_id") and "address" not in values:
            clean["address"] = _compose_address(store, merged)
        if "unit_id" in clean and clean["unit_id"] and "grid_id" not in clean:
            clean["grid_id"] = unit_path(store, clean["unit_id"]).get("grid_id")
    edit = Edit(store, N_("Edit household"))
    with store.db.atomic():
        edit.write(Household, [{"id": household_id, **clean}])
        return edit.finish()


def get_household(store, household_id: str) -> dict[str, Any]:
    require_household(store, household_id)
    cols = ("id",) + HOUSEHOLD_FIELDS
    row = store.db.execute_sql(f"select {','.join(cols)} from household where id = ? and deleted = 0",
                               (household_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This household no longer exists in the register."))
    return dict(zip(cols, row, strict=True))


def household_members(store, household_id: str, *, include_past: bool = False) -> list[dict[str, Any]]:
    require_household(store, household_id)
    keys = ("membership_id", "relation", "since", "until", "person_id", "name", "sex", "birth_date",
            "id_number", "phone", "death_date", "move_out_date")
    sql = ("select m.id, m.relation, m.since, m.until, p.id, p.name, p.sex, p.birth_date, p.id_number, p.phone, "
           "p.death_date, p.move_out_date from membership m join person p on p.id = m.person_id "
           "where m.household_id = ? and m.deleted = 0 and p.deleted = 0")
    if not include_past:
        sql += " and m.until is null"
    rows = [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(sql, (household_id,))]
    order = {r: i for i, r in enumerate(RELATIONS)}
    rows.sort(key=lambda r: (r["until"] is not None, order.get(r["relation"], 99), r["birth_date"] or ""))
    return rows


def add_member(store, *, household_id: str, relation: str, person_id: str | None = None,
               person: dict[str, Any] | None = None, allow_duplicate: bool = False,
               on: dt.date | None = None) -> list[Change]:
    """Add an existing person, or a new one (validated, duplicate-checked), to a household."""
    if relation not in RELATIONS:
        raise ValidationErrors([ValidationError(_("Unknown relation “{value}”.").format(value=relation),
                                                field="relation")])
    edit = Edit(store, N_("Add member"))
    with store.db.atomic():
        if relation == "户主" and any(m["relation"] == "户主" for m in household_members(store, household_id)):
            raise ValidationErrors([ValidationError(
                _("This household already has a head (户主); change that member's relation first."),
                field="relation")])
        if person_id is None:
            checked = check_person(person or {}, on=on)
            if not allow_duplicate:
                candidates = find_duplicates(store, name=checked.values.get("name"),
                                             birth_date=checked.values.get("birth_date"),
                                             id_number=checked.values.get("id_number"))
                if candidates:
                    raise DuplicatePersonError(candidates)
            person_id = edit.write(Person, [checked.values])[0].row_id
        edit.write(Membership, [{"household_id": household_id, "person_id": person_id, "relation": relation,
                                 "since": (on or today()).isoformat()}])
        return edit.finish()


def change_relation(store, *, membership_id: str, relation: str) -> list[Change]:
    if relation not in RELATIONS:
        raise ValidationErrors([ValidationError(_("Unknown relation “{value}”.").format(value=relation),
                                                field="relation")])
    edit = Edit(store, N_("Change relation"))
    with store.db.atomic():
        edit.write(Membership, [{"id": membership_id, "relation": relation}])
        return edit.finish()
