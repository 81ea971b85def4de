"""Exporting a filtered list of residents to .xlsx: masked ID and phone numbers by default.

Showing numbers in full is an explicit choice; every export leaves an AuditEntry saying who
exported what, how many rows, and whether the numbers were masked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from db.accounts.session import grid_scope, require_unmasked
from db.ledger.mapping import FIELD_BY_KEY, field_label
from db.ledger.progress import gc_paused, step
from db.oplog import Change, chunks
from db.register.audit import record_audit
from db.validation import age_on, mask
from i18n import N_, _

# Extra columns an export (or a department template) may ask for besides the import fields.
EXTRA_FIELDS = {"seq": N_("No."), "age": N_("Age"), "address": N_("Household address"), "status": N_("Status")}
# The register's words for whether a person still lives here (db.register.search Filters.status).
STATUS_LABELS = {"active": N_("Living here"), "moved_out": N_("Moved out"), "deceased": N_("Deceased")}
STATUSES = ("active", "moved_out", "deceased", "all")
_STATUS_SQL = {"active": "coalesce(p.death_date, '') = '' and coalesce(p.move_out_date, '') = ''",
               "moved_out": "coalesce(p.death_date, '') = '' and coalesce(p.move_out_date, '') != ''",
               "deceased": "coalesce(p.death_date, '') != ''"}
DEFAULT_COLUMNS = ("seq", "name", "sex", "ethnicity", "id_number", "birth_date", "age", "phone", "relation",
                   "household_number", "compound", "building", "unit", "door", "address", "person_type",
                   "notes")
WIDTHS = {"seq": 6, "name": 10, "sex": 5, "ethnicity": 7, "id_number": 21, "birth_date": 11, "age": 5,
          "phone": 14, "relation": 8, "household_number": 10, "compound": 12, "building": 7, "unit": 6,
          "door": 7, "address": 28, "status": 8, "current_address": 28, "hukou_address": 28, "notes": 20, "employer": 20}
MASKED = ("id_number", "phone", "owner_phone")

_PERSON_COLUMNS = ("name", "former_name", "sex", "ethnicity", "id_type", "id_number", "birth_date", "phone",
                   "wechat", "hukou_address", "current_address", "political_status", "education",
                   "marital_status", "health", "disability", "employment", "employer", "residence_status",
                   "person_type", "move_in_date", "move_out_date", "death_date", "notes")
_JOINED = (("relation", "m.relation"), ("household_number", "h.number"), ("door", "h.door"),
           ("address", "h.address"), ("house_use", "h.house_use"), ("owner_name", "h.owner_name"),
           ("owner_phone", "h.owner_phone"), ("unit", "u.name"), ("building", "b.name"),
           ("compound", "c.name"), ("grid", "g.name"))
ROW_KEYS = ("id", *_PERSON_COLUMNS, *(k for k, _ in _JOINED))


def column_label(key: str) -> str:
    if key in EXTRA_FIELDS:
        return _(EXTRA_FIELDS[key])
    return field_label(key)


def all_columns() -> list[str]:
    return list(EXTRA_FIELDS) + [k for k in FIELD_BY_KEY if k not in EXTRA_FIELDS]


@dataclass
class PeopleFilter:
    """Which residents to export; every given criterion must hold."""

    grid: str | None = None
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    person_type: str | None = None
    sex: str | None = None
    name: str | None = None  # part of the name
    tag: str | None = None  # special-population tag name, current periods only
    # Living here (the default, as the register list), moved_out, deceased or all.
    status: str = "active"
    person_ids: list[str] | None = field(default=None)
    # The register list's own filters (db.register.search.Filters): export exactly what it shows.
    register: Any = None

    def describe(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if v and k not in ("person_ids", "register")}
        if self.register is not None or self.status == "active":
            d.pop("status", None)  # the default; with the register's filters, its status is in there
        if self.person_ids is not None:
            d["person_ids"] = len(self.person_ids)
        if self.register is not None:
            d["register"] = {k: v for k, v in asdict(self.register).items() if v}
        return d


def resolve_filter(store, f: PeopleFilter) -> PeopleFilter:
    """Turn the register list's filters into the person ids it shows (its own query, its order)."""
    if f.register is None:
        if f.status not in STATUSES:
            raise ValueError(f.status)
        return f
    from db.register.search import search_ids

    rowids = search_ids(store, f.register, limit=None).ids
    ids: list[str] = []
    for chunk in chunks(rowids):
        marks = ",".join("?" * len(chunk))
        ids.extend(r[0] for r in store.db.execute_sql(
            f"select person_id from register_search where rowid in ({marks})", tuple(chunk)))
    if f.person_ids is not None:
        keep = set(f.person_ids)
        ids = [i for i in ids if i in keep]
    # The list's rows decide; its status says whether the export needs a status column.
    return replace(f, register=None, person_ids=ids, status=f.register.status or "active")


def includes_non_active(f: PeopleFilter) -> bool:
    """Whether people who moved out or died can be in the export (then it says who is who)."""
    status = f.register.status if f.register is not None else f.status
    return (status or "active") != "active"


def columns_for(f: PeopleFilter, columns: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The export's columns: the default ones (or those given) plus 状态 when non-active people
    can be included."""
    columns = list(columns or DEFAULT_COLUMNS)
    if includes_non_active(f) and "status" not in columns:
        at = columns.index("notes") if "notes" in columns else len(columns)
        columns.insert(at, "status")
    return columns


def _query(f: PeopleFilter, grids: tuple[str, ...] | None = None) -> tuple[str, list[Any]]:
    cols = ", ".join([f'p."{c}"' for c in ("id", *_PERSON_COLUMNS)] + [sql for _k, sql in _JOINED])
    where = ["p.deleted = 0", "p.merged_into is null"]
    params: list[Any] = []
    if grids is not None:  # a 网格员 exports only the persons of their grids
        from db.accounts.session import grid_sql

        scope, scope_params = grid_sql("coalesce(h.grid_id, c.grid_id)", grids)
        where.append(scope)
        params.extend(scope_params)
    if f.status in _STATUS_SQL:
        where.append(_STATUS_SQL[f.status])
    for key, sql in (("grid", "g.name"), ("compound", "c.name"), ("building", "b.name"), ("unit", "u.name"),
                     ("person_type", "p.person_type"), ("sex", "p.sex")):
        value = getattr(f, key)
        if value:
            where.append(f"{sql} = ?")
            params.append(value)
    if f.name:
        where.append("p.name like ?")
        params.append(f"%{f.name}%")
    if f.tag:
        where.append("p.id in (select pt.person_id from person_tag pt join tag t on t.id = pt.tag_id "
                     "where pt.deleted = 0 and t.deleted = 0 and t.name = ? "
                     "and (pt.end_date is null or pt.end_date >= date('now')))")
        params.append(f.tag)
    if f.person_ids is not None:
        where.append("p.id in (select value from json_each(?))")
        params.append(json.dumps(f.person_ids))
    sql = (f"select {cols} from person p "
           # The current household, or for those who moved out or died the last one (as the register).
           "left join membership m on m.id = (select id from membership where person_id = p.id and deleted = 0 "
           "order by (until is null) desc, coalesce(until, '') desc, since desc limit 1) "
           "left join household h on h.id = m.household_id "
           "left join unit u on u.id = h.unit_id left join building b on b.id = u.building_id "
           "left join compound c on c.id = b.compound_id "
           "left join grid g on g.id = coalesce(h.grid_id, c.grid_id) "
           f"where {' and '.join(where)} "
           "order by c.name, b.name, u.name, h.door, h.id, m.relation != '户主', p.birth_date, p.id")
    return sql, params


def count_people(store, f: PeopleFilter | None = None) -> int:
    sql, params = _query(resolve_filter(store, f or PeopleFilter()), grid_scope(store))
    return store.db.execute_sql(f"select count(*) from ({sql})", params).fetchone()[0]


def iter_people(store, f: PeopleFilter | None = None, *, unmasked: bool = False) -> Iterator[dict[str, Any]]:
    """Rows as {field: value}, numbered from 1 ("seq"), with masked numbers unless unmasked."""
    sql, params = _query(resolve_filter(store, f or PeopleFilter()), grid_scope(store))  # the list's filters, if given
    today = dt.date.today()
    for seq, row in enumerate(store.db.execute_sql(sql, params), start=1):
        d = dict(zip(ROW_KEYS, row, strict=True))
        d["seq"] = seq
        d["age"] = age_on(d.get("birth_date"), today)
        if not d.get("address"):
            d["address"] = d.get("current_address")
        status = "deceased" if d.get("death_date") else "moved_out" if d.get("move_out_date") else "active"
        label = STATUS_LABELS[status]
        d["status"] = _(label)
        if not unmasked:
            for key in MASKED:
                d[key] = mask(key, d.get(key))
        yield d


def record_export(store, *, path: Path, rows: int, unmasked: bool, detail: dict[str, Any]) -> list[Change]:
    """The audit trail of an export (who, when, what, masked or in full); returns its Change."""
    return record_audit(store, action="export_unmasked" if unmasked else "export", target_table="person",
                 detail=json.dumps({"file": Path(path).name, "rows": rows, **detail}, ensure_ascii=False))


@gc_paused()
def export_people(store, path: str | Path, *, people: PeopleFilter | None = None,
                  columns: list[str] | tuple[str, ...] | None = None, unmasked: bool = False,
                  title: str | None = None, state=None) -> int:
    """Write the residents matching `people` to an .xlsx list; returns the number of rows."""
    from rustpy_xlsxwriter import Format, write_worksheet

    if unmasked:
        require_unmasked(store)
    path = Path(path)
    people = people or PeopleFilter()
    described = people.describe()
    columns = columns_for(people, columns or ())
    people = resolve_filter(store, people)
    total = count_people(store, people)
    labels = [column_label(c) for c in columns]
    step(state, 0, total, _("Exporting…"))
    # Title above the header; every value as text so ID numbers never turn into numbers.
    title = title or _("Residents list, exported {date}").format(date=dt.date.today().isoformat())

    def records() -> Iterator[dict[str, Any]]:
        n = 0
        for n, d in enumerate(iter_people(store, people, unmasked=unmasked), start=1):
            if (n & 4095) == 0:
                step(state, n, total, _("Exporting…"))
            yield {label: ("" if d.get(key) is None else (d[key] if key in ("seq", "age") else str(d[key])))
                   for key, label in zip(columns, labels, strict=True)}
        if n == 0:
            yield dict.fromkeys(labels, "")  # the header row needs one record, even an empty one

    header = Format().set_bold().set_background_color("#DDEBF7").set_border("thin").set_text_wrap()
    tmp = path.with_name(path.name + ".part")
    try:
        write_worksheet(records(), str(tmp), sheet_name=_("Residents"), header_row=1, freeze_row=2,
                        column_widths=[float(WIDTHS.get(c, 12)) for c in columns], header_format=header,
                        merge_ranges=[(0, 0, 0, max(0, len(columns) - 1), title)], autofilter=True,
                        # Printed: A4 landscape, one page wide, the header repeated on every page.
                        page_setup={"landscape": True, "paper_size": 9, "fit_to_pages": (1, 0),
                                    "repeat_rows": (1, 1)})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    with store.db.atomic():
        record_export(store, path=path, rows=total, unmasked=unmasked,
                      detail={"filter": described, "columns": list(columns)})
    step(state, total, total, _("Exported {n} rows").format(n=total))
    return total
