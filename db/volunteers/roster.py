"""Teams, volunteers (linked to residents), team members, skills and weekly availability; search.

A volunteer who lives here links to the register: name, sex, birth date, ID and phone are read from
the person, never copied. Search: name, pinyin and initials (zs), volunteer number, skill, team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from db import oplog
from db.errors import ValidationError
from db.models.volunteers import (
    TeamMember,
    Volunteer,
    VolunteerAvailability,
    VolunteerSkill,
    VolunteerTeam,
)
from db.oplog import Change
from db.register.common import Edit
from db.register.index import name_pinyin
from db.validation import mask, normalize_text, parse_id_number
from db.volunteers.common import fail, parse_clock
from i18n import N_, _

# The volunteer's own fields, or the linked person's: one SQL expression each.
_PERSONAL = {
    "name": "coalesce(p.name, v.name)", "sex": "coalesce(p.sex, v.sex)",
    "birth_date": "coalesce(p.birth_date, v.birth_date)", "id_type": "coalesce(p.id_type, v.id_type)",
    "id_number": "coalesce(p.id_number, v.id_number)", "phone": "coalesce(p.phone, v.phone)",
}
_FROM = "from volunteer v left join person p on p.id = v.person_id"


# -- teams ----------------------------------------------------------------------------------------

def save_team(store, *, name: str, kind: str | None = None, leader_id: str | None = None,
              phone: str | None = None, notes: str | None = None, team_id: str | None = None) -> list[Change]:
    name = normalize_text(name)
    if not name:
        fail(_("Team name: it is required."), "name")
    row: dict[str, Any] = {"name": name, "kind": normalize_text(kind) or None, "leader": leader_id,
                           "phone": normalize_text(phone) or None, "notes": normalize_text(notes) or None}
    if team_id:
        row["id"] = team_id
    edit = Edit(store, N_("Edit volunteer team"))
    with store.db.atomic():
        edit.write(VolunteerTeam, [row])
        if leader_id:
            _ensure_member(edit, team_id or edit.changes[-1].row_id, leader_id, role="队长")
        return edit.finish()


def _ensure_member(edit: Edit, team_id: str, volunteer_id: str, *, role: str = "队员") -> None:
    db = edit.store.db
    found = db.execute_sql("select id, role from vol_team_member where team_id = ? and volunteer_id = ? "
                           "and deleted = 0 and until is null", (team_id, volunteer_id)).fetchone()
    if found is None:
        edit.write(TeamMember, [{"team_id": team_id, "volunteer_id": volunteer_id, "role": role,
                                 "since": dt.date.today().isoformat()}])
    elif found[1] != role and role == "队长":
        edit.write(TeamMember, [{"id": found[0], "role": role}])


def add_member(store, *, team_id: str, volunteer_id: str, role: str = "队员") -> list[Change]:
    edit = Edit(store, N_("Add team member"))
    with store.db.atomic():
        _ensure_member(edit, team_id, volunteer_id, role=role)
        return edit.finish()


def remove_member(store, *, team_id: str, volunteer_id: str) -> list[Change]:
    """The membership ends (kept in the history)."""
    edit = Edit(store, N_("Remove team member"))
    with store.db.atomic():
        rows = [{"id": r[0], "until": dt.date.today().isoformat()} for r in store.db.execute_sql(
            "select id from vol_team_member where team_id = ? and volunteer_id = ? and deleted = 0 "
            "and until is null", (team_id, volunteer_id))]
        edit.write(TeamMember, rows)
        return edit.finish()


def list_teams(store) -> list[dict[str, Any]]:
    keys = ("id", "name", "kind", "leader", "leader_name", "phone", "members")
    sql = ("select t.id, t.name, t.kind, t.leader, coalesce(p.name, v.name), t.phone, "
           "(select count(*) from vol_team_member m where m.team_id = t.id and m.deleted = 0 and m.until is null) "
           "from vol_team t left join volunteer v on v.id = t.leader left join person p on p.id = v.person_id "
           "where t.deleted = 0 order by t.name")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(sql)]


def team_members(store, team_id: str) -> list[str]:
    return [r[0] for r in store.db.execute_sql(
        "select m.volunteer_id from vol_team_member m join volunteer v on v.id = m.volunteer_id "
        "where m.team_id = ? and m.deleted = 0 and m.until is null and v.deleted = 0 "
        "order by v.number, v.id", (team_id,))]


# -- volunteers -----------------------------------------------------------------------------------

@dataclass
class Slot:
    weekday: int  # 1 = Monday
    start: str
    end: str


def next_number(store) -> str:
    """The next volunteer number: V + 6 digits (numbers from elsewhere are kept as they are)."""
    row = store.db.execute_sql("select max(cast(substr(number, 2) as integer)) from volunteer "
                               "where number glob 'V[0-9]*'").fetchone()
    return f"V{(row[0] or 0) + 1:06d}"


def save_volunteer(store, *, person_id: str | None = None, name: str | None = None, sex: str | None = None,
                   id_number: str | None = None, birth_date: str | None = None, phone: str | None = None,
                   number: str | None = None, skills: list[str] | None = None,
                   availability: list[Slot | tuple] | None = None, party_report: bool = False,
                   employer: str | None = None, team_ids: list[str] | None = None,
                   volunteer_id: str | None = None, notes: str | None = None) -> list[Change]:
    """Create or edit a volunteer. A resident (person_id) keeps name and ID in the register."""
    db = store.db
    row: dict[str, Any] = {"party_report": int(bool(party_report)), "employer": normalize_text(employer) or None,
                           "notes": normalize_text(notes) or None}
    if person_id:
        if db.execute_sql("select 1 from person where id = ? and deleted = 0", (person_id,)).fetchone() is None:
            fail(_("Resident: not found in the register."), "person_id")
        other = db.execute_sql("select id from volunteer where person_id = ? and deleted = 0 and id != ?",
                               (person_id, volunteer_id or "")).fetchone()
        if other:
            fail(_("Resident: this person is already a volunteer."), "person_id")
        row["person_id"] = person_id
    else:
        name = normalize_text(name)
        if not name and not volunteer_id:
            fail(_("Name: it is required (or choose a resident from the register)."), "name")
        if name:
            row["name"] = name
        if id_number:
            try:
                info = parse_id_number(id_number)
            except ValidationError as exc:
                fail(_("ID number: {problem}").format(problem=exc.message), "id_number")
            row.update(id_type="居民身份证", id_number=info.number,
                       birth_date=birth_date or info.birth_date.isoformat(), sex=sex or info.sex)
        else:
            row.update(sex=sex, birth_date=birth_date)
        row["phone"] = normalize_text(phone) or None
    if row["party_report"] and not row["employer"]:
        fail(_("Employer: a working party member who reports to the community names the employer."), "employer")
    slots = [s if isinstance(s, Slot) else Slot(*s) for s in (availability or [])]
    checked = []
    for s in slots:
        if not 1 <= int(s.weekday) <= 7:
            fail(_("Availability: the weekday must be 1 (Monday) to 7 (Sunday)."), "availability")
        start = parse_clock(s.start, field="availability", label=_("Availability"))
        end = parse_clock(s.end, field="availability", label=_("Availability"))
        if end <= start:
            fail(_("Availability: the end of a time span is before its start."), "availability")
        checked.append({"weekday": int(s.weekday), "start": start, "end": end})
    if number is not None:
        number = normalize_text(number)
        if number and db.execute_sql("select 1 from volunteer where number = ? and deleted = 0 and id != ?",
                                     (number, volunteer_id or "")).fetchone():
            fail(_("Volunteer number: {number} is already in use.").format(number=number), "number")
    edit = Edit(store, N_("Edit volunteer"))
    with db.atomic():
        if volunteer_id:
            row["id"] = volunteer_id
        else:
            row["number"] = number or next_number(store)
            row["status"] = "active"
            row["joined"] = dt.date.today().isoformat()
        if number and volunteer_id:
            row["number"] = number
        vid = edit.write(Volunteer, [row])[0].row_id
        if skills is not None:
            wanted = list(dict.fromkeys(normalize_text(s) for s in skills if normalize_text(s)))
            have = dict(db.execute_sql("select skill, id from vol_skill where volunteer_id = ? and deleted = 0",
                                       (vid,)).fetchall())
            edit.write(VolunteerSkill, [{"id": have[s], "deleted": 1} for s in have if s not in wanted]
                       + [{"volunteer_id": vid, "skill": s} for s in wanted if s not in have])
        if availability is not None:
            old = [r[0] for r in db.execute_sql(
                "select id from vol_availability where volunteer_id = ? and deleted = 0", (vid,))]
            edit.write(VolunteerAvailability, [{"id": i, "deleted": 1} for i in old]
                       + [{"volunteer_id": vid, **s} for s in checked])
        for team_id in team_ids or ():
            _ensure_member(edit, team_id, vid)
        return edit.finish()


def volunteer_info(store, volunteer_id: str) -> dict[str, Any] | None:
    cols = ", ".join(f"{expr} as {key}" for key, expr in _PERSONAL.items())
    row = store.db.execute_sql(
        f"select v.id, v.person_id, v.number, v.party_report, v.employer, v.status, v.joined, v.notes, {cols} "
        f"{_FROM} where v.id = ?", (volunteer_id,)).fetchone()
    if row is None:
        return None
    keys = ("id", "person_id", "number", "party_report", "employer", "status", "joined", "notes", *_PERSONAL)
    info = dict(zip(keys, row, strict=True))
    info["skills"] = skills_of(store, volunteer_id)
    info["availability"] = availability_of(store, volunteer_id)
    info["teams"] = [r[0] for r in store.db.execute_sql(
        "select t.name from vol_team_member m join vol_team t on t.id = m.team_id where m.volunteer_id = ? "
        "and m.deleted = 0 and m.until is null order by t.name", (volunteer_id,))]
    return info


def skills_of(store, volunteer_id: str) -> list[str]:
    return [r[0] for r in store.db.execute_sql(
        "select skill from vol_skill where volunteer_id = ? and deleted = 0 order by skill", (volunteer_id,))]


def availability_of(store, volunteer_id: str) -> list[Slot]:
    return [Slot(*r) for r in store.db.execute_sql(
        "select weekday, start, end from vol_availability where volunteer_id = ? and deleted = 0 "
        "order by weekday, start", (volunteer_id,))]


def availability_map(store, volunteer_ids=None) -> dict[str, list[tuple[int, str, str]]]:
    """volunteer id -> [(weekday, start, end)] (all volunteers when ids is None)."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    sql = "select volunteer_id, weekday, start, end from vol_availability where deleted = 0"
    rows = store.db.execute_sql(sql) if volunteer_ids is None else _in_chunks(store, sql + " and volunteer_id in",
                                                                              list(volunteer_ids))
    for vid, wd, start, end in rows:
        found.setdefault(vid, []).append((wd, start, end))
    return found


def _in_chunks(store, sql: str, ids: list[str]):
    """Run sql for ids in chunks: "{ids}" in sql is the placeholder list, else it goes at the end."""
    if "{ids}" not in sql:
        sql += " {ids}"
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        yield from store.db.execute_sql(sql.replace("{ids}", f"({','.join('?' * len(chunk))})"), tuple(chunk))


def is_available(slots: list[tuple[int, str, str]] | None, day: dt.date, start: str, end: str) -> bool:
    """A volunteer with no slots given is taken as available any time (availability not recorded)."""
    if not slots:
        return True
    wd = day.isoweekday()
    return any(w == wd and s <= start and end <= e for w, s, e in slots)


def find_person_volunteer(store, person_id: str) -> str | None:
    row = store.db.execute_sql("select id from volunteer where person_id = ? and deleted = 0",
                               (person_id,)).fetchone()
    return row[0] if row else None


# -- search ---------------------------------------------------------------------------------------

def _haystacks(store, ids: list[str]) -> list[tuple[str, str]]:
    if not ids:
        return []
    skills: dict[str, list[str]] = {}
    for vid, skill in _in_chunks(store, "select volunteer_id, skill from vol_skill where deleted = 0 and "
                                        "volunteer_id in", ids):
        skills.setdefault(vid, []).append(skill or "")
    teams: dict[str, list[str]] = {}
    for vid, team in _in_chunks(store, "select m.volunteer_id, t.name from vol_team_member m join vol_team t "
                                       "on t.id = m.team_id where m.deleted = 0 and m.until is null and "
                                       "m.volunteer_id in", ids):
        teams.setdefault(vid, []).append(team or "")
    rows = []
    for vid, name, number in _in_chunks(store, "select v.id, coalesce(p.name, v.name), v.number from volunteer v "
                                               "left join person p on p.id = v.person_id where v.id in", ids):
        full, initials = name_pinyin(name or "")
        text = " ".join((name or "", full, initials, number or "", *skills.get(vid, ()), *teams.get(vid, ())))
        rows.append((vid, text.lower()))
    return rows


def refresh_search(store, volunteer_ids: list[str]) -> None:
    ids = list(dict.fromkeys(volunteer_ids))
    rows = _haystacks(store, ids)
    cursor = store.db.cursor()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        cursor.execute(f"delete from vol_search where volunteer_id in ({','.join('?' * len(chunk))})", chunk)
    cursor.executemany("insert into vol_search(volunteer_id, haystack) values (?, ?)", rows)


def _hook_volunteer(store, ids):
    refresh_search(store, ids)


def _hook_by_column(table: str, column: str):
    def hook(store, ids):
        vids = [r[0] for r in _in_chunks(store, f'select distinct {column} from "{table}" where id in', list(ids))]
        refresh_search(store, [v for v in vids if v])
    return hook


def _hook_team(store, ids):
    vids = [r[0] for r in _in_chunks(store, "select distinct volunteer_id from vol_team_member where team_id in",
                                     list(ids))]
    refresh_search(store, vids)


def _hook_person(store, ids):
    if store.db.execute_sql("select not exists(select 1 from volunteer)").fetchone()[0]:
        return
    vids = [r[0] for r in _in_chunks(store, "select id from volunteer where person_id in", list(ids))]
    if vids:
        refresh_search(store, vids)


_SKILL_HOOK = _hook_by_column("vol_skill", "volunteer_id")
_MEMBER_HOOK = _hook_by_column("vol_team_member", "volunteer_id")


def install_hooks(store) -> None:
    """Keep this store's volunteer search rows current: called by Store.__init__."""
    oplog.add_row_hook(store, "volunteer", _hook_volunteer)
    oplog.add_row_hook(store, "vol_skill", _SKILL_HOOK)
    oplog.add_row_hook(store, "vol_team_member", _MEMBER_HOOK)
    oplog.add_row_hook(store, "vol_team", _hook_team)
    oplog.add_row_hook(store, "person", _hook_person)
    from db.volunteers.service import install_hooks as install_service_hooks

    install_service_hooks(store)


@dataclass
class RosterFilters:
    text: str = ""
    team_id: str | None = None
    skill: str | None = None
    party_only: bool = False
    status: str = "active"  # active | left | all


def search_volunteers(store, filters: RosterFilters) -> list[str]:
    """Volunteer ids in number order."""
    where = ["v.deleted = 0"]
    params: list[Any] = []
    joins = ""
    for term in (filters.text or "").lower().split():
        joins = " join vol_search s on s.volunteer_id = v.id"
        where.append("instr(s.haystack, ?) > 0")
        params.append(term)
    if filters.team_id:
        where.append("exists(select 1 from vol_team_member m where m.volunteer_id = v.id and m.team_id = ? "
                     "and m.deleted = 0 and m.until is null)")
        params.append(filters.team_id)
    if filters.skill:
        where.append("exists(select 1 from vol_skill k where k.volunteer_id = v.id and k.skill = ? and k.deleted = 0)")
        params.append(filters.skill)
    if filters.party_only:
        where.append("v.party_report = 1")
    if filters.status != "all":
        where.append("coalesce(v.status, 'active') = ?")
        params.append(filters.status)
    sql = f"select v.id from volunteer v{joins} where {' and '.join(where)} order by v.number, v.id"
    return [r[0] for r in store.db.execute_sql(sql, params)]


def roster_rows(store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The roster's columns for these volunteers (one page): personal data, teams, skills, hours."""
    if not ids:
        return {}
    cols = ", ".join(f"{expr}" for expr in _PERSONAL.values())
    keys = ("id", "number", "party_report", "employer", "status", "person_id", *_PERSONAL)
    out: dict[str, dict[str, Any]] = {}
    for r in _in_chunks(store, f"select v.id, v.number, v.party_report, v.employer, v.status, v.person_id, "
                               f"{cols} {_FROM} where v.id in", ids):
        d = dict(zip(keys, r, strict=True))
        d.update(skills=[], teams=[], minutes=0)
        out[d["id"]] = d
    for vid, skill in _in_chunks(store, "select volunteer_id, skill from vol_skill where deleted = 0 and "
                                        "volunteer_id in", ids):
        out[vid]["skills"].append(skill)
    for vid, team in _in_chunks(store, "select m.volunteer_id, t.name from vol_team_member m join vol_team t "
                                       "on t.id = m.team_id where m.deleted = 0 and m.until is null and "
                                       "m.volunteer_id in", ids):
        out[vid]["teams"].append(team)
    for vid, minutes in _in_chunks(store, "select volunteer_id, minutes from vol_total where volunteer_id in", ids):
        if vid in out:
            out[vid]["minutes"] = minutes or 0
    return out


def skills_in_use(store) -> list[str]:
    return [r[0] for r in store.db.execute_sql(
        "select distinct skill from vol_skill where deleted = 0 and skill is not null order by skill")]


def team_names(store) -> list[tuple[str, str]]:
    """(name, id) of the teams, for filters and choices (no member counts)."""
    return [(r[0], r[1]) for r in store.db.execute_sql(
        "select name, id from vol_team where deleted = 0 order by name")]


def residents_named(store, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """Residents of the register with this name (to link a new volunteer to), living here."""
    keys = ("id", "name", "birth_date", "address")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select id, name, birth_date, current_address from person where name = ? and deleted = 0 and "
        "death_date is null and move_out_date is null order by birth_date limit ?", (normalize_text(name), limit))]


def find_residents(store, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Residents living here found as the register's search finds them (name, pinyin initials such as
    zs, an ID fragment, a door such as 1-101), to link a new volunteer to; ID and phone masked.
    Residents who are volunteers already are marked (`volunteer`)."""
    from db.register.search import Filters, fetch_rows, search_ids

    if not normalize_text(text):
        return []
    found = search_ids(store, Filters(text=text, status="active"), limit=limit * 3).ids
    rows = fetch_rows(store, found)
    out, seen = [], set()
    for rowid in found:
        r = rows.get(rowid)
        if r is None or r["person_id"] in seen:
            continue
        seen.add(r["person_id"])
        out.append({"id": r["person_id"], "name": r["name"], "birth_date": r["birth_date"],
                    "id_number": mask("id_number", r["id_number"]), "phone": mask("phone", r["phone"]),
                    "address": r["address"], "volunteer": False})
        if len(out) >= limit:
            break
    if out:
        marks = ",".join("?" * len(out))
        taken = {x[0] for x in store.db.execute_sql(
            f"select person_id from volunteer where deleted = 0 and person_id in ({marks})", [r["id"] for r in out])}
        for r in out:
            r["volunteer"] = r["id"] in taken
    return out


def parse_availability(text: str) -> list[Slot]:
    """'1 08:00-12:00; 3 14:00-18:00' (weekday 1-7, time span) -> slots; a clear error otherwise."""
    slots = []
    for part in (text or "").replace("；", ";").replace("，", ";").replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            day, span = part.split(None, 1)
            start, end = span.replace("－", "-").replace("—", "-").split("-")
            slots.append(Slot(int(day), start.strip(), end.strip()))
        except ValueError:
            fail(_("Availability: “{part}” should look like 1 08:00-12:00 (weekday 1-7 and a time span).").format(
                part=part), "availability")
    return slots


def find_by_number_or_name(store, text: str) -> str | None:
    """The volunteer with this number, else the first with this name (the command line's --volunteer)."""
    row = store.db.execute_sql(
        "select v.id from volunteer v left join person p on p.id = v.person_id where v.deleted = 0 and "
        "(v.number = ? or coalesce(p.name, v.name) = ?) order by v.number != ? limit 1",
        (text, text, text)).fetchone()
    return row[0] if row else None
