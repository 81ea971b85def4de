"""Print jobs of the meeting forms, for `griddesk print` and the printing screen: each builder is
(store, job, progress, cancelled, today) -> (pdf, title, records, audit), like db/print_jobs."""

from __future__ import annotations

import datetime as dt

from db import printing_data as pd
from db.errors import ValidationError
from db.meetings import matters as mm
from db.meetings import meetings as mt
from db.meetings.printing import minutes_facts, posting_facts, receipt_facts, resolve_matter, resolve_meeting
from i18n import N_, _
from printouts.data import Block, MeetingNoticeData, NoticeData, SigninData, SigninPerson, chinese_date
from printouts.meetings import (
    BallotData,
    MinutesData,
    MotionLine,
    ReceiptData,
    ResolutionLine,
    ballot_pdf,
    minutes_pdf,
    receipt_pdf,
)
from printouts.notice import chinese_number, meeting_notice_pdf, notice_pdf
from printouts.tables import signin_pdf

MEETING_FORMS: dict[str, str] = {
    "minutes": N_("Minutes of a meeting (会议记录)"),
    "ballot": N_("Paper ballots of a meeting's motions (表决票)"),
    "meeting-signin": N_("Sign-in sheet of a meeting, pre-filled and numbered"),
    "notice-of-meeting": N_("Notice of a meeting, from the meeting (one per building with --compound)"),
    "resolution-posting": N_("Posting of a meeting's resolutions (决议公示)"),
    "result-posting": N_("Posting of matters' results (办理结果公示)"),
    "matter-receipt": N_("Receipt for the resident who raised a matter (民事办理回执)"),
}


def _p(job, key, default=""):
    value = job.params.get(key)
    return default if value is None or value == "" else value


def minutes_data(store, meeting_id: str) -> MinutesData:
    f = minutes_facts(store, meeting_id)
    m, att = f["meeting"], f["attendance"]
    return MinutesData(
        title=m["title"], kind=m["kind"], date=(m["starts_at"] or "")[:10], time=f["time"], place=m["place"] or "",
        chair=m["chair"] or "", recorder=m["recorder"] or "", entitled=att.entitled, present=att.present,
        proxies=att.proxies, attending=f["attending"], absent=f["absent"], present_names=f["present"],
        quorum=f["quorum"], agenda=f["agenda"], summary=m["summary"] or "",
        motions=[MotionLine(**x) for x in f["motions"]],
        resolutions=[ResolutionLine(t, o, d) for t, o, d in f["resolutions"]])


def _minutes(store, job, progress, cancelled, today):
    mid = resolve_meeting(store, _p(job, "meeting"))
    data = minutes_data(store, mid)
    return minutes_pdf(data, progress=progress, cancelled=cancelled), _("Minutes: {meeting}").format(
        meeting=data.title), 1, None


def _ballot(store, job, progress, cancelled, today):
    mid = resolve_meeting(store, _p(job, "meeting"))
    m = mt.get_meeting(store, mid)
    motions = mt.motions(store, mid)
    if _p(job, "motion"):
        motions = [x for x in motions if _p(job, "motion") in (x["id"], x["title"])]
    if not motions:
        raise ValidationError(_("The meeting has no motion to print ballots for."), field="motion")
    voters = [r["name"] for r in mt.invitees(store, mid) if r["status"] != "attending"]
    double = bool(store.db.execute_sql("select double_majority from meeting_kind where id = ?",
                                       (m["kind_id"],)).fetchone()[0]) if m["kind_id"] else False
    items = [BallotData(meeting=m["title"], motion=x["title"], date=(m["starts_at"] or "")[:10],
                        names=voters if _p(job, "prefill", True) else [],
                        copies=int(_p(job, "copies", len(voters) or 1)), area=double,
                        options=[o["label"] for o in mt.motion_options(store, x["id"])],
                        pick_one=bool(x["pick_one"])) for x in motions]
    pdf = ballot_pdf(items, progress=progress, cancelled=cancelled)
    return pdf, _("Ballot: {motion}").format(motion=items[0].motion), sum(len(i.names) or i.copies for i in items), None


def _signin(store, job, progress, cancelled, today):
    mid = resolve_meeting(store, _p(job, "meeting"))
    m = mt.get_meeting(store, mid)
    rows = mt.invitees(store, mid)
    people = [SigninPerson(name=r["name"], unit=r["unit"] or "", role=r["role"] or "", phone=r["phone"] or "",
                           note=_("attending without vote (列席)") if r["status"] == "attending" else "")
              for r in rows]
    when = (m["starts_at"] or "").replace("T", " ")
    data = SigninData(meeting=m["title"], time=when, place=m["place"] or "", people=people,
                      blank_rows=int(_p(job, "blank_rows", 5)), show_full=job.show_full)
    audit = ("meeting", [mid], _("sign-in sheet {meeting}, {n} names").format(meeting=m["title"], n=len(people)))
    return signin_pdf(data, progress=progress, cancelled=cancelled), _("Sign-in sheet: {meeting}").format(
        meeting=m["title"]), len(people), audit


def _notice(store, job, progress, cancelled, today):
    mid = resolve_meeting(store, _p(job, "meeting"))
    m = mt.get_meeting(store, mid)
    start = m["starts_at"] or ""
    day = dt.date.fromisoformat(start[:10]) if start else today
    time_text = f"{chinese_date(day)} {start[11:16]}" if len(start) > 10 else chinese_date(day)
    agenda = [a["title"] for a in mt.agenda(store, mid)] + [x["title"] for x in mt.motions(store, mid)
                                                             if not x["agenda_item_id"]]
    issuer = _p(job, "issuer") or store.get_meta("community_name") or _("Residents' committee")
    base = dict(meeting=m["title"], time=time_text, place=m["place"] or "", issuer=issuer,
                date=_p(job, "date") or today.isoformat(), attendees=_p(job, "attendees") or _attendees(store, m),
                agenda=agenda, requirements=list(_p(job, "requirements", [])) or [
                    _("Please arrive on time and sign in; if you cannot come, tell the contact person.")],
                contact=_p(job, "contact") or m["recorder"] or "", contact_phone=_p(job, "contact_phone"),
                addressee=_p(job, "addressee"))
    compound = _p(job, "compound")
    items = []
    labels = [label for _bid, label in pd.buildings(store, pd.resolve_compound(store, compound))] if compound else [""]
    for label in labels:
        fields = dict(base)
        if label and not fields["addressee"]:
            fields["addressee"] = _("Residents of {building}:").format(building=label)
        items.append(MeetingNoticeData(**fields))
    pdf = meeting_notice_pdf(items, progress=progress, cancelled=cancelled)
    return pdf, _("Notice of the {meeting}").format(meeting=m["title"]), len(items), None


def _attendees(store, m) -> str:
    from db.meetings.kinds import get_kind
    from db.meetings.rules import ENTITLED

    entitled = get_kind(store, m["kind_id"])["entitled"] if m["kind_id"] else None
    return _(ENTITLED[entitled]) if entitled in ENTITLED else ""


def _resolution_posting(store, job, progress, cancelled, today):
    mid = resolve_meeting(store, _p(job, "meeting"))
    m = mt.get_meeting(store, mid)
    lines = posting_facts(store, meeting_id=mid)
    if not lines:
        raise ValidationError(_("The meeting has no resolutions to post."), field="meeting")
    body = [Block("para", _("On {date} the {meeting} decided the following. They are posted for {days} days; "
                            "comments are welcome at the residents' committee.").format(
        date=chinese_date((m["starts_at"] or "")[:10]), meeting=m["title"], days=_p(job, "days", 7)))]
    for i, r in enumerate(lines, 1):
        owner = _("owner: {owner}").format(owner=r["owner"])
        deadline = _("by {date}").format(date=chinese_date(r["deadline"])) if r["deadline"] else ""
        body.append(Block("h1", f"{chinese_number(i)}、{r['text']}", "，".join(x for x in (owner, deadline) if x)))
    data = NoticeData(title=_("Posting of the resolutions of the {meeting}").format(meeting=m["title"]), body=body,
                      issuer=_p(job, "issuer") or _("Residents' committee"), date=_p(job, "date") or today.isoformat(),
                      addressee=_("Dear residents:"))
    return notice_pdf(data, progress=progress, cancelled=cancelled), data.title, len(lines), None


def _result_posting(store, job, progress, cancelled, today):
    ids = [resolve_matter(store, x) for x in (_p(job, "matters", []) or [])]
    if not ids:
        ids = mm.matter_ids(store, flag="unposted")
    if not ids:
        raise ValidationError(_("No done matter is waiting to be posted."), field="matter")
    lines = posting_facts(store, matter_ids=ids)
    body = [Block("para", _("The following residents' matters have been handled. The results are posted for "
                            "{days} days; comments are welcome at the residents' committee.").format(
        days=_p(job, "days", 7)))]
    for i, r in enumerate(lines, 1):
        body.append(Block("h1", f"{chinese_number(i)}、{r['title']}", _("{result} ({owner}, done {date})").format(
            result=r["result"], owner=r["owner"], date=chinese_date(r["done_on"]))))
    data = NoticeData(title=_("Posting of the results of residents' matters"), body=body,
                      issuer=_p(job, "issuer") or _("Residents' committee"), date=_p(job, "date") or today.isoformat(),
                      addressee=_("Dear residents:"))
    return notice_pdf(data, progress=progress, cancelled=cancelled), data.title, len(lines), None


def _receipt(store, job, progress, cancelled, today):
    ids = [resolve_matter(store, x) for x in (_p(job, "matters", []) or [])]
    if not ids:
        raise ValidationError(_("Choose the matter for the receipt."), field="matter")
    items = []
    for mid in ids:
        m = receipt_facts(store, mid)
        items.append(ReceiptData(number=f"MS-{(m['raised_on'] or '').replace('-', '')}-{mid[-4:].upper()}",
                                 raised_by=m["raised_by"] or "", raised_on=m["raised_on"] or "", title=m["title"],
                                 category=m["category"] or "", decision=m["decision"] or "", owner=m["owner_text"],
                                 deadline=m["deadline"] or "", result=m["result"] or "", done_on=m["done_on"] or "",
                                 issuer=_p(job, "issuer") or _("Residents' committee"),
                                 date=_p(job, "date") or today.isoformat(), contact=_p(job, "contact")))
    return receipt_pdf(items, progress=progress, cancelled=cancelled), _("Receipt: how your matter was handled"), \
        len(items), None


MEETING_BUILDERS = {"minutes": _minutes, "ballot": _ballot, "meeting-signin": _signin, "notice-of-meeting": _notice,
                    "resolution-posting": _resolution_posting, "result-posting": _result_posting,
                    "matter-receipt": _receipt}
