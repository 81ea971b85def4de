"""Home visits (入户走访) and the visits due, computed from the members' tag frequencies.

A household is due `interval` days after its last visit where someone was met; the interval is
the shortest `visit_interval_days` among the active tags of its current members, else the
default for ordinary households (twice a year). A 未遇 visit (nobody home) does not count as a
visit; its follow-up date makes the household due earlier.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.errors import ValidationError, ValidationErrors
from db.models.register import Visit
from db.oplog import Change, chunks
from db.register.common import Edit, default_visit_interval, iso, today
from db.validation import normalize_text, parse_date
from i18n import N_, _

FOLLOW_UP_DAYS_NOT_HOME = 7


def record_visit(store, *, household_id: str, visit_date, visitor: str, met: str | None = None,
                 not_home: bool = False, person_id: str | None = None, purpose: str | None = None,
                 situation: str | None = None, requests: str | None = None, outcome: str | None = None,
                 follow_up_date=None) -> list[Change]:
    """Record a visit; 未遇 (not_home) gets a follow-up date (a week later unless given)."""
    errors: list[ValidationError] = []
    day = None
    try:
        day = parse_date(visit_date, field="visit_date")
        if day is None:
            errors.append(ValidationError(_("The visit date is required."), field="visit_date"))
    except ValidationError as exc:
        errors.append(exc)
    follow = None
    try:
        follow = parse_date(follow_up_date, field="follow_up_date", allow_future=True)
    except ValidationError as exc:
        errors.append(exc)
    if not normalize_text(visitor):
        errors.append(ValidationError(_("Who visited? The visitor is required."), field="visitor"))
    if not not_home and not normalize_text(met):
        errors.append(ValidationError(_("Whom did you meet? Fill it in, or mark the visit as 未遇 (nobody home)."),
                                      field="met"))
    if day and follow and follow < day:
        errors.append(ValidationError(_("The follow-up date is before the visit date."), field="follow_up_date"))
    if errors:
        raise ValidationErrors(errors)
    if not_home and follow is None:
        follow = day + dt.timedelta(days=FOLLOW_UP_DAYS_NOT_HOME)
    row = {"household_id": household_id, "person_id": person_id, "visitor": normalize_text(visitor),
           "visit_date": day.isoformat(), "met": None if not_home else normalize_text(met),
           "not_home": int(bool(not_home)), "purpose": normalize_text(purpose) or None,
           "situation": normalize_text(situation) or None, "requests": normalize_text(requests) or None,
           "outcome": normalize_text(outcome) or None, "follow_up_date": iso(follow)}
    edit = Edit(store, N_("Record visit"))
    with store.db.atomic():
        edit.write(Visit, [row])
        return edit.finish()


def household_visits(store, household_id: str) -> list[dict[str, Any]]:
    keys = ("id", "visit_date", "visitor", "met", "not_home", "purpose", "situation", "requests", "outcome",
            "follow_up_date")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(keys)} from visit where household_id = ? and deleted = 0 "
        "order by visit_date desc, id desc", (household_id,))]


def recent_visits(store, *, limit: int = 500, since: str | None = None) -> list[dict[str, Any]]:
    """The visit log: newest first, with the household address."""
    keys = ("id", "household_id", "address", "visit_date", "visitor", "met", "not_home", "purpose",
            "situation", "outcome", "follow_up_date")
    sql = ("select v.id, v.household_id, h.address, v.visit_date, v.visitor, v.met, v.not_home, v.purpose, "
           "v.situation, v.outcome, v.follow_up_date from visit v left join household h on h.id = v.household_id "
           "where v.deleted = 0")
    params: list[Any] = []
    if since:
        sql += " and v.visit_date >= ?"
        params.append(since)
    sql += " order by v.visit_date desc, v.id desc limit ?"
    params.append(limit)
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(sql, params)]


_DUE_SQL = """
with hh as (select id from household where deleted = 0 {where}),
members as (
  select m.household_id, m.person_id from membership m join hh on hh.id = m.household_id
  join person p on p.id = m.person_id
  where m.deleted = 0 and m.until is null and p.deleted = 0 and p.merged_into is null
    and p.death_date is null and p.move_out_date is null),
intervals as (
  select members.household_id, min(t.visit_interval_days) as days,
         group_concat(distinct t.name) as reasons
  from members join person_tag pt on pt.person_id = members.person_id and pt.deleted = 0
    and (pt.start_date is null or pt.start_date <= :today) and (pt.end_date is null or pt.end_date >= :today)
  join tag t on t.id = pt.tag_id and t.deleted = 0 and t.visit_interval_days > 0
  group by members.household_id),
met as (select v.household_id, max(v.visit_date) as last_met from visit v join hh on hh.id = v.household_id
        where v.deleted = 0 and v.not_home = 0 group by v.household_id),
attempts as (select v.household_id, max(v.visit_date) as last_attempt, max(v.follow_up_date) as follow_up
             from visit v join hh on hh.id = v.household_id where v.deleted = 0 group by v.household_id)
select hh.id, coalesce(i.days, :default) as days, i.reasons, met.last_met, a.last_attempt, a.follow_up,
       exists(select 1 from members where members.household_id = hh.id) as lived_in
from hh left join intervals i on i.household_id = hh.id left join met on met.household_id = hh.id
left join attempts a on a.household_id = hh.id
"""


def compute_due(store, household_ids: list[str] | None = None, *, on: dt.date | None = None
                ) -> dict[str, dict[str, Any]]:
    """Per household: interval, reasons (tags), last met visit, due date ('' = never visited)."""
    on = on or today()
    default = default_visit_interval(store)
    out: dict[str, dict[str, Any]] = {}
    for chunk in [None] if household_ids is None else chunks(household_ids):
        if chunk is not None and not chunk:
            continue
        params: dict[str, Any] = {"today": on.isoformat(), "default": default}
        where = ""
        if chunk is not None:
            where = "and id in (" + ",".join(f":h{i}" for i in range(len(chunk))) + ")"
            params.update({f"h{i}": hid for i, hid in enumerate(chunk)})
        rows = store.db.execute_sql(_DUE_SQL.format(where=where), params)
        for hid, days, reasons, last_met, last_attempt, follow_up, lived_in in rows:
            due = ""
            if last_met:
                due = (dt.date.fromisoformat(last_met) + dt.timedelta(days=int(days))).isoformat()
            if follow_up and last_attempt and (not last_met or last_attempt > last_met) and (not due or follow_up < due):
                due = follow_up
            out[hid] = {"household_id": hid, "interval_days": int(days), "reasons": reasons or "",
                        "last_met": last_met, "last_attempt": last_attempt, "follow_up": follow_up, "due_date": due,
                        "lived_in": bool(lived_in)}
    return out


def visits_due(store, *, on: dt.date | None = None, within_days: int = 0, grid_id: str | None = None
               ) -> list[dict[str, Any]]:
    """Households whose visit is due by on + within_days, most overdue first, with address and head."""
    on = on or today()
    horizon = (on + dt.timedelta(days=within_days)).isoformat()
    ids = None
    if grid_id:
        ids = [r[0] for r in store.db.execute_sql("select id from household where deleted = 0 and grid_id = ?",
                                                  (grid_id,))]
    # Households where nobody lives now (vacant, everyone moved out) are not on the list.
    due = [d for d in compute_due(store, ids, on=on).values() if d["lived_in"] and d["due_date"] <= horizon]
    info = {}
    hids = [d["household_id"] for d in due]
    for chunk in chunks(hids):
        marks = ",".join("?" * len(chunk))
        for hid, address, grid, head in store.db.execute_sql(
                f"select h.id, h.address, g.name, (select p.name from membership m join person p on p.id = m.person_id "
                f"where m.household_id = h.id and m.deleted = 0 and m.until is null and m.relation = '户主' limit 1) "
                f"from household h left join grid g on g.id = h.grid_id where h.id in ({marks})", tuple(chunk)):
            info[hid] = {"address": address, "grid": grid, "head": head}
    for d in due:
        d.update(info.get(d["household_id"], {}))
        d["overdue_days"] = (on - dt.date.fromisoformat(d["due_date"])).days if d["due_date"] else None
    due.sort(key=lambda d: (d["due_date"] != "", d["due_date"], d.get("address") or ""))
    return due


def grid_worker(store, household_id: str) -> str | None:
    """The grid worker named for the household's grid (the usual visitor), if any."""
    row = store.db.execute_sql(
        "select g.worker from household h left join unit u on u.id = h.unit_id "
        "left join building b on b.id = u.building_id left join compound c on c.id = b.compound_id "
        "join grid g on g.id = coalesce(h.grid_id, c.grid_id) where h.id = ?", (household_id,)).fetchone()
    return (row[0] or None) if row else None
