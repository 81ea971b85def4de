"""Read-only gathering of a meeting's or a matter's facts for the printouts (Qt-free)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.errors import ValidationError
from db.meetings import matters as mm
from db.meetings import meetings as mt
from db.meetings.kinds import get_kind, kind_rule
from db.meetings.rules import parse_rule, quorum_met, rule_text
from i18n import _


def resolve_meeting(store, text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Choose a meeting."), field="meeting")
    row = store.db.execute_sql("select id from meeting where deleted = 0 and (id = ? or title = ?) "
                               "order by starts_at desc limit 1", (text, text)).fetchone()
    if row is None:
        raise ValidationError(_("No meeting “{name}”.").format(name=text), field="meeting")
    return row[0]


def resolve_matter(store, text: str | None) -> str:
    """A matter by its id, or by its title when exactly one matter has it; an ambiguous title is
    refused with the candidates (id, date raised, who raised it) so the caller can pick by id."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Choose a residents' matter (its id or title)."), field="matter")
    row = store.db.execute_sql("select id from matter where deleted = 0 and id = ?", (text,)).fetchone()
    if row is not None:
        return row[0]
    rows = store.db.execute_sql("select id, raised_on, raised_by from matter where deleted = 0 and title = ? "
                                "order by raised_on desc, id", (text,)).fetchall()
    if not rows:
        raise ValidationError(_("No residents' matter “{name}”.").format(name=text), field="matter")
    if len(rows) > 1:
        listed = "；".join(_("{id} (raised {day} by {who})").format(id=mid, day=day or "", who=who or "")
                          for mid, day, who in rows[:10])
        raise ValidationError(_("{n} residents' matters are titled “{name}”; give the id of one: "
                                "{candidates}").format(n=len(rows), name=text, candidates=listed), field="matter")
    return rows[0][0]


def _time_span(m: dict[str, Any]) -> str:
    start = (m["starts_at"] or "")[11:16]
    end = (m["ends_at"] or "")[11:16]
    return f"{start}-{end}" if start and end else start


def minutes_facts(store, meeting_id: str) -> dict[str, Any]:
    """Everything the 会议记录 prints, as plain values."""
    m = mt.get_meeting(store, meeting_id)
    kind = get_kind(store, m["kind_id"])
    rows = mt.invitees(store, meeting_id)
    att = mt.attendance_of(rows, m)
    met, why = quorum_met(kind_rule(kind), att)
    if parse_rule(kind["quorum"]) is None:  # no rule: nothing was "met", only the counts
        quorum = _("{n} of {e} present (no quorum needed)").format(n=att.participating, e=att.entitled)
    elif met:
        quorum = _("{rule}: {present} of {entitled} present — quorum met").format(
            rule=rule_text(kind["quorum"]), present=att.participating, entitled=att.entitled)
    else:
        quorum = why
    names = {r["id"]: r["name"] for r in rows}
    present = [r["name"] + (_("(proxy: {holder})").format(holder=names.get(r["proxy_holder"], ""))
                            if r["status"] == "proxy" else "")
               for r in rows if r["status"] in ("present", "proxy")]
    motions = []
    rule = kind_rule(kind)
    for motion in mt.motions(store, meeting_id):
        result, options = mt.motion_result(store, motion, att, rule)
        tally = None if options else mt.motion_tally(store, motion)
        motions.append({"title": motion["title"], "method": m["voting_method"] or "",
                        "votes_for": "" if tally is None else str(tally.votes_for),
                        "votes_against": "" if tally is None else str(tally.votes_against),
                        "votes_abstain": "" if tally is None else str(tally.votes_abstain),
                        "result": result.label, "reason": result.reason,
                        "options": [option_line(o) for o in options]})
    return {
        "meeting": m, "kind": kind, "attendance": att, "quorum": quorum, "present": present,
        "attending": [r["name"] for r in rows if r["status"] == "attending"],
        "absent": [(r["name"], r["absence_reason"] or "") for r in rows if r["status"] == "absent"],
        "agenda": [(a["title"], a["notes"] or "") for a in mt.agenda(store, meeting_id)],
        "motions": motions,
        "resolutions": [(r["text"], r["owner"] or r["org"] or "", r["deadline"] or "")
                        for r in mt.resolutions(store, meeting_id=meeting_id)],
        "time": _time_span(m), "invitees": rows,
    }


def option_line(o: dict[str, Any]) -> dict[str, str]:
    """One option of a motion as the minutes print it: its tally and whether it was adopted."""
    t = o["tally"]
    return {"label": o["label"], "votes_for": "" if t is None else str(t.votes_for),
            "votes_against": "" if t is None else str(t.votes_against),
            "votes_abstain": "" if t is None else str(t.votes_abstain),
            "result": _("Adopted") if o["adopted"] else o["outcome"]}


def receipt_facts(store, matter_id: str) -> dict[str, Any]:
    m = mm.get_matter(store, matter_id)
    org = store.db.execute_sql("select name from partner_org where id = ?", (m["partner_org_id"],)).fetchone() \
        if m["partner_org_id"] else None
    m["owner_text"] = "、".join(x for x in (m["owner"], org[0] if org else None) if x)
    return m


def posting_facts(store, *, meeting_id: str | None = None, matter_ids: list[str] | None = None,
                  on: dt.date | None = None) -> list[dict[str, Any]]:
    """What a 决议公示 (a meeting's resolutions) or 办理结果公示 (done matters) lists."""
    if meeting_id:
        return [{"text": r["text"], "owner": r["owner"] or r["org"] or "", "deadline": r["deadline"] or ""}
                for r in mt.resolutions(store, meeting_id=meeting_id)]
    out = []
    for mid in matter_ids or []:
        m = receipt_facts(store, mid)
        out.append({"title": m["title"], "result": m["result"] or "", "owner": m["owner_text"],
                    "done_on": m["done_on"] or ""})
    return out
