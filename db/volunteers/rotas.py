"""值班 / 巡逻 rotas: shifts, the people on them and a leader; clashes across every rota and against
the volunteers' weekly availability; a fair rotation generator; patrol logs.

One person is often on several rotas (楼栋长, 党员, patrol): a clash is looked for across all of them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from db import oplog
from db.errors import ValidationError, ValidationErrors
from db.models.volunteers import PatrolLog, Rota, Shift, ShiftPerson
from db.oplog import Change
from db.validation import normalize_text
from db.volunteers.common import fail, now_text, parse_clock
from db.volunteers.roster import _in_chunks, availability_map, is_available
from i18n import N_, _

KINDS = {"duty": N_("Duty rota"), "patrol": N_("Patrol rota")}
DEFAULT_SLOTS = (("08:00", "12:00"), ("14:00", "18:00"))


def save_rota(store, *, name: str, kind: str = "duty", team_id: str | None = None, leader_id: str | None = None,
              place: str | None = None, phone: str | None = None, rota_id: str | None = None) -> list[Change]:
    name = normalize_text(name)
    if not name:
        fail(_("Rota name: it is required."), "name")
    if kind not in KINDS:
        fail(_("Rota kind: choose duty or patrol."), "kind")
    row: dict[str, Any] = {"name": name, "kind": kind, "team_id": team_id, "leader": leader_id,
                           "place": normalize_text(place) or None, "phone": normalize_text(phone) or None}
    if rota_id:
        row["id"] = rota_id
    with store.db.atomic():
        return oplog.write(store, Rota, [row])


def list_rotas(store) -> list[dict[str, Any]]:
    keys = ("id", "name", "kind", "team_id", "team_name", "leader", "place")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select r.id, r.name, r.kind, r.team_id, t.name, r.leader, r.place from vol_rota r left join vol_team t "
        "on t.id = r.team_id where r.deleted = 0 order by r.name")]


def add_shift(store, *, rota_id: str, day, start: str, end: str, leader_id: str | None = None,
              place: str | None = None) -> list[Change]:
    day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
    start = parse_clock(start, field="start", label=_("Shift start"))
    end = parse_clock(end, field="end", label=_("Shift end"))
    if end <= start:
        fail(_("Shift end: it is before the start."), "end")
    with store.db.atomic():
        return oplog.write(store, Shift, [{"rota_id": rota_id, "day": day.isoformat(), "start": start, "end": end,
                                           "leader": leader_id, "place": normalize_text(place) or None}])


def _shift(store, shift_id: str) -> tuple | None:
    return store.db.execute_sql("select s.rota_id, s.day, s.start, s.end, r.name from vol_shift s join vol_rota r "
                                "on r.id = s.rota_id where s.id = ?", (shift_id,)).fetchone()


def clashes(store, *, volunteer_id: str, day: str, start: str, end: str, exclude_shift: str | None = None,
            slots: list | None = None) -> list[str]:
    """Why this volunteer cannot well take this time: other shifts (any rota), not available."""
    reasons = []
    for rota, s_start, s_end in store.db.execute_sql(
            "select r.name, s.start, s.end from vol_shift_person sp join vol_shift s on s.id = sp.shift_id "
            "join vol_rota r on r.id = s.rota_id where sp.volunteer_id = ? and sp.deleted = 0 and s.deleted = 0 "
            "and r.deleted = 0 and s.day = ? and s.start < ? and s.end > ? and s.id != ?",
            (volunteer_id, day, end, start, exclude_shift or "")):
        reasons.append(_("also on {rota} {start}-{end}").format(rota=rota, start=s_start, end=s_end))
    if slots is None:
        slots = availability_map(store, [volunteer_id]).get(volunteer_id)
    if not is_available(slots, dt.date.fromisoformat(day), start, end):
        reasons.append(_("not available then"))
    return reasons


def assign(store, *, shift_id: str, volunteer_id: str, allow_clash: bool = False) -> list[Change]:
    """Put a volunteer on a shift. A clash is refused with its reason unless allow_clash (the user saw it)."""
    found = _shift(store, shift_id)
    if found is None:
        fail(_("Shift: not found."), "shift_id")
    _rota, day, start, end, _name = found
    if store.db.execute_sql("select 1 from vol_shift_person where shift_id = ? and volunteer_id = ? and deleted = 0",
                            (shift_id, volunteer_id)).fetchone():
        fail(_("Volunteer: already on this shift."), "volunteer_id")
    reasons = clashes(store, volunteer_id=volunteer_id, day=day, start=start, end=end, exclude_shift=shift_id)
    if reasons and not allow_clash:
        error = ValidationErrors([ValidationError(_("Volunteer: clash on {day} {start}-{end}: {reasons}.").format(
            day=day, start=start, end=end, reasons="；".join(reasons)), field="volunteer_id")])
        error.clashes = reasons  # the screen offers "assign despite the clash" for these only
        raise error
    with store.db.atomic():
        return oplog.write(store, ShiftPerson, [{"shift_id": shift_id, "volunteer_id": volunteer_id}])


def clash_reasons_of(error: BaseException) -> list[str]:
    """The clash reasons an `assign` refusal carries (empty for other refusals)."""
    return list(getattr(error, "clashes", None) or [])


def unassign(store, *, shift_id: str, volunteer_id: str) -> list[Change]:
    rows = [{"id": r[0], "deleted": 1} for r in store.db.execute_sql(
        "select id from vol_shift_person where shift_id = ? and volunteer_id = ? and deleted = 0",
        (shift_id, volunteer_id))]
    with store.db.atomic():
        return oplog.write(store, ShiftPerson, rows)


def week(store, *, rota_id: str, monday: dt.date) -> list[dict[str, Any]]:
    """The rota's shifts of the week with their people and each person's clashes."""
    days = [(monday + dt.timedelta(days=i)).isoformat() for i in range(7)]
    shifts = [dict(zip(("id", "day", "start", "end", "leader", "place"), r, strict=True)) for r in store.db.execute_sql(
        "select id, day, start, end, leader, place from vol_shift where rota_id = ? and deleted = 0 and day >= ? "
        "and day <= ? order by day, start", (rota_id, days[0], days[-1]))]
    if not shifts:
        return []
    people: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, vid, name in _in_chunks(store, "select sp.shift_id, sp.volunteer_id, coalesce(p.name, v.name) "
                                            "from vol_shift_person sp join volunteer v on v.id = sp.volunteer_id "
                                            "left join person p on p.id = v.person_id where sp.deleted = 0 and "
                                            "sp.shift_id in {ids} order by v.number", [s["id"] for s in shifts]):
        people[sid].append((vid, name))
    slots = availability_map(store, list({vid for ps in people.values() for vid, _n in ps}))
    for s in shifts:
        s["people"] = [{"id": vid, "name": name,
                        "clashes": clashes(store, volunteer_id=vid, day=s["day"], start=s["start"], end=s["end"],
                                           exclude_shift=s["id"], slots=slots.get(vid))}
                       for vid, name in people[s["id"]]]
    return shifts


def loads(store, *, rota_id: str) -> dict[str, int]:
    return dict(store.db.execute_sql(
        "select sp.volunteer_id, count(*) from vol_shift_person sp join vol_shift s on s.id = sp.shift_id "
        "where s.rota_id = ? and s.deleted = 0 and sp.deleted = 0 group by sp.volunteer_id", (rota_id,)))


# -- the generator --------------------------------------------------------------------------------

@dataclass
class RotaPlan:
    rota_id: str
    volunteer_ids: list[str]
    start: dt.date
    weeks: int = 4
    slots: tuple[tuple[str, str], ...] = DEFAULT_SLOTS
    per_shift: int = 2
    leader_id: str | None = None
    place: str | None = None


@dataclass
class Generated:
    shifts: int = 0
    assignments: int = 0
    unfilled: int = 0  # places on shifts for which no available volunteer was left
    loads: dict[str, dict[str, int]] = field(default_factory=dict)  # rota -> volunteer -> shifts
    # rota -> volunteer -> shifts the volunteer was available and free for when it was filled
    could: dict[str, dict[str, int]] = field(default_factory=dict)

    # rota -> the largest load gap availability allowed to close: on some shift, a person with this
    # many shifts more than a volunteer who was free for it (fair: at most 1)
    gaps: dict[str, int] = field(default_factory=dict)
    planning_seconds: float = 0.0  # the rotation itself, before the rows are written

    def spread(self, rota_id: str) -> int:
        return self.gaps.get(rota_id, 0)


def _busy(store, first: str, last: str) -> dict[str, dict[str, list[tuple[str, str]]]]:
    busy: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for vid, day, start, end in store.db.execute_sql(
            "select sp.volunteer_id, s.day, s.start, s.end from vol_shift s join vol_shift_person sp on "
            "sp.shift_id = s.id where s.deleted = 0 and sp.deleted = 0 and s.day >= ? and s.day <= ?", (first, last)):
        busy[vid][day].append((start, end))
    return busy


def generate(store, plans: list[RotaPlan]) -> Generated:
    """Shifts for each plan's weeks, filled fairly: each place goes to the least-loaded volunteer who
    is available and free then (no one twice in a shift, no clash with any rota, generated or not).
    With availability allowing, loads differ by at most one."""
    result = Generated()
    if not plans:
        return result
    started = time.perf_counter()
    first = min(p.start for p in plans).isoformat()
    last = max(p.start + dt.timedelta(days=7 * p.weeks) for p in plans).isoformat()
    busy = _busy(store, first, last)
    everyone = list({v for p in plans for v in p.volunteer_ids})
    slots = availability_map(store, everyone)
    shift_rows, person_rows = [], []
    from db.ids import new_id

    for plan in plans:
        people = plan.volunteer_ids
        n = len(people)
        order = {v: i for i, v in enumerate(people)}
        # The plan's shifts and, for each, who is available then and free of every other rota.
        shifts: list[tuple[str, str, str, str]] = []  # (id, day, start, end)
        free: list[list[str]] = []
        weekly: dict[tuple[int, str, str], list[str]] = {}  # availability repeats every week
        for d in range(7 * plan.weeks):
            day = plan.start + dt.timedelta(days=d)
            iso = day.isoformat()
            for start, end in plan.slots:
                shifts.append((new_id(), iso, start, end))
                key = (day.isoweekday(), start, end)
                available = weekly.get(key)
                if available is None:
                    available = weekly[key] = [v for v in people if is_available(slots.get(v), day, start, end)]
                free.append([v for v in available
                             if not (v in busy and any(s < end and e > start for s, e in busy[v].get(iso, ())))])
        could = dict.fromkeys(people, 0)
        for candidates in free:
            for v in candidates:
                could[v] += 1
        remaining = dict(could)  # chances still to come, per volunteer
        load = dict.fromkeys(people, 0)
        on: list[list[str]] = []
        mine: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        turn = 0
        for (_shift_id, iso, start, end), candidates in zip(shifts, free, strict=True):
            for v in candidates:
                remaining[v] -= 1
            usable = [v for v in candidates if not any(s < end and e > start for s, e in mine[v][iso])]
            # Least loaded first; among equals the one with fewer chances left (who would otherwise
            # lose the few shifts they can take), then a rotating position so the turn moves on.
            usable.sort(key=lambda v: (load[v], remaining[v], (order[v] - turn) % n))
            chosen = usable[:plan.per_shift]
            turn += len(chosen)
            for v in chosen:
                load[v] += 1
                mine[v][iso].append((start, end))
            on.append(chosen)
        _even_out(shifts, free, on, load, mine)
        for (shift_id, iso, start, end), chosen in zip(shifts, on, strict=True):
            shift_rows.append({"id": shift_id, "rota_id": plan.rota_id, "day": iso, "start": start, "end": end,
                               "leader": plan.leader_id, "place": plan.place})
            result.unfilled += plan.per_shift - len(chosen)
            for v in chosen:
                busy[v][iso].append((start, end))
                person_rows.append({"shift_id": shift_id, "volunteer_id": v})
        result.loads[plan.rota_id] = load
        result.could[plan.rota_id] = could
        result.gaps[plan.rota_id] = max(
            (max(load[v] for v in chosen) - min(load[u] for u in candidates if u not in chosen)
             for chosen, candidates in zip(on, free, strict=True) if chosen and set(candidates) - set(chosen)),
            default=0)
    result.planning_seconds = time.perf_counter() - started
    with store.db.atomic():
        oplog.write(store, Shift, shift_rows)
        oplog.write(store, ShiftPerson, person_rows)
    result.shifts, result.assignments = len(shift_rows), len(person_rows)
    return result


def _even_out(shifts, free, on, load, mine, rounds: int = 10_000) -> None:
    """Repair the greedy fill: while someone on a shift has two more shifts than a volunteer who is
    free for that shift, hand the shift over. Each swap narrows the spread; it stops when none helps."""
    for _round in range(rounds):
        improved = False
        for k, (_sid, iso, start, end) in enumerate(shifts):
            if not on[k]:
                continue
            heavy = max(on[k], key=lambda v: load[v])
            for u in sorted(free[k], key=lambda v: load[v]):
                if load[u] + 2 > load[heavy]:
                    break
                if u in on[k] or any(s < end and e > start for s, e in mine[u][iso]):
                    continue
                on[k][on[k].index(heavy)] = u
                mine[heavy][iso].remove((start, end))
                mine[u][iso].append((start, end))
                load[heavy] -= 1
                load[u] += 1
                improved = True
                break
        if not improved:
            return


# -- patrol logs ----------------------------------------------------------------------------------

def log_patrol(store, *, shift_id: str, route: str | None, findings: str | None, handled: str | None = None,
               by: str | None = None) -> list[Change]:
    if _shift(store, shift_id) is None:
        fail(_("Shift: not found."), "shift_id")
    if not normalize_text(findings) and not normalize_text(route):
        fail(_("Findings: write what the patrol found (or 无异常)."), "findings")
    with store.db.atomic():
        return oplog.write(store, PatrolLog, [{"shift_id": shift_id, "at": now_text(), "by": by or store.user,
                                               "route": normalize_text(route) or None,
                                               "findings": normalize_text(findings) or None,
                                               "handled": normalize_text(handled) or None}])


def patrol_logs(store, rota_id: str) -> list[dict[str, Any]]:
    keys = ("id", "day", "start", "end", "at", "by", "route", "findings", "handled")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select l.id, s.day, s.start, s.end, l.at, l.by, l.route, l.findings, l.handled from vol_patrol_log l "
        "join vol_shift s on s.id = l.shift_id where s.rota_id = ? and l.deleted = 0 order by l.at desc", (rota_id,))]


def printable_rota(store, *, rota_id: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Shifts between two days with names, leader and phones (for the printed rota)."""
    rows = []
    for sid, day, start, end, leader, place in store.db.execute_sql(
            "select id, day, start, end, leader, place from vol_shift where rota_id = ? and deleted = 0 and day >= ? "
            "and day <= ? order by day, start", (rota_id, first.isoformat(), last.isoformat())).fetchall():
        names = [(n, ph) for n, ph in store.db.execute_sql(
            "select coalesce(p.name, v.name), coalesce(p.phone, v.phone) from vol_shift_person sp join volunteer v "
            "on v.id = sp.volunteer_id left join person p on p.id = v.person_id where sp.shift_id = ? and "
            "sp.deleted = 0 order by v.number", (sid,))]
        lead = store.db.execute_sql("select coalesce(p.name, v.name), coalesce(p.phone, v.phone) from volunteer v "
                                    "left join person p on p.id = v.person_id where v.id = ?",
                                    (leader or "",)).fetchone()
        rows.append({"day": day, "start": start, "end": end, "place": place, "people": names,
                     "leader": lead[0] if lead else "", "leader_phone": lead[1] if lead else ""})
    return rows
