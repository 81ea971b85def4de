"""Register queries for the list: search-as-you-type and filters over the local index.

`search_ids` returns index row ids in list order (for a lazy table model); `fetch_rows` returns
the displayed values of a block of them; after a write `list_update` says which rows the write
touched, from the Changes the services return, and which rows match now. The households list
(views/households/browser.py) holds index row ids (register_search rowids) and caches their
contents; it marks just the touched rows stale (Anki's browser model does the same) instead of
reloading every row. A change to a place or a tag may touch any row (addresses, tag names):
`everything` is then True.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from db.accounts.session import grid_scope, grid_sql
from db.oplog import Change, chunks
from db.register import postings
from db.register.common import today
from db.register.index import SEP
from db.validation import age_on, normalize_text  # noqa: F401  (age_on: re-exported)

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
    # The grids the logged-in user may see (a 网格员); None: all. Set by search_ids from the session.
    grid_ids: tuple[str, ...] | None = None


@dataclass
class SearchResult:
    ids: list[int] = field(default_factory=list)
    truncated: bool = False


def _years_before(on: dt.date, years: int) -> dt.date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


SEARCH_LIMIT = 1_000  # search-as-you-type shows the first matches and says when there are more
FTS_WINDOW = 7  # characters of a long term given to the trigram index


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
    if filters.grid_ids is not None:
        sql, grid_params = grid_sql("s.grid_id", filters.grid_ids)
        where.append(sql)
        params.extend(grid_params)
    return where, params


ROOM = "室"


def strip_room(text: str) -> str:
    """'101室' -> '101': doors are shown and indexed without 室, people type it often."""
    return text[:-1] if len(text) > 1 and text.endswith(ROOM) else text


def _terms(text: str) -> list[str]:
    """Search patterns: letters match the start of a pinyin or initials field (zs finds 张三, not
    李张山 whose initials are lzs); digits and Chinese characters match anywhere."""
    out = []
    for term in normalize_text(text).lower().split():
        term = strip_room(term)
        out.append(SEP + term if term.isascii() and term.isalpha() else term)
    return out


def build_query(filters: Filters, *, on: dt.date | None = None) -> tuple[str, list[Any]]:
    """The SQL selecting matching rowids in display order, and its parameters.

    Index rowids are in display order, so each plan reads candidates in rowid order and can stop
    at the limit: the longest term drives (FTS5 trigram for 3+ characters, else the narrow table
    of persons living here), the other terms and the filters are tested on each candidate.
    """
    on = on or today()
    terms = _terms(filters.text)
    where, params = _filter_predicates(filters, on)
    usable = [k for k, t in enumerate(terms) if len(t) < 3 or not any(c in t for c in "%_")]
    lead = max(usable, key=lambda k: len(terms[k])) if usable else None
    if lead is not None and len(terms[lead]) < 3 and filters.status != "active":
        lead = None  # the narrow table holds only persons living here
    term_where: list[str] = []
    term_params: list[Any] = []
    for k, term in enumerate(terms):
        if k == lead:
            continue
        term_where.append("instr(s.haystack, ?) > 0")
        term_params.append(term)
    if lead is None:
        conditions = term_where + where
        tail = (" where " + " and ".join(conditions)) if conditions else ""
        return f"select s.rowid from register_search s{tail} order by s.rowid", [*term_params, *params]
    term = terms[lead]
    if len(term) >= 3:
        # No ESCAPE clause: FTS5 would then scan instead of using the trigram index. A long term
        # (an ID typed from its start) has many common trigrams (420, 201, 019…): its last
        # characters find the few candidates, the whole term is then checked on each.
        probe = term
        if len(term) > FTS_WINDOW + 1:
            probe = term[-FTS_WINDOW:]
            term_where.insert(0, "instr(s.haystack, ?) > 0")
            term_params.insert(0, term)
        source, lead_sql, lead_param = "register_fts c", "c.haystack like ?", f"%{probe}%"
    elif _postable(term):
        # Postings: one character, one pinyin letter, or a pair of neighbouring characters (a name
        # or address piece: 张三, 3栋, 单元) are tokens of register_tok (FTS5, in rowid order).
        lead_param = postings.match(term)
        where_rest = _strip_status(filters, where, params)
        if not where_rest[0] and not term_where:
            return "select p.rowid from register_tok(?) p order by p.rowid", [lead_param]
        return _join_postings(lead_param, term_where, term_params, filters, where, params)
    else:
        source, lead_sql, lead_param = "register_short c", "instr(c.key, ?) > 0", term
    conditions = term_where + where
    if filters.status == "active" and len(term) < 3:
        # register_short holds only persons living here: that filter is already met.
        i = where.index("s.status = ?")
        conditions = term_where + where[:i] + where[i + 1:]
        params = params[:i] + params[i + 1:]
    if not conditions:
        return f"select c.rowid from {source} where {lead_sql} order by c.rowid", [lead_param]
    return (f"select c.rowid from {source} cross join register_search s on s.rowid = c.rowid where {lead_sql} and "
            f"{' and '.join(conditions)} order by c.rowid", [lead_param, *term_params, *params])


def _postable(term: str) -> bool:
    """1-2 character terms answered from register_tok: one pinyin letter, a Chinese character,
    or two characters of which one is Chinese (and none that the tokenizer splits at)."""
    if term.startswith(SEP):
        return len(term) == 2
    return 1 <= len(term) <= 2 and any(c >= "\u3400" for c in term) and postings.exact(term)


def _strip_status(filters: Filters, where: list[str], params: list[Any]) -> tuple[list[str], list[Any]]:
    """The filters without `status = active` (the posting tables hold only persons living here)."""
    if filters.status == "active" and "s.status = ?" in where:
        i = where.index("s.status = ?")
        return where[:i] + where[i + 1:], params[:i] + params[i + 1:]
    return where, params


def _join_postings(lead_param, term_where, term_params, filters, where, params):
    where, params = _strip_status(filters, where, params)
    conditions = term_where + where
    sql = "select p.rowid from register_tok(?) p cross join register_search s on s.rowid = p.rowid"
    if conditions:
        sql += " where " + " and ".join(conditions)
    return sql + " order by p.rowid", [lead_param, *term_params, *params]


def search_ids(store, filters: Filters, *, limit: int | None = SEARCH_LIMIT, on: dt.date | None = None
               ) -> SearchResult:
    """Matching index rows in list order; at most `limit` (truncated says there were more)."""
    grids = grid_scope(store)
    if grids is not None:
        filters = replace(filters, grid_ids=grids)
    sql, params = build_query(filters, on=on)
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
    grids = grid_scope(store)
    scope, scope_params = grid_sql("s.grid_id", grids) if grids is not None else ("1", [])
    for chunk in chunks(rowids):
        marks = ",".join("?" * len(chunk))
        for row in store.db.execute_sql(f"select {cols} from register_search s where s.rowid in ({marks}) "
                                        f"and {scope}", (*chunk, *scope_params)):
            out[row[0]] = dict(zip(ROW_KEYS, row, strict=True))
    return out


def row_for_person(store, person_id: str) -> int | None:
    row = store.db.execute_sql("select rowid from register_search where person_id = ?", (person_id,)).fetchone()
    return row[0] if row else None


# -- after a write: which rows of the list it touched -------------------------------------------
# Tables whose rows the register list shows (through the search index).
LIST_TABLES = frozenset({"person", "household", "membership", "person_tag", "tag", "visit", "grid", "compound",
                         "building", "unit"})
_EVERYTHING = frozenset({"tag", "grid", "compound", "building", "unit"})


@dataclass
class ListUpdate:
    """What the list needs after a write: the rows to fetch again, and the list when it changed."""

    stale_rowids: set[int] = field(default_factory=set)
    everything: bool = False
    result: SearchResult | None = None  # the matching rows now (the same filters)
    first_rows: dict[int, dict] = field(default_factory=dict)  # the first page, when the list changed


def stale_rows(store, changes: list[Change]) -> tuple[set[int], bool]:
    """(index rowids whose displayed values may have changed, whether any row may have)."""
    by_table: dict[str, list[str]] = {}
    for change in changes:
        by_table.setdefault(change.table, []).append(change.row_id)
    if by_table.keys() & _EVERYTHING:
        return set(), True
    db = store.db
    persons = set(by_table.get("person", ()))
    households = set(by_table.get("household", ()))
    for table, column in (("membership", "person_id"), ("person_tag", "person_id")):
        for part in chunks(by_table.get(table, [])):
            persons.update(r[0] for r in db.execute_sql(
                f'select {column} from "{table}" where id in ({",".join("?" * len(part))})', part))
    for part in chunks(by_table.get("visit", [])):
        households.update(r[0] for r in db.execute_sql(
            f'select household_id from visit where id in ({",".join("?" * len(part))})', part))
    rowids: set[int] = set()
    for column, ids in (("person_id", persons), ("household_id", households)):
        for part in chunks(sorted(i for i in ids if i)):
            rowids.update(r[0] for r in db.execute_sql(
                f'select rowid from register_search where {column} in ({",".join("?" * len(part))})', part))
    return rowids, False


def list_update(store, changes: list[Change], filters: Filters, *, limit: int | None, current: list[int],
                page: int = 200) -> ListUpdate:
    """Everything the list needs after `changes`, read off the GUI thread: the stale rows, and the
    matching rows again (a new person, a move out of the filter); the first page only when the
    list itself changed."""
    rowids, everything = stale_rows(store, changes)
    result = search_ids(store, filters, limit=limit)
    update = ListUpdate(stale_rowids=rowids, everything=everything)
    if result.ids != current:
        update.result = result
        update.first_rows = fetch_rows(store, result.ids[:page])
    return update
