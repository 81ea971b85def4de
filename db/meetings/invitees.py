"""Who to invite, drawn from the register and the partner directory, and the quick sign-in match
(name, pinyin initials or door number)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.register.index import SEP, name_pinyin

_PEOPLE_SQL = (
    "select p.id, p.name, h.address, p.phone, h.door, m.relation, p.birth_date, p.political_status "
    "from membership m join person p on p.id = m.person_id join household h on h.id = m.household_id "
    "join unit u on u.id = h.unit_id "
    "where m.deleted = 0 and m.until is null and p.deleted = 0 and p.death_date is null "
    "and p.move_out_date is null and h.deleted = 0")


def _rows(store, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    out = []
    for pid, name, address, phone, _door, relation, _birth, political in store.db.execute_sql(sql, params):
        out.append({"person_id": pid, "name": name, "unit": address or "", "phone": phone,
                    "role": "党员" if political == "中共党员" else ("户代表" if relation == "户主" else "")})
    return out


def _buildings_clause(building_ids: list[str] | None) -> tuple[str, list[Any]]:
    if not building_ids:
        return "", []
    return f" and u.building_id in ({','.join('?' * len(building_ids))})", list(building_ids)


def register_people(store, *, body: str, building_ids: list[str] | None = None,
                    on: dt.date | None = None) -> list[dict[str, Any]]:
    """Invitees for an entitled body: adults | households (one representative, the head) |
    party_members (政治面貌 中共党员) | owners (heads of owner-occupied households)."""
    on = on or dt.date.today()
    clause, params = _buildings_clause(building_ids)
    sql = _PEOPLE_SQL + clause
    if body == "adults":
        sql += " and p.birth_date <= ?"
        params.append(on.replace(year=on.year - 18).isoformat())
    elif body in ("households", "representatives"):
        sql += " and m.relation = '户主'"
    elif body == "owners":
        sql += " and m.relation = '户主' and h.house_use in ('自住', '空置', '出租', '出借')"
    elif body == "party_members":
        sql += " and p.political_status = '中共党员'"
    sql += " order by h.address, m.relation != '户主', p.birth_date"
    return _rows(store, sql, params)


def contact_invitees(store, contact_ids: list[str]) -> list[dict[str, Any]]:
    if not contact_ids:
        return []
    marks = ",".join("?" * len(contact_ids))
    return [{"contact_id": cid, "name": name, "unit": org, "role": role or "", "phone": phone}
            for cid, name, org, role, phone in store.db.execute_sql(
                f"select c.id, c.name, o.name, c.role, c.phone from partner_contact c join partner_org o "
                f"on o.id = c.org_id where c.id in ({marks})", contact_ids)]


class SignInIndex:
    """The meeting's invitees with their search keys, matched in memory as the worker types."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows
        self.keys = []
        for r in rows:
            full, initials = name_pinyin(r["name"] or "")
            unit = r.get("unit") or ""
            door = "".join(ch for ch in unit.rsplit("单元", 1)[-1] if ch.isdigit())
            self.keys.append((r["name"] or "", full.lower(), initials.lower(), door, unit))

    def match(self, text: str, limit: int = 50) -> list[int]:
        """Positions of rows matching: exact initials first, then name/pinyin prefixes, then doors."""
        text = (text or "").strip().lower()
        if not text:
            return list(range(min(limit, len(self.rows))))
        exact, prefix, other = [], [], []
        for i, (name, full, initials, door, unit) in enumerate(self.keys):
            inits = initials.split(SEP)
            if text == name or text in inits or (text.isdigit() and text == door):
                exact.append(i)
            elif name.startswith(text) or any(x.startswith(text) for x in inits) or \
                    any(f.startswith(text) for f in full.split(SEP)):
                prefix.append(i)
            elif text in name or (text.isdigit() and text in door) or (len(text) > 1 and text in unit):
                other.append(i)
        return (exact + prefix + other)[:limit]


def volunteer_invitees(store, *, team_id: str | None = None) -> list[dict[str, Any]]:
    """Active volunteers (of one team, or all) as invitees. A volunteer who is a resident is invited
    as that person (name, household address and phone from the register), so inviting them again
    from the register or as a volunteer gives one row; others by their own name."""
    sql = ("select v.id, v.person_id, coalesce(p.name, v.name), coalesce(p.phone, v.phone), v.employer, "
           "(select h.address from membership m join household h on h.id = m.household_id "
           " where m.person_id = v.person_id and m.deleted = 0 and m.until is null and h.deleted = 0 limit 1) "
           "from volunteer v left join person p on p.id = v.person_id "
           "where v.deleted = 0 and coalesce(v.status, 'active') = 'active' "
           "and (v.person_id is null or (p.deleted = 0 and p.death_date is null and p.move_out_date is null))")
    params: list[Any] = []
    if team_id:
        sql += (" and exists (select 1 from vol_team_member t where t.volunteer_id = v.id and t.team_id = ? "
                "and t.deleted = 0 and t.until is null)")
        params.append(team_id)
    out = []
    for _vid, pid, name, phone, employer, address in store.db.execute_sql(sql + " order by v.number, v.id", params):
        if not name:
            continue
        row = {"name": name, "unit": address or employer or "", "role": "志愿者", "phone": phone}
        if pid:
            row["person_id"] = pid
        out.append(row)
    return out
