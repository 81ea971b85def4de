"""Read-only queries that gather the data of printed forms from the register (no writes).

Everything returned is plain data (printouts.data dataclasses, tuples); ID and phone numbers come
raw and the printouts mask them unless the caller asked for them in full (and recorded that with
db.printing_audit.record_full_print).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable

from peewee import JOIN, fn

from db.accounts.session import grid_scope_db
from db.errors import ValidationError
from db.models import database_proxy
from db.models.register import (
    Building,
    Compound,
    Grid,
    Household,
    Membership,
    Person,
    PersonTag,
    Tag,
    Unit,
    Visit,
)
from db.oplog import chunks
from db.register.index import ensure_index
from db.register.search import Filters, fetch_rows, search_ids, strip_room
from db.register.tags import list_tags
from i18n import N_, _
from printouts.data import (
    Column,
    HouseholdFormData,
    MemberRow,
    RegisterListData,
    SigninPerson,
    VisitRecordData,
    chinese_date,
)

_DIGITS = re.compile(r"(\d+)")

LIST_KINDS = {
    "persons": N_("Residents"),
    "households": N_("Household register"),
    "visits": N_("Home visits"),
}


def natural_key(text: str | None) -> tuple:
    """3栋 before 10栋: numbers inside names compare as numbers."""
    parts = _DIGITS.split(text or "")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


# -- places ---------------------------------------------------------------------------------------

def compounds(store) -> list[tuple[str, str]]:
    rows = Compound.select(Compound.id, Compound.name).where(Compound.deleted == 0).tuples()
    return sorted(rows, key=lambda r: natural_key(r[1]))


def buildings(store, compound_id: str | None = None) -> list[tuple[str, str]]:
    """(id, label) of the buildings, optionally of one compound; label is 小区 + 楼栋."""
    q = (Building.select(Building.id, Compound.name, Building.name)
         .join(Compound, JOIN.LEFT_OUTER, on=(Building.compound == Compound.id))
         .where(Building.deleted == 0))
    if compound_id:
        q = q.where(Building.compound == compound_id)
    rows = sorted(q.tuples(), key=lambda r: (natural_key(r[1]), natural_key(r[2])))
    return [(bid, f"{cname or ''}{bname or ''}") for bid, cname, bname in rows]


def _household_query():
    q = (Household.select(Household.id, Household.number, Household.door, Household.address,
                             Household.house_use, Household.owner_name, Household.owner_phone,
                             Household.notes, Unit.name.alias("unit_name"),
                             Building.id.alias("building_id"), Building.name.alias("building_name"),
                             Compound.name.alias("compound_name"), Grid.name.alias("grid_name"))
            .join(Unit, JOIN.LEFT_OUTER, on=(Household.unit == Unit.id))
            .join(Building, JOIN.LEFT_OUTER, on=(Unit.building == Building.id))
            .join(Compound, JOIN.LEFT_OUTER, on=(Building.compound == Compound.id))
            .join(Grid, JOIN.LEFT_OUTER, on=(Household.grid == Grid.id), src=Household)
            .where(Household.deleted == 0))
    grids = grid_scope_db(database_proxy.obj)
    if grids is not None:  # a 网格员 prints only the households of their grids
        q = q.where(Household.grid.in_(list(grids)))
    return q


def _address(row: dict) -> str:
    if row.get("address"):
        return row["address"]
    return "".join(x for x in (row.get("compound_name"), row.get("building_name"), row.get("unit_name"),
                               row.get("door")) if x)


def _place_key(row: dict) -> tuple:
    return (natural_key(row.get("compound_name")), natural_key(row.get("building_name")),
            natural_key(row.get("unit_name")), natural_key(row.get("door")), natural_key(row.get("number")))


def households(store, building_id: str) -> list[tuple[str, str]]:
    """(id, address) of the households of a building, in door order."""
    rows = list(_household_query().where(Building.id == building_id).dicts())
    rows.sort(key=_place_key)
    return [(r["id"], _address(r)) for r in rows]


def households_with_heads(store, building_id: str) -> list[tuple[str, str]]:
    """(id, "address  members' names") of a building's households, for a picker searchable by name."""
    rows = households(store, building_id)
    if not rows:
        return rows
    ids = [rid for rid, _label in rows]
    heads: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for hid, name in store.db.execute_sql(
                "select m.household_id, group_concat(p.name, '、') from membership m join person p on p.id = m.person_id "
                f"where m.deleted = 0 and m.until is null and p.deleted = 0 and m.household_id in ({marks}) "
                "group by m.household_id", tuple(chunk)):
            heads[hid] = name or ""
    return [(rid, f"{label}  {heads[rid]}" if heads.get(rid) else label) for rid, label in rows]


def find_households(store, text: str, limit: int = 50) -> list[tuple[str, str]]:
    """Households whose number, address or door contains text (for pickers)."""
    like = f"%{text}%"
    q = _household_query().where((Household.number ** like) | (Household.address ** like)
                                 | (Household.door ** like) | (Building.name ** like)).limit(limit)
    rows = sorted(q.dicts(), key=_place_key)
    return [(r["id"], _address(r)) for r in rows]


def _resolve(rows: list[tuple[str, str]], text: str, what: str, field: str, norm=None) -> str:
    text = (text or "").strip()
    for rid, _label in rows:
        if rid == text:
            return rid
    if norm:  # household addresses: 101 and 101室 name the same door
        text = norm(text)
        rows = [(rid, norm(label)) for rid, label in rows]
    matches = [rid for rid, label in rows if label == text]
    if not matches:
        # 1栋 names 幸福里小区1栋, not 幸福里小区11栋
        matches = [rid for rid, label in rows if label.endswith(text)
                   and not label[:len(label) - len(text)][-1:].isdigit()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValidationError(_("No {what} called “{text}” was found.").format(what=_(what), text=text),
                              field=field)
    raise ValidationError(_("“{text}” names {n} {what}s; give the full name or the id.").format(
        text=text, n=len(matches), what=_(what)), field=field)


def resolve_compound(store, text: str) -> str:
    """A compound's id from its id or name."""
    return _resolve(compounds(store), text, N_("compound"), "compound")


def resolve_building(store, text: str) -> str:
    """A building's id from its id, 小区+楼栋 label or (unique) building name."""
    return _resolve(buildings(store), text, N_("building"), "building")


def resolve_household(store, text: str) -> str:
    """A household's id from its id, number or full address."""
    text = (text or "").strip()
    row = (Household.select(Household.id)
           .where((Household.deleted == 0) & ((Household.id == text) | (Household.number == text))).tuples())
    found = [r[0] for r in row]
    if len(found) == 1:
        return found[0]
    return _resolve(find_households(store, strip_room(text), limit=20), text, N_("household"), "household",
                    norm=strip_room)


# -- members and tags -----------------------------------------------------------------------------

def _current_members(household_ids: list[str]) -> dict[str, list[dict]]:
    members: dict[str, list[dict]] = defaultdict(list)
    for chunk in chunks(household_ids):
        q = (Membership.select(Membership.household, Membership.relation, Person)
             .join(Person, on=(Membership.person == Person.id))
             .where(Membership.household.in_(chunk), Membership.deleted == 0, Membership.until.is_null(),
                    Person.deleted == 0, Person.merged_into.is_null(), Person.death_date.is_null(),
                    Person.move_out_date.is_null())
             .dicts())
        for row in q:
            members[row["household"]].append(row)
    order = ["户主", "配偶", "子女", "父母", "岳父母或公婆", "祖父母", "媳婿", "孙子女", "兄弟姐妹", "其他"]
    for rows in members.values():
        rows.sort(key=lambda r: (order.index(r["relation"]) if r["relation"] in order else len(order),
                                 r.get("birth_date") or ""))
    return members


def _tags(person_ids: Iterable[str], today: dt.date | None = None) -> dict[str, str]:
    today_iso = (today or dt.date.today()).isoformat()
    ids = list(person_ids)
    out: dict[str, list[str]] = defaultdict(list)
    for part in chunks(ids):
        q = (PersonTag.select(PersonTag.person, Tag.name)
             .join(Tag, on=(PersonTag.tag == Tag.id))
             .where(PersonTag.person.in_(part), PersonTag.deleted == 0,
                    (PersonTag.end_date.is_null()) | (PersonTag.end_date >= today_iso))
             .order_by(Tag.sort_order, Tag.name).tuples())
        for pid, name in q:
            if name and name not in out[pid]:
                out[pid].append(name)
    return {pid: "、".join(names) for pid, names in out.items()}


# -- 入户登记表 -----------------------------------------------------------------------------------

def household_forms(store, household_ids: list[str], *, show_full: bool = False) -> list[HouseholdFormData]:
    """The registration forms of these households, in the order given."""
    rows = {}
    for part in chunks(household_ids):
        for r in _household_query().where(Household.id.in_(part)).dicts():
            rows[r["id"]] = r
    missing = [h for h in household_ids if h not in rows]
    if missing:
        raise ValidationError(_("There is no household with id {id}.").format(id=missing[0]))
    members = _current_members(list(rows))
    tags = _tags(m["id"] for ms in members.values() for m in ms)
    forms = []
    community = store.get_meta("community_name") or ""  # db.register.community
    for hid in household_ids:
        r = rows[hid]
        forms.append(HouseholdFormData(
            community=community,
            address=_address(r), number=r["number"] or "", grid=r["grid_name"] or "",
            compound=r["compound_name"] or "", building=r["building_name"] or "", unit=r["unit_name"] or "",
            door=r["door"] or "", house_use=r["house_use"] or "", owner_name=r["owner_name"] or "",
            owner_phone=r["owner_phone"] or "", notes=r["notes"] or "", show_full=show_full,
            members=[MemberRow(
                name=m["name"] or "", relation=m["relation"] or "", sex=m["sex"] or "",
                ethnicity=m["ethnicity"] or "", id_type=m["id_type"] or "", id_number=m["id_number"] or "",
                birth_date=m["birth_date"] or "", phone=m["phone"] or "", person_type=m["person_type"] or "",
                residence_status=m["residence_status"] or "", political_status=m["political_status"] or "",
                education=m["education"] or "",
                employer="　".join(x for x in (m["employer"], m["employment"]) if x),
                tags=tags.get(m["id"], "")) for m in members.get(hid, [])]))
    return forms


def household_ids_of_building(store, building_id: str) -> list[str]:
    return [hid for hid, _label in households(store, building_id)]


# -- 入户走访记录 ---------------------------------------------------------------------------------

def _head(household_id: str) -> tuple[str, str]:
    members = _current_members([household_id]).get(household_id, [])
    for m in members:
        if m["relation"] == "户主":
            return m["name"] or "", m["phone"] or ""
    return (members[0]["name"] or "", members[0]["phone"] or "") if members else ("", "")


def visits_of_household(store, household_id: str) -> list[tuple[str, str]]:
    """(id, label) of the visits of a household, newest first."""
    q = (Visit.select(Visit.id, Visit.visit_date, Visit.visitor, Visit.purpose)
         .where(Visit.household == household_id, Visit.deleted == 0)
         .order_by(Visit.visit_date.desc()).tuples())
    return [(vid, " ".join(x for x in (chinese_date(d), v, p) if x)) for vid, d, v, p in q]


def visit_record(store, visit_id: str, *, show_full: bool = False) -> VisitRecordData:
    visit = Visit.get_or_none((Visit.id == visit_id) & (Visit.deleted == 0))
    if visit is None:
        raise ValidationError(_("There is no home visit with id {id}.").format(id=visit_id))
    data = blank_visit_record(store, visit.household_id, show_full=show_full) if visit.household_id \
        else VisitRecordData(address="", show_full=show_full)
    data.visit_date = visit.visit_date or ""
    data.visitor = visit.visitor or ""
    data.met = visit.met or ""
    data.not_home = bool(visit.not_home)
    data.purpose = visit.purpose or ""
    data.situation = visit.situation or ""
    data.requests = visit.requests or ""
    data.outcome = visit.outcome or ""
    data.follow_up_date = visit.follow_up_date or ""
    return data


def blank_visit_record(store, household_id: str, *, show_full: bool = False) -> VisitRecordData:
    """A visit form for a household with its address and head filled in, the rest to write by hand."""
    row = _household_query().where(Household.id == household_id).dicts().first()
    if row is None:
        raise ValidationError(_("There is no household with id {id}.").format(id=household_id))
    head, phone = _head(household_id)
    return VisitRecordData(address=_address(row), household_number=row["number"] or "", head=head,
                           phone=phone, show_full=show_full)


# -- 签到表 ---------------------------------------------------------------------------------------

def signin_people(store, *, building_ids: list[str]) -> list[SigninPerson]:
    """One line per household of these buildings: the head of household, door and phone."""
    out = []
    for building_id in building_ids:
        rows = sorted(_household_query().where(Building.id == building_id).dicts(), key=_place_key)
        members = _current_members([r["id"] for r in rows])
        for r in rows:
            ms = members.get(r["id"], [])
            head = next((m for m in ms if m["relation"] == "户主"), ms[0] if ms else None)
            if head is None:
                continue
            unit = "".join(x for x in (r["building_name"], r["unit_name"], r["door"]) if x)
            out.append(SigninPerson(name=head["name"] or "", unit=unit, phone=head["phone"] or ""))
    return out


# -- register lists -------------------------------------------------------------------------------

def register_list(store, kind: str, *, compound_id: str | None = None, building_id: str | None = None,
                  tag: str | None = None, person_type: str | None = None, house_use: str | None = None,
                  date_from: str | None = None, date_to: str | None = None, show_full: bool = False,
                  title: str | None = None) -> RegisterListData:
    """A filtered list of residents, households or visits, in address order."""
    if kind not in LIST_KINDS:
        raise ValidationError(_("Unknown list “{kind}”; choose one of: {kinds}.").format(
            kind=kind, kinds=", ".join(LIST_KINDS)))
    filters: list[str] = []
    hq = _household_query()
    if compound_id:
        hq = hq.where(Compound.id == compound_id)
        filters.append(_("compound {name}").format(name=_name(Compound, compound_id)))
    if building_id:
        hq = hq.where(Building.id == building_id)
        filters.append(_("building {name}").format(name=dict(buildings(store)).get(building_id, building_id)))
    if house_use and kind == "households":
        hq = hq.where(Household.house_use == house_use)
        filters.append(_("use {value}").format(value=house_use))
    homes = {r["id"]: r for r in hq.dicts()}
    if kind == "households":
        data = _households_list(homes)
    elif kind == "persons":
        search = Filters(place_level="building" if building_id else "compound" if compound_id else None,
                         place_id=building_id or compound_id, status="active")
        if tag:
            search.tag_id = _tag_id(store, tag)
            filters.append(_("tag {value}").format(value=tag))
        data = _index_list(store, search, person_type=person_type)
        if person_type:
            filters.append(_("person type {value}").format(value=person_type))
    else:
        data = _visits_list(homes, date_from=date_from, date_to=date_to)
        if date_from or date_to:
            filters.append(_("dates {start} to {end}").format(start=chinese_date(date_from) or "…",
                                                               end=chinese_date(date_to) or "…"))
    data.title = title or _(LIST_KINDS[kind])
    data.subtitle = _("Filter: {filters}").format(filters="；".join(filters)) if filters else _("Filter: none")
    data.show_full = show_full
    return data


def _name(model, row_id: str) -> str:
    row = model.get_or_none(model.id == row_id)
    return (row.name or "") if row else row_id


def _households_list(homes: dict[str, dict]) -> RegisterListData:
    ordered = sorted(homes.values(), key=_place_key)
    members = _current_members(list(homes))
    columns = [Column(_("No."), 5), Column(_("Household no."), 10), Column(_("Address"), 30),
               Column(_("Use of the dwelling"), 8), Column(_("Head of household"), 10),
               Column(_("Number of members"), 6), Column(_("Owner"), 10), Column(_("Owner's telephone"), 13, "phone"),
               Column(_("Notes"), 20)]
    rows = []
    for i, r in enumerate(ordered, 1):
        ms = members.get(r["id"], [])
        head = next((m["name"] for m in ms if m["relation"] == "户主"), "")
        rows.append([str(i), r["number"] or "", _address(r), r["house_use"] or "", head or "", str(len(ms)),
                     r["owner_name"] or "", r["owner_phone"] or "", r["notes"] or ""])
    return RegisterListData(title="", columns=columns, rows=rows)


def _tag_id(store, name: str) -> str:
    for tag in list_tags(store):
        if tag["name"] == name or tag["id"] == name:
            return tag["id"]
    raise ValidationError(_("There is no tag “{name}”.").format(name=name), field="tag")


PERSON_COLUMNS = [(N_("No."), 5, "text"), (N_("Name"), 10, "text"), (N_("Sex"), 5, "text"),
                  (N_("ID number"), 19, "id"), (N_("Date of birth"), 11, "text"), (N_("Telephone"), 13, "phone"),
                  (N_("Relation to head"), 9, "text"), (N_("Address"), 27, "text"),
                  (N_("Person type"), 7, "text"), (N_("Special groups"), 14, "text")]


def _index_list(store, filters: Filters, *, person_type: str | None = None) -> RegisterListData:
    """Residents matching the register's filters, in the register list's order (its search index)."""
    ensure_index(store)
    ids = search_ids(store, filters, limit=None).ids
    rows_by_id = fetch_rows(store, ids)
    rows = []
    for rowid in ids:
        r = rows_by_id.get(rowid)
        if r is None or (person_type and r["person_type"] != person_type):
            continue
        rows.append([str(len(rows) + 1), r["name"] or "", r["sex"] or "", r["id_number"] or "",
                     r["birth_date"] or "", r["phone"] or "", r["relation"] or "", r["address"] or "",
                     r["person_type"] or "", r["tags"] or ""])
    columns = [Column(_(title), width, kind) for title, width, kind in PERSON_COLUMNS]
    return RegisterListData(title="", columns=columns, rows=rows)


STATUS_LABELS = {"active": N_("living here"), "moved_out": N_("moved out"), "deceased": N_("deceased"),
                 "all": N_("everyone")}


def register_filter_list(store, filters: Filters, *, title: str | None = None,
                         show_full: bool = False) -> RegisterListData:
    """The register list exactly as filtered on the households screen, ready to print."""
    data = _index_list(store, filters)
    parts = []
    if filters.text.strip():
        parts.append(_("search “{text}”").format(text=filters.text.strip()))
    if filters.place_id:
        parts.append(_place_label(filters.place_level, filters.place_id))
    if filters.tag_id:
        names = {t["id"]: t["name"] for t in list_tags(store)}
        parts.append(_("tag {value}").format(value=names.get(filters.tag_id, filters.tag_id)))
    if filters.age_min is not None or filters.age_max is not None:
        parts.append(_("age {low} to {high}").format(
            low=filters.age_min if filters.age_min is not None else "…",
            high=filters.age_max if filters.age_max is not None else "…"))
    if filters.residence_status:
        parts.append(filters.residence_status)
    parts.append(_(STATUS_LABELS.get(filters.status, filters.status)))
    if filters.overdue:
        parts.append(_("visit overdue"))
    data.title = title or _("Residents")
    data.subtitle = _("Filter: {filters}").format(filters="；".join(parts))
    data.show_full = show_full
    return data


def _place_label(level: str | None, place_id: str) -> str:
    model = {"grid": Grid, "compound": Compound, "building": Building, "unit": Unit}.get(level or "")
    if model is Building:
        return dict(buildings(None)).get(place_id, place_id)
    return _name(model, place_id) if model else place_id


def _visits_list(homes: dict[str, dict], *, date_from: str | None, date_to: str | None) -> RegisterListData:
    ids = list(homes)
    visits = []
    for part in chunks(ids):
        q = Visit.select().where(Visit.household.in_(part), Visit.deleted == 0)
        if date_from:
            q = q.where(Visit.visit_date >= date_from)
        if date_to:
            q = q.where(Visit.visit_date <= date_to)
        visits.extend(q.dicts())
    visits.sort(key=lambda v: (v["visit_date"] or "", _place_key(homes[v["household"]])))
    columns = [Column(_("No."), 5), Column(_("Visit date"), 11), Column(_("Address"), 26),
               Column(_("Visitor"), 8), Column(_("Received by"), 12), Column(_("Purpose"), 16),
               Column(_("Outcome"), 20), Column(_("Follow-up date"), 11)]
    rows = []
    for i, v in enumerate(visits, 1):
        met = _("Nobody at home") if v["not_home"] else (v["met"] or "")
        rows.append([str(i), chinese_date(v["visit_date"]), _address(homes[v["household"]]), v["visitor"] or "",
                     met, v["purpose"] or "", v["outcome"] or "", chinese_date(v["follow_up_date"])])
    return RegisterListData(title="", columns=columns, rows=rows)


def count_rows(store, kind: str) -> int:
    """Live rows of the table a list kind is drawn from (for the screen's summary)."""
    model = {"persons": Person, "households": Household, "visits": Visit}[kind]
    return model.select(fn.COUNT(model.id)).where(model.deleted == 0).scalar() or 0
