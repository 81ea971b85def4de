"""Residents' matters (民事) through the 五民 chain: 民提 raised → 民议 on a meeting's agenda →
民决 decided (by vote or by the committee) → 民办 carried out (owner, deadline, dated progress) →
公示 posted → 民评 evaluated by the residents asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.errors import GridDeskError, ValidationError, ValidationErrors
from db.meetings.meetings import _parse_when, add_agenda_item, get_meeting, motion_outcome
from db.models.meetings import Evaluation, Matter, ProgressEntry
from db.oplog import Change
from db.register.common import Edit
from db.validation import normalize_text
from i18n import N_, _

CATEGORIES = ("环境", "治安", "物业", "帮困", "设施", "其他")
CHANNELS = ("走访", "来访", "热线", "会议")
RATINGS = ("满意", "基本满意", "不满意")
DEFAULT_POSTING_DAYS = 7
STAGES = {"raised": N_("raised (民事民提)"), "discussed": N_("discussed (民事民议)"),
          "decided": N_("decided (民事民决)"), "in_progress": N_("being carried out (民事民办)"),
          "done": N_("done, not yet posted"), "posted": N_("posted (公示)"),
          "evaluated": N_("evaluated (民事民评)")}
MATTER_FIELDS = ("title", "description", "raised_by", "person_id", "raised_on", "channel", "category",
                 "building_id", "visit_id", "source_meeting_id", "decided_on", "decided_by", "decision",
                 "motion_id", "owner", "partner_org_id", "deadline", "done_on", "result", "posted_on",
                 "posting_days", "closed")


def _day(value: Any, field: str) -> str | None:
    when = _parse_when(value, field)
    return when[:10] if when else None


def _today(on: dt.date | None) -> str:
    return (on or dt.date.today()).isoformat()


def raise_matter(store, *, matter: dict[str, Any], on: dt.date | None = None) -> list[Change]:
    """民事民提: who raised what, when, through which channel, about which building."""
    unknown = set(matter) - set(MATTER_FIELDS)
    if unknown:
        raise KeyError(f"matter has no field(s) {sorted(unknown)}")
    clean = {k: (normalize_text(v) or None) if isinstance(v, str) else v for k, v in matter.items()}
    errors: list[ValidationError] = []
    if not clean.get("title"):
        errors.append(ValidationError(_("Say what the matter is (its title)."), field="title"))
    if not clean.get("raised_by") and not clean.get("person_id"):
        errors.append(ValidationError(_("Who raised the matter? Give a name."), field="raised_by"))
    if clean.get("category") and clean["category"] not in CATEGORIES:
        errors.append(ValidationError(_("Unknown category “{value}”; choose one of {choices}.").format(
            value=clean["category"], choices="、".join(CATEGORIES)), field="category"))
    if clean.get("channel") and clean["channel"] not in CHANNELS:
        errors.append(ValidationError(_("Unknown channel “{value}”; choose one of {choices}.").format(
            value=clean["channel"], choices="、".join(CHANNELS)), field="channel"))
    try:
        clean["raised_on"] = _day(clean.get("raised_on"), "raised_on") or _today(on)
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        raise ValidationErrors(errors)
    clean.setdefault("category", "其他")
    edit = Edit(store, N_("Raise matter"))
    with store.db.atomic():
        edit.write(Matter, [clean])
        return edit.finish()


def get_matter(store, matter_id: str) -> dict[str, Any]:
    cols = ("id",) + MATTER_FIELDS
    row = store.db.execute_sql(f"select {','.join(cols)} from matter where id = ? and deleted = 0",
                               (matter_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This matter no longer exists."))
    out = dict(zip(cols, row, strict=True))
    out["stage"] = stage_of(store, out)
    return out


def _edit(store, label: str, matter_id: str, values: dict[str, Any]) -> list[Change]:
    get_matter(store, matter_id)
    edit = Edit(store, label)
    with store.db.atomic():
        edit.write(Matter, [{"id": matter_id, **values}])
        return edit.finish()


def put_on_agenda(store, *, matter_id: str, meeting_id: str) -> list[Change]:
    """民事民议: the matter becomes an agenda item of a meeting."""
    matter = get_matter(store, matter_id)
    get_meeting(store, meeting_id)
    return add_agenda_item(store, meeting_id=meeting_id, title=matter["title"], matter_id=matter_id)


def decide_matter(store, *, matter_id: str, decided_by: str, decision: str, motion_id: str | None = None,
                  on: dt.date | None = None) -> list[Change]:
    """民事民决: by a vote (its motion must have passed) or by the committee."""
    errors: list[ValidationError] = []
    decision = normalize_text(decision)
    if decided_by not in ("vote", "committee"):
        errors.append(ValidationError(_("A matter is decided by a vote or by the committee."), field="decided_by"))
    if not decision:
        errors.append(ValidationError(_("Write down what was decided."), field="decision"))
    if decided_by == "vote":
        if not motion_id:
            errors.append(ValidationError(_("Choose the motion the matter was decided by."), field="motion_id"))
        else:
            result = motion_outcome(store, motion_id)
            if not result.decided or not result.passed:
                errors.append(ValidationError(_("The motion did not pass: {reason}").format(reason=result.reason),
                                              field="motion_id"))
    if errors:
        raise ValidationErrors(errors)
    return _edit(store, N_("Decide matter"), matter_id, {"decided_by": decided_by, "decision": decision,
                                                         "motion_id": motion_id, "decided_on": _today(on)})


def assign_matter(store, *, matter_id: str, owner: str | None, deadline: Any,
                  partner_org_id: str | None = None) -> list[Change]:
    """民事民办: who carries it out (a person or a partner organisation) and by when."""
    owner = normalize_text(owner) or None
    errors: list[ValidationError] = []
    if not owner and not partner_org_id:
        errors.append(ValidationError(_("Name who carries the matter out (责任人 or a partner organisation)."),
                                      field="owner"))
    day = None
    try:
        day = _day(deadline, "deadline")
    except ValidationError as exc:
        errors.append(exc)
    if not day and not errors:
        errors.append(ValidationError(_("Set a deadline for carrying the matter out."), field="deadline"))
    if errors:
        raise ValidationErrors(errors)
    return _edit(store, N_("Assign matter"), matter_id, {"owner": owner, "partner_org_id": partner_org_id,
                                                         "deadline": day})


def add_progress(store, *, matter_id: str, text: str, on: dt.date | None = None, percent: int | None = None,
                 by: str | None = None) -> list[Change]:
    text = normalize_text(text)
    if not text:
        raise ValidationErrors([ValidationError(_("Describe the progress."), field="text")])
    if percent is not None and not 0 <= int(percent) <= 100:
        raise ValidationErrors([ValidationError(_("Progress is a percentage from 0 to 100."), field="percent")])
    get_matter(store, matter_id)
    edit = Edit(store, N_("Matter progress"))
    with store.db.atomic():
        edit.write(ProgressEntry, [{"matter_id": matter_id, "on_date": _today(on), "text": text,
                                    "by": by or store.user, "percent": percent}])
        return edit.finish()


def complete_matter(store, *, matter_id: str, result: str, on: dt.date | None = None) -> list[Change]:
    result = normalize_text(result)
    if not result:
        raise ValidationErrors([ValidationError(_("Describe the result."), field="result")])
    matter = get_matter(store, matter_id)
    if not matter["owner"] and not matter["partner_org_id"]:
        raise ValidationErrors([ValidationError(_("Name who carries the matter out before it is done."),
                                                field="owner")])
    return _edit(store, N_("Matter done"), matter_id, {"result": result, "done_on": _today(on)})


def post_result(store, *, matter_id: str, on: dt.date | None = None,
                days: int = DEFAULT_POSTING_DAYS) -> list[Change]:
    """办理结果公示: the posting date and how long it stays up (7 days by default)."""
    if not 1 <= int(days) <= 90:
        raise ValidationErrors([ValidationError(_("A posting lasts 1 to 90 days."), field="posting_days")])
    matter = get_matter(store, matter_id)
    if not matter["done_on"]:
        raise ValidationErrors([ValidationError(_("Only a matter that is done can be posted."), field="posted_on")])
    return _edit(store, N_("Post result"), matter_id, {"posted_on": _today(on), "posting_days": int(days)})


def evaluate(store, *, matter_id: str, rating: str, name: str | None = None, person_id: str | None = None,
             comment: str | None = None, on: dt.date | None = None) -> list[Change]:
    """民事民评: one resident's 满意 / 基本满意 / 不满意 with a comment."""
    errors: list[ValidationError] = []
    if rating not in RATINGS:
        errors.append(ValidationError(_("The rating is one of {choices}.").format(choices="、".join(RATINGS)),
                                      field="rating"))
    if not normalize_text(name) and not person_id:
        errors.append(ValidationError(_("Who gave the evaluation? Give a name."), field="name"))
    if errors:
        raise ValidationErrors(errors)
    matter = get_matter(store, matter_id)
    if not matter["done_on"]:
        raise ValidationErrors([ValidationError(_("A matter is evaluated after it is done."), field="rating")])
    edit = Edit(store, N_("Evaluate matter"))
    with store.db.atomic():
        edit.write(Evaluation, [{"matter_id": matter_id, "rating": rating, "name": normalize_text(name) or None,
                                 "person_id": person_id, "comment": normalize_text(comment) or None,
                                 "on_date": _today(on)}])
        return edit.finish()


def close_matter(store, *, matter_id: str) -> list[Change]:
    return _edit(store, N_("Close matter"), matter_id, {"closed": 1})


def stage_of(store, m: dict[str, Any]) -> str:
    if m.get("posted_on") and store.db.execute_sql(
            "select 1 from evaluation where matter_id = ? and deleted = 0 limit 1", (m["id"],)).fetchone():
        return "evaluated"
    if m.get("posted_on"):
        return "posted"
    if m.get("done_on"):
        return "done"
    if m.get("owner") or m.get("partner_org_id"):
        return "in_progress"
    if m.get("decided_on"):
        return "decided"
    if store.db.execute_sql("select 1 from agenda_item where matter = ? and deleted = 0 limit 1",
                            (m["id"],)).fetchone():
        return "discussed"
    return "raised"


def history(store, matter_id: str) -> list[dict[str, Any]]:
    """The matter's whole life in date order: (date, step, text)."""
    m = get_matter(store, matter_id)
    events: list[dict[str, Any]] = [{"date": m["raised_on"], "step": _("Raised"), "text": _(
        "{who} raised it ({channel}): {title}").format(who=m["raised_by"] or "", channel=m["channel"] or "",
                                                      title=m["title"])}]
    came_from = []
    if m["visit_id"]:
        row = store.db.execute_sql("select v.visit_date, h.address, v.visitor from visit v left join household h "
                                   "on h.id = v.household_id where v.id = ?", (m["visit_id"],)).fetchone()
        if row:
            came_from.append(_("from the visit of {day} to {address} ({visitor})").format(
                day=row[0] or "", address=row[1] or "", visitor=row[2] or ""))
    if m["source_meeting_id"]:
        row = store.db.execute_sql("select title, starts_at from meeting where id = ?",
                                   (m["source_meeting_id"],)).fetchone()
        if row:
            came_from.append(_("raised at {meeting} ({day})").format(meeting=row[0], day=(row[1] or "")[:10]))
    if came_from:
        events[0]["text"] += "；" + "；".join(came_from)
    for title, starts, place in store.db.execute_sql(
            "select mt.title, mt.starts_at, mt.place from agenda_item a join meeting mt on mt.id = a.meeting_id "
            "where a.matter = ? and a.deleted = 0 and mt.deleted = 0", (matter_id,)):
        events.append({"date": (starts or "")[:10], "step": _("Discussed"),
                       "text": _("On the agenda of {meeting} ({place})").format(meeting=title, place=place or "")})
    if m["decided_on"]:
        how = _("by vote") if m["decided_by"] == "vote" else _("by the committee")
        events.append({"date": m["decided_on"], "step": _("Decided"), "text": f"{how}：{m['decision']}"})
    if m["owner"] or m["partner_org_id"]:
        org = store.db.execute_sql("select name from partner_org where id = ?", (m["partner_org_id"],)).fetchone() \
            if m["partner_org_id"] else None
        who = "、".join(x for x in (m["owner"], org[0] if org else None) if x)
        events.append({"date": m["decided_on"] or m["raised_on"], "step": _("Assigned"),
                       "text": _("{who}, by {deadline}").format(who=who, deadline=m["deadline"] or "")})
    for day, text, by, percent, pid in store.db.execute_sql(
            "select on_date, text, by, percent, id from progress_entry where matter_id = ? and deleted = 0 "
            "order by on_date, id", (matter_id,)):
        photos = store.db.execute_sql("select count(*) from attachment where owner_table = 'progress_entry' "
                                      "and owner_id = ? and deleted = 0", (pid,)).fetchone()[0]
        extra = f"（{percent}%）" if percent is not None else ""
        if photos:
            extra += _(" [{n} photo(s)]").format(n=photos)
        events.append({"date": day, "step": _("Progress"), "text": f"{text}{extra}", "by": by, "id": pid})
    if m["done_on"]:
        events.append({"date": m["done_on"], "step": _("Concluded"), "text": m["result"] or ""})
    if m["posted_on"]:
        events.append({"date": m["posted_on"], "step": _("Posted"),
                       "text": _("Result posted for {n} days").format(n=m["posting_days"] or DEFAULT_POSTING_DAYS)})
    for day, name, rating, comment in store.db.execute_sql(
            "select on_date, name, rating, comment from evaluation where matter_id = ? and deleted = 0 "
            "order by on_date, id", (matter_id,)):
        events.append({"date": day, "step": _("Evaluated"),
                       "text": f"{name or ''}：{rating}" + (f"（{comment}）" if comment else "")})
    order = {k: i for i, k in enumerate((_("Raised"), _("Discussed"), _("Decided"), _("Assigned"), _("Progress"),
                                         _("Concluded"), _("Posted"), _("Evaluated")))}
    events.sort(key=lambda e: (e["date"] or "", order.get(e["step"], 9)))
    return events


# -- lists and statistics -----------------------------------------------------------------------

LIST_COLS = ("id", "raised_on", "title", "category", "raised_by", "channel", "building", "owner", "deadline",
             "done_on", "posted_on", "posting_days", "decided_on", "evaluations", "on_agenda", "satisfied")


def matter_ids(store, *, category: str | None = None, flag: str | None = None, text: str | None = None,
               on: dt.date | None = None) -> list[str]:
    """flag: overdue (deadline passed, not done) | unposted (done, not posted) | unevaluated
    (posting over, nobody asked) | open (not done)."""
    today = _today(on)
    sql = "select m.id from matter m where m.deleted = 0"
    params: list[Any] = []
    if category:
        sql += " and m.category = ?"
        params.append(category)
    if text:
        sql += " and (m.title like ? or m.raised_by like ?)"
        params += [f"%{text}%", f"%{text}%"]
    if flag == "overdue":
        sql += " and m.done_on is null and m.deadline < ?"
        params.append(today)
    elif flag == "unposted":
        sql += " and m.done_on is not null and m.posted_on is null"
    elif flag == "unevaluated":
        sql += (" and m.posted_on is not null and date(m.posted_on, '+' || coalesce(m.posting_days, 7) || ' days') "
                "<= ? and not exists (select 1 from evaluation e where e.matter_id = m.id and e.deleted = 0)")
        params.append(today)
    elif flag == "open":
        sql += " and m.done_on is null"
    sql += " order by m.raised_on desc, m.id"
    return [r[0] for r in store.db.execute_sql(sql, params)]


def matter_rows(store, ids: list[str], *, on: dt.date | None = None) -> dict[str, dict[str, Any]]:
    today = _today(on)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (f"select m.id, m.raised_on, m.title, m.category, m.raised_by, m.channel, "
               f"coalesce(c.name, '') || coalesce(b.name, ''), coalesce(m.owner, o.name), m.deadline, m.done_on, "
               f"m.posted_on, m.posting_days, m.decided_on, "
               f"(select count(*) from evaluation e where e.matter_id = m.id and e.deleted = 0), "
               f"exists(select 1 from agenda_item a where a.matter = m.id and a.deleted = 0), "
               f"(select count(*) from evaluation e where e.matter_id = m.id and e.deleted = 0 "
               f"and e.rating != '不满意') "
               f"from matter m left join building b on b.id = m.building_id "
               f"left join compound c on c.id = b.compound_id left join partner_org o on o.id = m.partner_org_id "
               f"where m.id in ({marks})")
        for row in store.db.execute_sql(sql, chunk):
            r = dict(zip(LIST_COLS, row, strict=True))
            r["stage"] = _stage_from_row(r)
            r["overdue"] = bool(r["deadline"] and not r["done_on"] and r["deadline"] < today)
            r["unposted"] = bool(r["done_on"] and not r["posted_on"])
            posting_end = None
            if r["posted_on"]:
                posting_end = (dt.date.fromisoformat(r["posted_on"])
                               + dt.timedelta(days=r["posting_days"] or DEFAULT_POSTING_DAYS)).isoformat()
            r["unevaluated"] = bool(posting_end and posting_end <= today and not r["evaluations"])
            out[r["id"]] = r
    return out


def _stage_from_row(r: dict[str, Any]) -> str:
    if r["posted_on"]:
        return "evaluated" if r["evaluations"] else "posted"
    if r["done_on"]:
        return "done"
    if r["owner"]:
        return "in_progress"
    if r["decided_on"]:
        return "decided"
    return "discussed" if r["on_agenda"] else "raised"


def statistics(store, *, year: int | None = None) -> dict[str, list[tuple[str, int]]]:
    """Counts by category, building, month raised, and evaluations by rating."""
    where, params = "m.deleted = 0", []
    if year:
        # "+": no index on raised_on here. A year holds most matters, and reading them one by one
        # through the index is 3-4 times slower than a scan (20,000 matters: 0.9 s -> 0.2 s).
        where += " and +m.raised_on >= ? and +m.raised_on < ?"
        params = [f"{year}-01-01", f"{year + 1}-01-01"]
    db = store.db
    by_category = db.execute_sql(f"select m.category, count(*) from matter m where {where} group by 1 "
                                 "order by 2 desc", params).fetchall()
    by_building = db.execute_sql(
        f"select coalesce(c.name, '') || coalesce(b.name, '未指定'), count(*) from matter m "
        f"left join building b on b.id = m.building_id left join compound c on c.id = b.compound_id "
        f"where {where} group by 1 order by 2 desc limit 20", params).fetchall()
    by_month = db.execute_sql(f"select substr(m.raised_on, 1, 7), count(*) from matter m where {where} "
                              "group by 1 order by 1", params).fetchall()
    ratings = dict(db.execute_sql(f"select e.rating, count(*) from evaluation e join matter m on m.id = e.matter_id "
                                  f"where e.deleted = 0 and {where} group by 1", params).fetchall())
    return {"category": [tuple(r) for r in by_category], "building": [tuple(r) for r in by_building],
            "month": [tuple(r) for r in by_month], "satisfaction": [(r, ratings.get(r, 0)) for r in RATINGS]}


def meetings_of_matter(store, matter_id: str) -> list[str]:
    """The meetings that had the matter on their agenda or voted a motion on it."""
    return [r[0] for r in store.db.execute_sql(
        "select meeting_id from agenda_item where matter = ? and deleted = 0 union "
        "select meeting_id from motion where matter = ? and deleted = 0", (matter_id, matter_id))]


def agenda_matter_ids(store, meeting_id: str) -> list[str]:
    return [r[0] for r in store.db.execute_sql(
        "select matter from agenda_item where meeting_id = ? and matter is not null and deleted = 0",
        (meeting_id,))]

