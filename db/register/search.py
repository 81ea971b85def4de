"""Register queries for the list: search-as-you-type and filters over the local index.

`search_ids` returns index row ids in list order (for a lazy table model); `fetch_rows` returns
the displayed values of a block of them.
"""

from __future__ import annotations

import datetime as dt
import json
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


# Up to this many text matches, the matches are looked up by rowid and sorted; above it the
# list is read in display order and each row is tested (it stops early at the limit).
DENSE = 5_000
SEARCH_LIMIT = 1_000  # search-as-you-type shows the first matches and says when there are more


def _filter_predicates(filters: Filters, on: dt.date) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
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
    return where, params


def _terms(text: str) -> list[str]:
    return normalize_text(text).lower().split()


def _candidates(terms: list[str]) -> tuple[str, Any, int] | None:
    """The most selective term as a rowid query: FTS trigram for 3+ characters, else the narrow
    name/pinyin/ID/phone table. Returns (sql, parameter, index of the term)."""
    usable = [k for k, t in enumerate(terms) if len(t) < 3 or not any(c in t for c in "%_")]
    if not usable:
        return None
    i = max(usable, key=lambda k: len(terms[k]))
    term = terms[i]
    if len(term) >= 3:
        # No ESCAPE clause: FTS5 would then scan instead of using the trigram index.
        return "select rowid from register_fts where haystack like ?", f"%{term}%", i
    return "select rowid from register_short where instr(key, ?) > 0", term, i


def build_query(filters: Filters, *, on: dt.date | None = None, dense: bool = True
                ) -> tuple[str, list[Any]]:
    """The SQL selecting matching rowids in list order, and its parameters.

    dense=False: the caller passes the candidate rowids (a JSON array) as the first parameter;
    dense=True reads the list in display order and tests each row.
    """
    on = on or today()
    terms = _terms(filters.text)
    where, params = _filter_predicates(filters, on)
    cand = _candidates(terms)
    term_where: list[str] = []
    term_params: list[Any] = []
    for k, term in enumerate(terms):
        if cand and k == cand[2] and not dense:
            continue
        # A lone short term matches names, pinyin, initials, ID and phone; longer terms and
        # extra terms also match the address.
        column = "s.short_key" if cand and k == cand[2] and len(term) < 3 else "s.haystack"
        term_where.append(f"instr({column}, ?) > 0")
        term_params.append(term)
    conditions = term_where + where
    tail = (" where " + " and ".join(conditions)) if conditions else ""
    if cand and not dense:
        sql = (f"select s.rowid from json_each(?) c cross join register_search s on s.rowid = c.value"
               f"{tail} order by s.sort_key")
        return sql, [*term_params, *params]
    return f"select s.rowid from register_search s{tail} order by s.sort_key", [*term_params, *params]


def candidate_rowids(store, filters: Filters, cap: int = DENSE) -> list[int] | None:
    """Rowids matching the most selective text term, or None when there are more than cap (or no text)."""
    cand = _candidates(_terms(filters.text))
    if cand is None:
        return None
    rows = store.db.execute_sql(f"{cand[0]} limit {cap + 1}", (cand[1],)).fetchall()
    return None if len(rows) > cap else [r[0] for r in rows]


def search_ids(store, filters: Filters, *, limit: int | None = SEARCH_LIMIT, on: dt.date | None = None
               ) -> SearchResult:
    """Matching index rows in list order; at most `limit` (truncated says there were more)."""
    ids = candidate_rowids(store, filters)
    sql, params = build_query(filters, on=on, dense=ids is None)
    if ids is not None:
        if not ids:
            return SearchResult([], False)
        params.insert(0, json.dumps(ids))
    if limit is not None:
        sql += " limit ?"
        params.append(limit + 1)
    found = [r[0] for r in store.db.execute_sql(sql, params)]
    truncated = limit is not None and len(found) > limit
    return SearchResult(found[:limit] if truncated else found, truncated)


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
