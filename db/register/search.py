"""Register queries for the list: search-as-you-type and filters over the local index.

`search_ids` returns index row ids in list order (for a lazy table model); `fetch_rows` returns
the displayed values of a block of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from db.register.common import today
from db.validation import normalize_text

ROW_KEYS = ("rowid", "person_id", "household_id", "membership_id", "name", "sex", "birth_date", "id_number",
            "phone", "relation", "address", "residence_status", "person_type", "status", "tags", "due_date",
            "last_visit", "grid_id", "building_id")


@dataclass
class Filters:
    text: str = ""
    place_level: str | None = None  # grid | compound | building | unit
    place_id: str | None = None
    tag_id: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    residence_status: str | None = None
    status: str = "active"  # active | moved_out | deceased | all
    overdue: bool = False


@dataclass
class SearchResult:
    ids: list[int] = field(default_factory=list)
    truncated: bool = False


def _years_before(on: dt.date, years: int) -> dt.date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def build_query(filters: Filters, *, on: dt.date | None = None) -> tuple[str, list[Any]]:
    """The SQL (on register_search s) selecting matching rowids in list order, and its parameters."""
    on = on or today()
    where: list[str] = []
    params: list[Any] = []
    text = normalize_text(filters.text).lower()
    for term in text.split():
        if len(term) >= 3:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("s.rowid in (select rowid from register_fts where haystack like ? escape '\\')")
            params.append(f"%{escaped}%")
        else:
            where.append("instr(s.haystack, ?) > 0")
            params.append(term)
    if filters.place_id and filters.place_level in ("grid", "compound", "building", "unit"):
        where.append(f"s.{filters.place_level}_id = ?")
        params.append(filters.place_id)
    if filters.tag_id:
        where.append("instr(s.tag_ids, ?) > 0")
        params.append(f",{filters.tag_id},")
    if filters.age_min is not None:
        where.append("s.birth_date <= ?")
        params.append(_years_before(on, filters.age_min).isoformat())
    if filters.age_max is not None:
        where.append("s.birth_date > ?")
        params.append(_years_before(on, filters.age_max + 1).isoformat())
    if filters.residence_status:
        where.append("s.residence_status = ?")
        params.append(filters.residence_status)
    if filters.status != "all":
        where.append("s.status = ?")
        params.append(filters.status)
    if filters.overdue:
        where.append("s.due_date is not null and s.due_date < ?")
        params.append(on.isoformat())
    sql = "select s.rowid from register_search s"
    if where:
        sql += " where " + " and ".join(where)
    return sql + " order by s.sort_key", params


def search_ids(store, filters: Filters, *, limit: int | None = 20_000, on: dt.date | None = None) -> SearchResult:
    """Matching index rows in list order; at most `limit` (truncated says there were more)."""
    sql, params = build_query(filters, on=on)
    if limit is not None:
        sql += " limit ?"
        params.append(limit + 1)
    ids = [r[0] for r in store.db.execute_sql(sql, params)]
    truncated = limit is not None and len(ids) > limit
    return SearchResult(ids[:limit] if truncated else ids, truncated)


def fetch_rows(store, rowids: list[int]) -> dict[int, dict[str, Any]]:
    """Displayed values of index rows, by rowid (rows gone since are missing)."""
    out: dict[int, dict[str, Any]] = {}
    cols = ",".join(f"s.{k}" for k in ROW_KEYS)
    for start in range(0, len(rowids), 500):
        chunk = rowids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.db.execute_sql(f"select {cols} from register_search s where s.rowid in ({marks})",
                                        tuple(chunk)):
            out[row[0]] = dict(zip(ROW_KEYS, row, strict=True))
    return out


def row_for_person(store, person_id: str) -> int | None:
    row = store.db.execute_sql("select rowid from register_search where person_id = ?", (person_id,)).fetchone()
    return row[0] if row else None


def age_on(birth_date: str | None, on: dt.date | None = None) -> int | None:
    if not birth_date:
        return None
    on = on or today()
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
