"""Residents' needs (空巢/独居 elders, 留守 children, disabled residents from the register's tags)
matched to volunteers by skill, availability and distance: same building, then compound, then grid.

A match is a row; each service done for a need is an activity with a service record, so it counts
as hours once approved like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from db import oplog
from db.models.volunteers import Need, NeedMatch
from db.oplog import Change
from db.validation import normalize_text
from db.volunteers import service
from db.volunteers.common import fail, now_text, parse_clock
from db.volunteers.roster import _in_chunks, availability_map
from i18n import N_, _

NEED_TAGS = ("独居老人", "空巢老人", "孤寡老人", "留守儿童", "困境儿童", "残疾人")
FREQUENCIES = ("每周", "每两周", "每月", "一次")
DISTANCE_LABELS = (N_("same building"), N_("same compound"), N_("same grid"), N_("elsewhere"))


def save_need(store, *, person_id: str, help: str, skill: str | None = None, frequency: str | None = "每周",
              weekday: int | None = None, start: str | None = None, end: str | None = None,
              notes: str | None = None, need_id: str | None = None) -> list[Change]:
    help = normalize_text(help)
    if not help:
        fail(_("Help needed: it is required."), "help")
    if store.db.execute_sql("select 1 from person where id = ? and deleted = 0", (person_id,)).fetchone() is None:
        fail(_("Resident: not found in the register."), "person_id")
    if weekday is not None and not 1 <= int(weekday) <= 7:
        fail(_("Weekday: it must be 1 (Monday) to 7 (Sunday)."), "weekday")
    s = parse_clock(start, field="start", label=_("Start")) if start else None
    e = parse_clock(end, field="end", label=_("End")) if end else None
    if s and e and e <= s:
        fail(_("End: it is before the start."), "end")
    row: dict[str, Any] = {"person_id": person_id, "help": help, "skill": normalize_text(skill) or None,
                           "frequency": frequency, "weekday": weekday, "start": s, "end": e,
                           "notes": normalize_text(notes) or None}
    if need_id:
        row["id"] = need_id
    else:
        row["status"] = "open"
    with store.db.atomic():
        return oplog.write(store, Need, [row])


def candidates_from_tags(store, limit: int = 500) -> list[dict[str, Any]]:
    """Residents with a need tag and no open need yet: who may need a helper."""
    marks = ",".join("?" * len(NEED_TAGS))
    keys = ("person_id", "name", "tag", "address")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select p.id, p.name, group_concat(t.name, '、'), p.current_address from person_tag pt join tag t on "
        "t.id = pt.tag_id join person p on p.id = pt.person_id where pt.deleted = 0 and pt.end_date is null and "
        f"t.name in ({marks}) and p.deleted = 0 and p.death_date is null and p.move_out_date is null and not exists"
        "(select 1 from vol_need n where n.person_id = p.id and n.deleted = 0 and n.status != 'closed') "
        "group by p.id order by p.current_address limit ?", (*NEED_TAGS, limit))]


def list_needs(store, *, status: str | None = None) -> list[dict[str, Any]]:
    keys = ("id", "person_id", "name", "address", "help", "skill", "frequency", "weekday", "start", "end", "status",
            "helpers")
    where, params = "n.deleted = 0", []
    if status:
        where += " and n.status = ?"
        params.append(status)
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select n.id, n.person_id, p.name, p.current_address, n.help, n.skill, n.frequency, n.weekday, n.start, "
        "n.end, n.status, (select group_concat(coalesce(pp.name, v.name), '、') from vol_need_match m join volunteer v "
        "on v.id = m.volunteer_id left join person pp on pp.id = v.person_id where m.need_id = n.id and "
        "m.deleted = 0 and m.status = 'active') from vol_need n join person p on p.id = n.person_id "
        f"where {where} order by n.status, p.current_address", params)]


def _places(store, person_ids: list[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
    """person -> (building, compound, grid) of the household they live in now."""
    out: dict[str, tuple[str | None, str | None, str | None]] = {}
    for pid, building, compound, grid in _in_chunks(
            store, "select m.person_id, b.id, b.compound_id, h.grid_id from membership m join household h on "
                   "h.id = m.household_id left join unit u on u.id = h.unit_id left join building b on "
                   "b.id = u.building_id where m.deleted = 0 and m.until is null and m.person_id in", person_ids):
        out.setdefault(pid, (building, compound, grid))
    return out


@dataclass
class Suggestion:
    volunteer_id: str
    name: str
    number: str
    distance: int  # 0 same building, 1 compound, 2 grid, 3 elsewhere
    skill_match: bool
    available: bool
    load: int  # active matches already
    reason: str


def _free_at(slots, weekday: int | None, start: str | None, end: str | None) -> bool:
    if weekday is None or not slots:
        return True  # no time given, or the volunteer's availability not recorded
    return any(w == weekday and (not start or s <= start) and (not end or end <= e) for w, s, e in slots)


def suggest(store, *, need_id: str, limit: int = 10) -> list[Suggestion]:
    """Volunteers for a need: with the skill (when the need names one) and available then, nearest
    first (same building, compound, grid), then those with fewer needs already, then by number."""
    row = store.db.execute_sql("select person_id, skill, weekday, start, end from vol_need where id = ?",
                               (need_id,)).fetchone()
    if row is None:
        fail(_("Need: not found."), "need_id")
    person_id, skill, weekday, start, end = row
    sql = ("select v.id, coalesce(p.name, v.name), v.number, v.person_id from volunteer v left join person p on "
           "p.id = v.person_id where v.deleted = 0 and coalesce(v.status, 'active') = 'active' and "
           "(v.person_id is null or v.person_id != ?)")
    params: list[Any] = [person_id]
    if skill:
        sql += " and exists(select 1 from vol_skill k where k.volunteer_id = v.id and k.skill = ? and k.deleted = 0)"
        params.append(skill)
    volunteers = store.db.execute_sql(sql, params).fetchall()
    already = {r[0] for r in store.db.execute_sql(
        "select volunteer_id from vol_need_match where need_id = ? and deleted = 0 and status = 'active'", (need_id,))}
    ids = [v[0] for v in volunteers if v[0] not in already]
    slots = availability_map(store, ids)
    places = _places(store, [person_id] + [v[3] for v in volunteers if v[3]])
    home = places.get(person_id, (None, None, None))
    load = dict(store.db.execute_sql("select volunteer_id, count(*) from vol_need_match where deleted = 0 and "
                                     "status = 'active' group by volunteer_id"))
    found = []
    for vid, name, number, pid in volunteers:
        if vid in already or not _free_at(slots.get(vid), weekday, start, end):
            continue
        place = places.get(pid, (None, None, None)) if pid else (None, None, None)
        distance = next((i for i in range(3) if place[i] and place[i] == home[i]), 3)
        reason = "、".join(x for x in (_(DISTANCE_LABELS[distance]), skill or "",
                                        _("free then") if weekday else "") if x)
        found.append(Suggestion(vid, name or "", number or "", distance, bool(skill), True, load.get(vid, 0), reason))
    found.sort(key=lambda s: (s.distance, s.load, s.number))
    return found[:limit]


def match(store, *, need_id: str, volunteer_id: str) -> list[Change]:
    if store.db.execute_sql("select 1 from vol_need_match where need_id = ? and volunteer_id = ? and deleted = 0 "
                            "and status = 'active'", (need_id, volunteer_id)).fetchone():
        fail(_("Volunteer: already helping with this need."), "volunteer_id")
    with store.db.atomic():
        changes = oplog.write(store, NeedMatch, [{"need_id": need_id, "volunteer_id": volunteer_id,
                                                  "matched_at": now_text(), "by": store.user, "status": "active"}])
        changes += oplog.write(store, Need, [{"id": need_id, "status": "matched"}])
        return changes


def record_need_service(store, *, need_id: str, volunteer_id: str, sign_in, sign_out,
                        content: str | None = None, travel_minutes: int = 0) -> list[Change]:
    """A service done for a need: an activity for that resident and its service record (to approve)."""
    row = store.db.execute_sql("select n.help, p.name, p.current_address from vol_need n join person p on "
                               "p.id = n.person_id where n.id = ?", (need_id,)).fetchone()
    if row is None:
        fail(_("Need: not found."), "need_id")
    help_text, name, address = row
    team = store.db.execute_sql("select m.team_id from vol_team_member m where m.volunteer_id = ? and m.deleted = 0 "
                                "and m.until is null limit 1", (volunteer_id,)).fetchone()
    start = sign_in if isinstance(sign_in, dt.datetime) else dt.datetime.fromisoformat(str(sign_in).replace(" ", "T"))
    end = sign_out if isinstance(sign_out, dt.datetime) else \
        dt.datetime.fromisoformat(str(sign_out).replace(" ", "T"))
    if end <= start:
        fail(_("Sign-out time: it is before the sign-in time ({start}).").format(
            start=start.strftime("%Y-%m-%d %H:%M")), "sign_out")
    with store.db.atomic():
        changes = service.save_activity(store, team_id=team[0] if team else None, title=help_text, start=start,
                                        end=end, place=address, beneficiaries=name, content=content or help_text,
                                        need_id=need_id)
        changes += service.record_service(store, activity_id=changes[0].row_id, volunteer_id=volunteer_id,
                                          sign_in=start, sign_out=end, travel_minutes=travel_minutes)
        return changes


def save_needs(store, needs: list[dict[str, Any]]) -> list[Change]:
    """Several needs at once (e.g. from the register's tags): one transaction, all or nothing."""
    changes: list[Change] = []
    with store.db.atomic():
        for need in needs:
            changes += save_need(store, **need)
    return changes
