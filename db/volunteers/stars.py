"""Star levels by cumulative approved hours (presets, configurable), public notice, certificates.

A new star is first posted for public notice (公示, 5-7 days); it is awarded when the notice period
has passed without objection. Certificates (志愿服务时长证明) take the next number of the register.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any

from db import oplog
from db.models.volunteers import Certificate, StarAward
from db.oplog import Change
from db.validation import normalize_text
from db.volunteers.common import fail, setting, setting_float
from db.volunteers.service import all_totals, total_minutes
from i18n import N_, _

# Hours for one to five stars.
PRESETS: dict[str, tuple[str, tuple[int, ...]]] = {
    "national": (N_("National and most provinces"), (100, 300, 600, 1000, 1500)),
    "beijing": (N_("Beijing"), (100, 200, 500, 800, 1000)),
    "town": (N_("Small towns"), (30, 60, 100, 200, 300)),
}
STARS = "★"


def thresholds(store, preset: str | None = None) -> tuple[int, ...]:
    """The hours for each star: a preset's, or a custom list saved as "vol_star_custom" (e.g. 50,100,...)."""
    preset = preset or setting(store, "vol_star_preset")
    if preset == "custom":
        custom = store.get_meta("vol_star_custom") or ""
        values = tuple(sorted(int(x) for x in custom.replace("，", ",").split(",") if x.strip().isdigit()))
        if values:
            return values
        preset = "national"
    return PRESETS.get(preset, PRESETS["national"])[1]


def level_for(minutes: int, limits: tuple[int, ...]) -> int:
    """The star level of this many minutes: how many thresholds (hours) it reaches."""
    return bisect.bisect_right([h * 60 for h in limits], minutes)


def star_levels(store, preset: str | None = None) -> dict[str, tuple[int, int]]:
    """volunteer id -> (approved minutes, star level), for everyone with approved hours."""
    limits = [h * 60 for h in thresholds(store, preset)]
    right = bisect.bisect_right
    return {vid: (minutes, right(limits, minutes)) for vid, minutes in all_totals(store).items()}


def level_counts(store, preset: str | None = None) -> dict[int, int]:
    counts: dict[int, int] = {}
    for _minutes, level in star_levels(store, preset).values():
        counts[level] = counts.get(level, 0) + 1
    return counts


def _recorded(store) -> dict[str, int]:
    """The highest star already posted or awarded per volunteer."""
    return dict(store.db.execute_sql("select volunteer_id, max(level) from vol_star where deleted = 0 and "
                                     "status in ('notice', 'awarded') group by volunteer_id"))


def post_notices(store, *, on: dt.date | None = None, preset: str | None = None) -> list[Change]:
    """Post every newly reached star for public notice (one row per volunteer and level)."""
    on = on or dt.date.today()
    days = int(setting_float(store, "vol_notice_days"))
    recorded = _recorded(store)
    preset = preset or setting(store, "vol_star_preset")
    rows = []
    for vid, (minutes, level) in star_levels(store, preset).items():
        if level > recorded.get(vid, 0):
            rows.append({"volunteer_id": vid, "level": level, "hours": round(minutes / 60, 1), "preset": preset,
                         "notice_from": on.isoformat(), "notice_until": (on + dt.timedelta(days=days)).isoformat(),
                         "status": "notice"})
    with store.db.atomic():
        return oplog.write(store, StarAward, rows)


def award_due(store, *, on: dt.date | None = None) -> list[Change]:
    """Award the stars whose notice period is over."""
    on = on or dt.date.today()
    rows = [{"id": r[0], "status": "awarded", "awarded": on.isoformat()} for r in store.db.execute_sql(
        "select id from vol_star where deleted = 0 and status = 'notice' and notice_until < ?", (on.isoformat(),))]
    with store.db.atomic():
        return oplog.write(store, StarAward, rows)


def withdraw_notice(store, *, star_id: str, reason: str) -> list[Change]:
    if not normalize_text(reason):
        fail(_("Reason: withdrawing a notice needs a reason."), "reason")
    with store.db.atomic():
        return oplog.write(store, StarAward, [{"id": star_id, "status": "withdrawn"}])


def notices(store, *, status: str = "notice") -> list[dict[str, Any]]:
    keys = ("id", "volunteer_id", "name", "number", "level", "hours", "notice_from", "notice_until", "status",
            "teams")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select s.id, s.volunteer_id, coalesce(p.name, v.name), v.number, s.level, s.hours, s.notice_from, "
        "s.notice_until, s.status, (select group_concat(t.name, '、') from vol_team_member m join vol_team t "
        "on t.id = m.team_id where m.volunteer_id = v.id and m.deleted = 0 and m.until is null) "
        "from vol_star s join volunteer v on v.id = s.volunteer_id left join person p on p.id = v.person_id "
        "where s.deleted = 0 and s.status = ? order by s.level desc, s.hours desc", (status,))]


def awarded_level(store, volunteer_id: str) -> int:
    row = store.db.execute_sql("select max(level) from vol_star where volunteer_id = ? and deleted = 0 and "
                               "status = 'awarded'", (volunteer_id,)).fetchone()
    return int(row[0] or 0)


# -- certificates ---------------------------------------------------------------------------------

def next_certificate_number(store, year: int) -> str:
    row = store.db.execute_sql("select max(cast(substr(number, 6) as integer)) from vol_certificate where "
                               "number like ? and deleted = 0", (f"{year}-%",)).fetchone()
    return f"{year}-{(row[0] or 0) + 1:05d}"


def issue_certificate(store, *, volunteer_id: str, issuer: str, person_in_charge: str | None = None,
                      handler: str | None = None, contact: str | None = None, period_from: str | None = None,
                      period_to: str | None = None, on: dt.date | None = None) -> list[Change]:
    """A numbered hours certificate for approved service (optionally of a period)."""
    on = on or dt.date.today()
    issuer = normalize_text(issuer)
    if not issuer:
        fail(_("Issuing organisation: it is required."), "issuer")
    until = None
    if period_to:
        until = (dt.date.fromisoformat(period_to) + dt.timedelta(days=1)).isoformat()
    minutes = total_minutes(store, volunteer_id, since=period_from, until=until) if (period_from or period_to) \
        else total_minutes(store, volunteer_id)
    if minutes <= 0:
        fail(_("Hours: this volunteer has no approved service hours to certify."), "volunteer_id")
    titles = [r[0] for r in store.db.execute_sql(
        "select a.title from vol_service s join vol_activity a on a.id = s.activity_id where s.volunteer_id = ? "
        "and s.status = 'approved' and s.deleted = 0 and s.sign_in >= ? and s.sign_in < ? group by a.title "
        "order by sum(s.minutes) desc limit 4", (volunteer_id, period_from or "", until or "9999"))]
    with store.db.atomic():
        return oplog.write(store, Certificate, [{
            "number": next_certificate_number(store, on.year), "volunteer_id": volunteer_id, "minutes": minutes,
            "period_from": period_from, "period_to": period_to, "content": "、".join(titles), "issuer": issuer,
            "person_in_charge": normalize_text(person_in_charge) or None, "handler": normalize_text(handler) or store.user,
            "contact": normalize_text(contact) or None, "issued": on.isoformat()}])


def certificates(store, volunteer_id: str | None = None) -> list[dict[str, Any]]:
    keys = ("id", "number", "volunteer_id", "name", "minutes", "issued", "issuer")
    where, params = "c.deleted = 0", []
    if volunteer_id:
        where += " and c.volunteer_id = ?"
        params.append(volunteer_id)
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select c.id, c.number, c.volunteer_id, coalesce(p.name, v.name), c.minutes, c.issued, c.issuer "
        "from vol_certificate c join volunteer v on v.id = c.volunteer_id left join person p on p.id = v.person_id "
        f"where {where} order by c.number", params)]


def duplicate_certificate_numbers(store) -> list[str]:
    """Numbers given twice (two laptops issuing offline): the register must be checked by hand."""
    return [r[0] for r in store.db.execute_sql(
        "select number from vol_certificate where deleted = 0 group by number having count(*) > 1")]


def duplicate_certificates(store) -> list[dict[str, Any]]:
    """Every certificate whose number was given twice (by number, then issue date): for the screen and CLI."""
    keys = ("id", "number", "volunteer_id", "name", "minutes", "issued", "issuer", "handler")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select c.id, c.number, c.volunteer_id, coalesce(p.name, v.name), c.minutes, c.issued, c.issuer, c.handler "
        "from vol_certificate c join volunteer v on v.id = c.volunteer_id left join person p on p.id = v.person_id "
        "where c.deleted = 0 and c.number in (select number from vol_certificate where deleted = 0 group by number "
        "having count(*) > 1) order by c.number, c.issued, c.id")]


def renumber_certificate(store, *, certificate_id: str) -> list[Change]:
    """Give one of two certificates that share a number (issued offline on two laptops) the next free number
    of the register, in its issue year. Only a duplicated number is changed: a register's numbers stay put.
    The paper certificate with the old number must be reprinted (the op log keeps the old number)."""
    row = store.db.execute_sql("select number, issued from vol_certificate where id = ? and deleted = 0",
                               (certificate_id,)).fetchone()
    if row is None:
        fail(_("Certificate: it is not in this database."), "certificate_id")
    number, issued = row
    with store.db.atomic():
        shared = store.db.execute_sql("select count(*) from vol_certificate where number = ? and deleted = 0",
                                      (number,)).fetchone()[0]
        if shared < 2:
            fail(_("Certificate: number {number} is not given twice; it keeps its number.").format(number=number),
                 "certificate_id")
        year = int((issued or "")[:4] or dt.date.today().year)
        return oplog.write(store, Certificate, [{"id": certificate_id,
                                                 "number": next_certificate_number(store, year)}])


def certificate(store, certificate_id: str) -> dict[str, Any] | None:
    keys = ("id", "number", "volunteer_id", "minutes", "period_from", "period_to", "content", "issuer",
            "person_in_charge", "handler", "contact", "issued")
    row = store.db.execute_sql(f"select {', '.join(keys)} from vol_certificate where id = ?",
                               (certificate_id,)).fetchone()
    return dict(zip(keys, row, strict=True)) if row else None
