"""Activities, sign-in and sign-out, service hours by the rules, leader approval, corrections.

The rules (志愿服务记录与证明出具办法): only service time counts — the signed span inside the
activity's time, less travel; an activity counts only when that covers the required share of its set
length (default 60 %). A team leader approves; approved hours are deposited in the time bank.
A correction changes a record and leaves a row in the corrections log (who, when, why).
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from db import oplog
from db.models.volunteers import Activity, ServiceCorrection, ServiceRecord
from db.oplog import Change
from db.validation import normalize_text
from db.volunteers import timebank
from db.volunteers.common import fail, moment_text, now_text, parse_moment, setting_float
from i18n import _


@dataclass(frozen=True)
class Hours:
    minutes: int  # service minutes credited (0 when the record does not count)
    served: int  # service minutes by the clock (inside the activity, less travel)
    counted: bool


def service_minutes(*, sign_in: dt.datetime, sign_out: dt.datetime, start: dt.datetime | None,
                    end: dt.datetime | None, set_minutes: int | None, travel_minutes: int = 0,
                    min_share: float = 0.6) -> Hours:
    """The hours rule, pure: what a sign-in/sign-out pair counts for at one activity."""
    lo = max(sign_in, start) if start else sign_in
    hi = min(sign_out, end) if end else sign_out
    served = max(0, int((hi - lo).total_seconds() // 60) - max(0, int(travel_minutes or 0)))
    length = set_minutes or (int((end - start).total_seconds() // 60) if start and end else 0)
    need = math.ceil(length * min_share - 1e-9) if length else 0
    counted = served > 0 and served >= need
    credited = min(served, length) if (counted and length) else (served if counted else 0)
    return Hours(credited, served, counted)


# -- activities -----------------------------------------------------------------------------------

def save_activity(store, *, team_id: str | None, title: str, start, end, place: str | None = None,
                  set_minutes: int | None = None, beneficiaries: str | None = None, content: str | None = None,
                  person_in_charge: str | None = None, recorder: str | None = None, need_id: str | None = None,
                  activity_id: str | None = None) -> list[Change]:
    title = normalize_text(title)
    if not title:
        fail(_("Activity: the title is required."), "title")
    begin = parse_moment(start, field="start", label=_("Start time"))
    finish = parse_moment(end, field="end", label=_("End time"))
    if finish <= begin:
        fail(_("End time: it is before the start time."), "end")
    length = int((finish - begin).total_seconds() // 60)
    if set_minutes is not None and not 0 < int(set_minutes) <= length:
        fail(_("Set length: it must be more than 0 and at most the activity's {n} minutes.").format(n=length),
             "set_minutes")
    row: dict[str, Any] = {"team_id": team_id, "title": title, "start": moment_text(begin), "end": moment_text(finish),
                           "place": normalize_text(place) or None, "set_minutes": int(set_minutes or length),
                           "beneficiaries": normalize_text(beneficiaries) or None,
                           "content": normalize_text(content) or None,
                           "person_in_charge": normalize_text(person_in_charge) or None,
                           "recorder": normalize_text(recorder) or store.user, "need": need_id}
    if activity_id:
        row["id"] = activity_id
    with store.db.atomic():
        return oplog.write(store, Activity, [row])


def activity(store, activity_id: str) -> dict[str, Any] | None:
    keys = ("id", "team_id", "title", "start", "end", "place", "set_minutes", "beneficiaries", "content",
            "person_in_charge", "recorder", "need", "team_name")
    row = store.db.execute_sql(
        "select a.id, a.team_id, a.title, a.start, a.end, a.place, a.set_minutes, a.beneficiaries, a.content, "
        "a.person_in_charge, a.recorder, a.need, t.name from vol_activity a left join vol_team t on t.id = a.team_id "
        "where a.id = ?", (activity_id,)).fetchone()
    return dict(zip(keys, row, strict=True)) if row else None


def list_activities(store, *, team_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    keys = ("id", "title", "start", "end", "place", "team_name", "signed")
    where, params = "a.deleted = 0", []
    if team_id:
        where += " and a.team_id = ?"
        params.append(team_id)
    sql = (f"select a.id, a.title, a.start, a.end, a.place, t.name, (select count(*) from vol_service s where "
           f"s.activity_id = a.id and s.deleted = 0) from vol_activity a left join vol_team t on t.id = a.team_id "
           f"where {where} order by a.start desc limit ?")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(sql, (*params, limit))]


# -- sign-in and sign-out ---------------------------------------------------------------------------

def _overlap(store, volunteer_id: str, sign_in: str, sign_out: str, exclude: str | None) -> str | None:
    row = store.db.execute_sql(
        "select a.title, s.sign_in, s.sign_out from vol_service s join vol_activity a on a.id = s.activity_id "
        "where s.volunteer_id = ? and s.deleted = 0 and coalesce(s.status, '') != 'rejected' and s.id != ? "
        "and s.sign_in < ? and coalesce(s.sign_out, s.sign_in) > ? limit 1",
        (volunteer_id, exclude or "", sign_out, sign_in)).fetchone()
    if row is None:
        return None
    return _("Sign-in time: this volunteer already has a service record from {start} to {end} ({activity}) "
             "that overlaps.").format(start=row[1].replace("T", " "), end=(row[2] or row[1]).replace("T", " "),
                                       activity=row[0])


def _compute(store, act: dict[str, Any], sign_in: dt.datetime, sign_out: dt.datetime, travel: int) -> Hours:
    return service_minutes(sign_in=sign_in, sign_out=sign_out, start=dt.datetime.fromisoformat(act["start"]),
                           end=dt.datetime.fromisoformat(act["end"]), set_minutes=act["set_minutes"],
                           travel_minutes=travel, min_share=setting_float(store, "vol_min_share"))


def sign_in(store, *, activity_id: str, volunteer_id: str, at=None) -> list[Change]:
    """Sign a volunteer in (now, or at); a second sign-in at the same activity is refused."""
    act = activity(store, activity_id)
    if act is None:
        fail(_("Activity: not found."), "activity_id")
    moment = parse_moment(at or dt.datetime.now(), field="sign_in", label=_("Sign-in time"))
    db = store.db
    if db.execute_sql("select 1 from vol_service where activity_id = ? and volunteer_id = ? and deleted = 0",
                      (activity_id, volunteer_id)).fetchone():
        fail(_("Sign-in: this volunteer has already signed in at this activity."), "volunteer_id")
    text = moment_text(moment)
    problem = _overlap(store, volunteer_id, text, text, None)
    if problem:
        fail(problem, "sign_in")
    with db.atomic():
        return oplog.write(store, ServiceRecord, [{"activity_id": activity_id, "volunteer_id": volunteer_id,
                                                   "sign_in": text, "status": "pending", "recorder": store.user}])


def sign_out(store, *, service_id: str, at=None, travel_minutes: int = 0) -> list[Change]:
    row = store.db.execute_sql("select activity_id, volunteer_id, sign_in from vol_service where id = ?",
                               (service_id,)).fetchone()
    if row is None:
        fail(_("Service record: not found."), "service_id")
    activity_id, volunteer_id, signed_in = row
    moment = parse_moment(at or dt.datetime.now(), field="sign_out", label=_("Sign-out time"))
    return _set_times(store, service_id, activity_id, volunteer_id, dt.datetime.fromisoformat(signed_in), moment,
                      travel_minutes)


def sign_out_many(store, *, service_ids: list[str], at=None, travel_minutes: int = 0) -> list[Change]:
    """Sign out several records at once (the chosen ones, or everyone still in): one transaction, so a
    refused one leaves all of them signed in."""
    changes: list[Change] = []
    with store.db.atomic():
        for service_id in service_ids:
            changes += sign_out(store, service_id=service_id, at=at, travel_minutes=travel_minutes)
    return changes


def _check_times(store, service_id: str | None, volunteer_id: str, start: dt.datetime, end: dt.datetime,
                 travel: int) -> None:
    if end <= start:
        fail(_("Sign-out time: it is before the sign-in time ({start}).").format(
            start=start.strftime("%Y-%m-%d %H:%M")), "sign_out")
    if travel < 0 or travel >= (end - start).total_seconds() / 60:
        fail(_("Travel time: it must be at least 0 and shorter than the signed span."), "travel_minutes")
    problem = _overlap(store, volunteer_id, moment_text(start), moment_text(end), service_id)
    if problem:
        fail(problem, "sign_in")


def _set_times(store, service_id, activity_id, volunteer_id, start, end, travel) -> list[Change]:
    _check_times(store, service_id, volunteer_id, start, end, int(travel or 0))
    hours = _compute(store, activity(store, activity_id), start, end, int(travel or 0))
    with store.db.atomic():
        return oplog.write(store, ServiceRecord, [{"id": service_id, "sign_out": moment_text(end),
                                                   "travel_minutes": int(travel or 0), "minutes": hours.minutes,
                                                   "counted": int(hours.counted)}])


def record_service(store, *, activity_id: str, volunteer_id: str, sign_in, sign_out, travel_minutes: int = 0,
                   rating: str | None = None) -> list[Change]:
    """A whole record at once (paper records entered later)."""
    act = activity(store, activity_id)
    if act is None:
        fail(_("Activity: not found."), "activity_id")
    start = parse_moment(sign_in, field="sign_in", label=_("Sign-in time"))
    end = parse_moment(sign_out, field="sign_out", label=_("Sign-out time"))
    _check_times(store, None, volunteer_id, start, end, int(travel_minutes or 0))
    hours = _compute(store, act, start, end, int(travel_minutes or 0))
    with store.db.atomic():
        return oplog.write(store, ServiceRecord, [{
            "activity_id": activity_id, "volunteer_id": volunteer_id, "sign_in": moment_text(start),
            "sign_out": moment_text(end), "travel_minutes": int(travel_minutes or 0), "minutes": hours.minutes,
            "counted": int(hours.counted), "status": "pending", "rating": rating, "recorder": store.user}])


def activity_records(store, activity_id: str) -> list[dict[str, Any]]:
    keys = ("id", "volunteer_id", "name", "number", "sign_in", "sign_out", "travel_minutes", "minutes", "counted",
            "status", "approved_by")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select s.id, s.volunteer_id, coalesce(p.name, v.name), v.number, s.sign_in, s.sign_out, s.travel_minutes, "
        "s.minutes, s.counted, s.status, s.approved_by from vol_service s join volunteer v on v.id = s.volunteer_id "
        "left join person p on p.id = v.person_id where s.activity_id = ? and s.deleted = 0 order by s.sign_in",
        (activity_id,))]


# -- approval ---------------------------------------------------------------------------------------

def pending_records(store, *, team_id: str | None = None, limit: int = 5000) -> list[dict[str, Any]]:
    keys = ("id", "activity", "start", "team_name", "name", "number", "sign_in", "sign_out", "minutes", "counted")
    where, params = "s.status = 'pending' and s.deleted = 0 and s.sign_out is not null", []
    if team_id:
        where += " and a.team_id = ?"
        params.append(team_id)
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        f"select s.id, a.title, a.start, t.name, coalesce(p.name, v.name), v.number, s.sign_in, s.sign_out, "
        f"s.minutes, s.counted from vol_service s join vol_activity a on a.id = s.activity_id "
        f"left join vol_team t on t.id = a.team_id join volunteer v on v.id = s.volunteer_id "
        f"left join person p on p.id = v.person_id where {where} order by a.start, s.sign_in limit ?",
        (*params, limit))]


_PENDING_FROM = ("from vol_service s join vol_activity a on a.id = s.activity_id left join vol_team t on t.id = a.team_id "
                 "join volunteer v on v.id = s.volunteer_id left join person p on p.id = v.person_id")
_PENDING_WHERE = "s.status = 'pending' and s.deleted = 0 and s.sign_out is not null"


def pending_ids(store, *, team_id: str | None = None) -> list[str]:
    """Every signed-out record waiting for approval (of one team), in list order: the approval list's ids."""
    where, params = _PENDING_WHERE, []
    if team_id:
        where += " and a.team_id = ?"
        params.append(team_id)
    return [r[0] for r in store.db.execute_sql(
        f"select s.id from vol_service s join vol_activity a on a.id = s.activity_id where {where} "
        f"order by a.start, s.sign_in, s.id", params)]


def pending_summary(store, *, team_id: str | None = None) -> tuple[int, int]:
    """(records, minutes) waiting for approval."""
    where, params = _PENDING_WHERE, []
    if team_id:
        where += " and a.team_id = ?"
        params.append(team_id)
    n, minutes = store.db.execute_sql(f"select count(*), coalesce(sum(s.minutes), 0) from vol_service s join "
                                      f"vol_activity a on a.id = s.activity_id where {where}", params).fetchone()
    return int(n), int(minutes)


def pending_rows(store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The displayed values of some records of the approval list, by id (a page at a time)."""
    keys = ("id", "activity", "start", "team_name", "name", "number", "sign_in", "sign_out", "minutes", "counted",
            "status")
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for r in store.db.execute_sql(
                f"select s.id, a.title, a.start, t.name, coalesce(p.name, v.name), v.number, s.sign_in, s.sign_out, "
                f"s.minutes, s.counted, s.status {_PENDING_FROM} where s.id in ({','.join('?' * len(chunk))})",
                tuple(chunk)):
            out[r[0]] = dict(zip(keys, r, strict=True))
    return out


def decide_pending(store, *, team_id: str | None = None, approved_by: str | None = None,
                   reject: bool = False) -> list[Change]:
    """Approve (or reject) every record waiting for approval, of one team or of all: the approval list's
    filter, in one transaction."""
    return approve_services(store, service_ids=pending_ids(store, team_id=team_id), approved_by=approved_by,
                            reject=reject)


def approve_services(store, *, service_ids: list[str], approved_by: str | None = None,
                     reject: bool = False) -> list[Change]:
    """The team leader approves (or rejects) records; approved minutes go into the time bank."""
    db = store.db
    ids = list(dict.fromkeys(service_ids))
    rows = []
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows += db.execute_sql(
            "select s.id, s.volunteer_id, s.minutes, s.sign_out, s.status, coalesce(lp.name, lv.name) "
            "from vol_service s join vol_activity a on a.id = s.activity_id left join vol_team t on t.id = a.team_id "
            "left join volunteer lv on lv.id = t.leader left join person lp on lp.id = lv.person_id "
            f"where s.id in ({','.join('?' * len(chunk))})", tuple(chunk)).fetchall()
    for row in rows:
        if row[3] is None:
            fail(_("Approval: a volunteer has not signed out yet; sign out first."), "sign_out")
    at = now_text()
    writes = [{"id": sid, "status": "rejected" if reject else "approved",
               "approved_by": normalize_text(approved_by) or leader or store.user, "approved_at": at}
              for sid, _vid, _m, _o, status, leader in rows if status != ("rejected" if reject else "approved")]
    with db.atomic():
        changes = oplog.write(store, ServiceRecord, writes)
        if not reject:
            changes += timebank.deposit_services(store, [(sid, vid, minutes) for sid, vid, minutes, _o, status, _l
                                                         in rows if status != "approved" and minutes])
        return changes


# -- corrections ------------------------------------------------------------------------------------

def correct_service(store, *, service_id: str, reason: str, sign_in=None, sign_out=None,
                    travel_minutes: int | None = None) -> list[Change]:
    """Change a record's times on a volunteer's request; each changed value goes to the log."""
    reason = normalize_text(reason)
    if not reason:
        fail(_("Reason: a correction needs a reason."), "reason")
    row = store.db.execute_sql("select activity_id, volunteer_id, sign_in, sign_out, travel_minutes, minutes, status "
                               "from vol_service where id = ?", (service_id,)).fetchone()
    if row is None:
        fail(_("Service record: not found."), "service_id")
    activity_id, volunteer_id, old_in, old_out, old_travel, old_minutes, status = row
    start = parse_moment(sign_in, field="sign_in", label=_("Sign-in time")) if sign_in else \
        dt.datetime.fromisoformat(old_in)
    end_value = sign_out or old_out
    if not end_value:
        fail(_("Sign-out time: it is required."), "sign_out")
    end = parse_moment(end_value, field="sign_out", label=_("Sign-out time"))
    travel = int(old_travel or 0) if travel_minutes is None else int(travel_minutes)
    _check_times(store, service_id, volunteer_id, start, end, travel)
    hours = _compute(store, activity(store, activity_id), start, end, travel)
    new = {"sign_in": moment_text(start), "sign_out": moment_text(end), "travel_minutes": travel,
           "minutes": hours.minutes, "counted": int(hours.counted)}
    old = {"sign_in": old_in, "sign_out": old_out, "travel_minutes": old_travel, "minutes": old_minutes}
    log = [{"service_id": service_id, "field": k, "old_value": None if old.get(k) is None else str(old[k]),
            "new_value": str(new[k]), "reason": reason, "by": store.user, "at": now_text()}
           for k in ("sign_in", "sign_out", "travel_minutes", "minutes") if str(old.get(k)) != str(new[k])]
    if not log:
        return []
    with store.db.atomic():
        changes = oplog.write(store, ServiceRecord, [{"id": service_id, **new}])
        changes += oplog.write(store, ServiceCorrection, log)
        if status == "approved" and hours.minutes != (old_minutes or 0):
            changes += timebank.adjust_for_correction(store, service_id=service_id, volunteer_id=volunteer_id,
                                                      delta=hours.minutes - (old_minutes or 0),
                                                      correction_id=changes[-1].row_id, reason=reason)
        return changes


def corrections(store, service_id: str) -> list[dict[str, Any]]:
    keys = ("field", "old_value", "new_value", "reason", "by", "at")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select field, old_value, new_value, reason, by, at from vol_correction where service_id = ? and deleted = 0 "
        "order by at", (service_id,))]


# -- totals -----------------------------------------------------------------------------------------

def total_minutes(store, volunteer_id: str, *, since: str | None = None, until: str | None = None) -> int:
    """Approved service minutes of one volunteer (optionally of records signed in a period)."""
    if since or until:
        row = store.db.execute_sql(
            "select sum(minutes) from vol_service where volunteer_id = ? and status = 'approved' and deleted = 0 "
            "and sign_in >= ? and sign_in < ?", (volunteer_id, since or "", until or "9999")).fetchone()
    else:
        row = store.db.execute_sql("select sum(minutes) from vol_service where volunteer_id = ? and "
                                   "status = 'approved' and deleted = 0", (volunteer_id,)).fetchone()
    return int(row[0] or 0)


def all_totals(store) -> dict[str, int]:
    """volunteer id -> approved minutes, for everyone with approved hours (the derived vol_total)."""
    return dict(store.db.execute_sql("select volunteer_id, minutes from vol_total where minutes > 0"))


# -- the derived totals (vol_total) -----------------------------------------------------------------

_suspended = [0]


@contextmanager
def totals_suspended(store):
    """For a bulk write of service records (the demo): the totals are rebuilt once at the end."""
    _suspended[0] += 1
    try:
        yield
    finally:
        _suspended[0] -= 1
    if not _suspended[0]:
        rebuild_totals(store)


def rebuild_totals(store) -> int:
    db = store.db
    with db.atomic():
        db.execute_sql("delete from vol_total")
        db.execute_sql("insert into vol_total(volunteer_id, minutes) select volunteer_id, sum(minutes) from "
                       "vol_service where status = 'approved' and deleted = 0 group by volunteer_id")
    return db.execute_sql("select count(*) from vol_total").fetchone()[0]


def refresh_totals(store, volunteer_ids) -> None:
    ids = [v for v in dict.fromkeys(volunteer_ids) if v]
    cursor = store.db.cursor()
    for i in range(0, len(ids), 500):
        chunk = tuple(ids[i:i + 500])
        marks = ",".join("?" * len(chunk))
        cursor.execute(f"delete from vol_total where volunteer_id in ({marks})", chunk)
        cursor.execute(f"insert into vol_total(volunteer_id, minutes) select volunteer_id, sum(minutes) from "
                       f"vol_service where volunteer_id in ({marks}) and status = 'approved' and deleted = 0 "
                       f"group by volunteer_id", chunk)


def _on_service(store, service_ids) -> None:
    if _suspended[0]:
        return
    ids = list(service_ids)
    if len(ids) > 20_000:  # a bulk merge or a rebuild: one pass over everything
        rebuild_totals(store)
        return
    vids = []
    for i in range(0, len(ids), 500):
        chunk = tuple(ids[i:i + 500])
        vids += [r[0] for r in store.db.execute_sql(
            f"select distinct volunteer_id from vol_service where id in ({','.join('?' * len(chunk))})", chunk)]
    refresh_totals(store, vids)


def install_hooks(store) -> None:
    """Keep this store's cumulative hours current (called through db.volunteers.roster.install_hooks)."""
    oplog.add_row_hook(store, "vol_service", _on_service)


def service_history(store, volunteer_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    keys = ("id", "title", "start", "place", "content", "team_name", "sign_in", "sign_out", "minutes", "status",
            "approved_by", "beneficiaries", "person_in_charge", "recorder", "rating")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select s.id, a.title, a.start, a.place, a.content, t.name, s.sign_in, s.sign_out, s.minutes, s.status, "
        "s.approved_by, a.beneficiaries, a.person_in_charge, coalesce(s.recorder, a.recorder), s.rating "
        "from vol_service s join vol_activity a on a.id = s.activity_id left join vol_team t on t.id = a.team_id "
        "where s.volunteer_id = ? and s.deleted = 0 order by s.sign_in desc limit ?", (volunteer_id, limit))]
