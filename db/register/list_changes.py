"""Which rows of the register list a write touched, from the Changes the services return.

The households list (views/households/browser.py) holds index row ids (register_search rowids)
and caches their contents; after a write it marks just these rows stale (Anki's browser model
does the same) instead of reloading every row. A change to a place or a tag may touch any row
(addresses, tag names): `everything` is then True.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from db.oplog import Change, chunks
from db.register.search import Filters, SearchResult, fetch_rows, search_ids

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
