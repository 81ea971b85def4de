"""Statistics of the register: tags, residence status, age pyramid, places, visit coverage.

Computed over the local index (one row per live person, with address, tags and due date), so
each query is one scan of a narrow table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.register.common import AGE_BANDS, today
from db.register.search import _years_before
from db.validation import age_on

PYRAMID_STEP = 10
PYRAMID_TOP = 90


def by_tag(store) -> list[tuple[str, int]]:
    """Active persons per active tag, in the tag list's order."""
    counts = []
    for tid, name in store.db.execute_sql("select id, name from tag where deleted = 0 order by sort_order, name"):
        n = store.db.execute_sql("select count(*) from register_search where status = 'active' "
                                 "and instr(tag_ids, ?) > 0", (f",{tid},",)).fetchone()[0]
        counts.append((name, n))
    return counts


def by_residence_status(store) -> list[tuple[str, int]]:
    return [(s or "", n) for s, n in store.db.execute_sql(
        "select coalesce(residence_status, ''), count(*) from register_search where status = 'active' "
        "group by 1 order by 2 desc")]


def by_status(store) -> list[tuple[str, int]]:
    return list(store.db.execute_sql("select status, count(*) from register_search group by 1 order by 1"))


def age_bands(store, *, on: dt.date | None = None) -> list[tuple[str, int]]:
    on = on or today()
    out = []
    for label, lo, hi in AGE_BANDS:
        sql = "select count(*) from register_search where status = 'active' and birth_date <= ?"
        params: list[Any] = [_years_before(on, lo).isoformat()]
        if hi is not None:
            sql += " and birth_date > ?"
            params.append(_years_before(on, hi + 1).isoformat())
        out.append((label, store.db.execute_sql(sql, params).fetchone()[0]))
    return out


def age_pyramid(store, *, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Rows {band: '0-9', 男: n, 女: n}, youngest first; the last band is open (90+)."""
    on = on or today()
    counts: dict[tuple[int, str], int] = {}
    for birth, sex, n in store.db.execute_sql(
            "select substr(birth_date, 1, 10), sex, count(*) from register_search where status = 'active' "
            "and birth_date is not null group by 1, 2"):
        age = age_on(birth, on)
        if age is None:
            continue
        band = min(max(age, 0) // PYRAMID_STEP * PYRAMID_STEP, PYRAMID_TOP)
        counts[(band, sex or "")] = counts.get((band, sex or ""), 0) + n
    rows = []
    for lo in range(0, PYRAMID_TOP + 1, PYRAMID_STEP):
        label = f"{lo}+" if lo == PYRAMID_TOP else f"{lo}-{lo + PYRAMID_STEP - 1}"
        rows.append({"band": label, "男": counts.get((lo, "男"), 0), "女": counts.get((lo, "女"), 0)})
    return rows


def by_place(store, *, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Per grid, compound and building: households, active persons, households overdue for a visit."""
    on = on or today()
    rows = []
    for grid, compound, building, households, persons, overdue in store.db.execute_sql(
            "select g.name, c.name, b.name, count(distinct s.household_id), count(*), "
            "count(distinct case when s.due_date is not null and s.due_date < ? then s.household_id end) "
            "from register_search s left join grid g on g.id = s.grid_id left join building b on b.id = s.building_id "
            "left join compound c on c.id = s.compound_id "
            "where s.status = 'active' group by s.grid_id, s.compound_id, s.building_id order by g.name, c.name, b.name",
            (on.isoformat(),)):
        rows.append({"grid": grid or "", "compound": compound or "", "building": building or "", "households": households,
                     "persons": persons, "overdue": overdue})
    from db.register.index import natural_key

    rows.sort(key=lambda r: (natural_key(r["grid"]), natural_key(r["compound"]), natural_key(r["building"])))
    return rows


def visit_coverage(store, *, days: int = 182, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Per grid: households with someone met in the last `days` days, their share, and overdue ones."""
    on = on or today()
    since = (on - dt.timedelta(days=days)).isoformat()
    rows = []
    for grid, total, visited, overdue in store.db.execute_sql(
            "with hh as (select household_id, max(grid_id) as grid_id, max(last_visit) as last_visit, "
            "max(due_date) as due_date from register_search where status = 'active' and household_id is not null "
            "group by household_id) "
            "select g.name, count(*), sum(hh.last_visit >= ?), sum(hh.due_date < ?) from hh "
            "left join grid g on g.id = hh.grid_id group by hh.grid_id order by g.name", (since, on.isoformat())):
        total = total or 0
        rows.append({"grid": grid or "", "households": total, "visited": visited or 0,
                     "coverage": (visited or 0) / total if total else 0.0, "overdue": overdue or 0})
    from db.register.index import natural_key

    rows.sort(key=lambda r: natural_key(r["grid"]))
    return rows
