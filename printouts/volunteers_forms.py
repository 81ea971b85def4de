"""The volunteer forms from the database: read with db/volunteers queries, rendered by printouts.

Every function returns (pdf bytes, title). ID and phone numbers are masked unless show_full.
"""

from __future__ import annotations

import datetime as dt

from db.errors import GridDeskError
from db.register.search import age_on
from db.validation import mask
from db.volunteers import roster, rotas, service, stars, timebank
from db.volunteers.common import WEEKDAYS, hours_text
from i18n import N_, _
from printouts.data import Column, RegisterListData, SigninData, SigninPerson, chinese_date
from printouts.tables import register_list_pdf, signin_pdf
from printouts.volunteers import CertificateData, certificate_pdf


def certificate(store, certificate_id: str, *, show_full: bool = False) -> tuple[bytes, str]:
    c = stars.certificate(store, certificate_id)
    if c is None:
        raise GridDeskError(_("Certificate: not found."))
    v = roster.volunteer_info(store, c["volunteer_id"])
    data = CertificateData(number=c["number"], name=v["name"] or "", id_type=v["id_type"] or "居民身份证",
                           id_number=v["id_number"] or "", volunteer_number=v["number"] or "",
                           hours=hours_text(c["minutes"]), content=c["content"] or "",
                           period_from=c["period_from"] or "", period_to=c["period_to"] or "", issuer=c["issuer"],
                           person_in_charge=c["person_in_charge"] or "", handler=c["handler"] or "",
                           contact=c["contact"] or "", issued=c["issued"], show_full=show_full)
    return certificate_pdf(data), _("Certificate of volunteer service hours") + f" {c['number']}"


def roster_list(store, filters: roster.RosterFilters | None = None, *, show_full: bool = False) -> tuple[bytes, str]:
    ids = roster.search_volunteers(store, filters or roster.RosterFilters())
    rows = []
    info: dict = {}
    for i in range(0, len(ids), 500):
        info.update(roster.roster_rows(store, ids[i:i + 500]))
    for n, vid in enumerate(ids, 1):
        r = info[vid]
        age = age_on(r["birth_date"])
        rows.append([str(n), r["number"] or "", r["name"] or "", r["sex"] or "", "" if age is None else str(age),
                     "、".join(r["teams"]), "、".join(r["skills"]), r["phone"] or "",
                     (r["employer"] or _("Yes")) if r["party_report"] else "", hours_text(r["minutes"])])
    cols = [Column(_("No."), 5), Column(_("Volunteer no."), 9), Column(_("Name"), 9), Column(_("Sex"), 4),
            Column(_("Age"), 4), Column(_("Teams"), 13), Column(_("Skills"), 16), Column(_("Phone"), 11, "phone"),
            Column(_("Party member report"), 13), Column(_("Hours"), 7)]
    title = _("Volunteer roster")
    return register_list_pdf(RegisterListData(title, cols, rows, show_full=show_full)), title


def rota_sheet(store, rota_id: str, *, first: dt.date, last: dt.date, show_full: bool = False) -> tuple[bytes, str]:
    rota = next((r for r in rotas.list_rotas(store) if r["id"] == rota_id), None)
    if rota is None:
        raise GridDeskError(_("Rota: not found."))
    rows = []
    for s in rotas.printable_rota(store, rota_id=rota_id, first=first, last=last):
        day = dt.date.fromisoformat(s["day"])
        people = "、".join(n for n, _p in s["people"])
        phones = "、".join(timebank_mask(p, show_full) for _n, p in s["people"] if p)
        rows.append([chinese_date(day), _(WEEKDAYS[day.weekday()]), f"{s['start']}-{s['end']}", people,
                     s["leader"] or "", phones, s["place"] or ""])
    cols = [Column(_("Date"), 11), Column(_("Weekday"), 6), Column(_("Shift"), 9), Column(_("People on duty"), 22),
            Column(_("Leader"), 8), Column(_("Phone"), 22), Column(_("Place"), 14)]
    title = rota["name"]
    subtitle = _("{first} to {last}").format(first=chinese_date(first), last=chinese_date(last))
    return register_list_pdf(RegisterListData(title, cols, rows, subtitle=subtitle)), title


def timebank_mask(phone: str, show_full: bool) -> str:
    from printouts.tables import masked

    return masked(phone, "phone", show_full)


def passbook_page(store, account: str) -> tuple[bytes, str]:
    rows = []
    for e in timebank.passbook(store, account):
        plus, minus = (hours_text(e["minutes"]), "") if e["minutes"] > 0 else ("", hours_text(-e["minutes"]))
        balance = hours_text(e["balance"]) if e["balance"] >= 0 else "-" + hours_text(-e["balance"])
        summary = _(KIND_LABEL.get(e["kind"], e["kind"])) + (f"（{e['other']}）" if e["other"] else "")
        rows.append([chinese_date(e["at"]), summary, plus, minus, balance, e["note"] or "", e["by"] or ""])
    cols = [Column(_("Date"), 16), Column(_("Entry"), 18), Column(_("Deposited (h)"), 9),
            Column(_("Withdrawn (h)"), 9), Column(_("Balance (h)"), 9), Column(_("Note"), 22), Column(_("Clerk"), 8)]
    name = timebank.account_name(store, account)
    title = _("Time bank passbook: {name}").format(name=name)
    balance = timebank.balance(store, account)
    subtitle = _("Balance {hours} h").format(hours=hours_text(balance) if balance >= 0 else "-" + hours_text(-balance))
    return register_list_pdf(RegisterListData(title, cols, rows, subtitle=subtitle, landscape=False)), title


KIND_LABEL = {"deposit": N_("Deposit"), "withdraw": N_("Withdrawal"), "transfer": N_("Transfer"),
              "donate": N_("Donation")}


def signin_sheet(store, activity_id: str, *, show_full: bool = False) -> tuple[bytes, str]:
    act = service.activity(store, activity_id)
    if act is None:
        raise GridDeskError(_("Activity: not found."))
    people_ids = roster.team_members(store, act["team_id"]) if act["team_id"] else []
    info = roster.roster_rows(store, people_ids[:300])
    people = [SigninPerson(name=info[v]["name"] or "", unit="、".join(info[v]["teams"][:1]),
                           role=info[v]["number"] or "", phone=info[v]["phone"] or "") for v in people_ids[:300]]
    time = f"{act['start'].replace('T', ' ')} - {act['end'][11:]}"
    title = _("Volunteer service sign-in sheet: {activity}").format(activity=act["title"])
    first = [_("Activity: {activity}").format(activity=act["title"])]
    if act["team_name"]:
        first.append(_("Team: {team}").format(team=act["team_name"]))
    header = ["　　".join(first), "　　".join([
        _("Time: {time}").format(time=time), _("Place: {place}").format(place=act["place"] or "＿＿＿＿"),
        _("Person in charge: {name}").format(name=act["person_in_charge"] or "＿＿＿＿")])]
    data = SigninData(meeting=act["title"], time=time, place=act["place"] or "", people=people, show_full=show_full,
                      title=title, header=header, unit_title=_("Team"), role_title=_("Volunteer no."))
    return signin_pdf(data), title


def star_notice(store) -> tuple[bytes, str]:
    rows = []
    notices = stars.notices(store)
    for n, s in enumerate(notices, 1):
        rows.append([str(n), s["name"] or "", s["number"] or "", s["teams"] or "", "★" * (s["level"] or 0),
                     f"{s['hours']:g}", f"{chinese_date(s['notice_from'])} - {chinese_date(s['notice_until'])}"])
    cols = [Column(_("No."), 5), Column(_("Name"), 10), Column(_("Volunteer no."), 10), Column(_("Teams"), 18),
            Column(_("Star level"), 10), Column(_("Hours"), 8), Column(_("Notice period"), 22)]
    title = _("Public notice of volunteer star levels")
    until = max((s["notice_until"] for s in notices), default="")
    subtitle = _("Objections to the community office before {date}.").format(date=chinese_date(until)) if until else ""
    return register_list_pdf(RegisterListData(title, cols, rows, subtitle=subtitle)), title


def record_sheet(store, volunteer_id: str, *, show_full: bool = False) -> tuple[bytes, str]:
    """志愿服务记录表 of one volunteer: who (name, sex, birth date, ID type and masked number,
    volunteer number, skills, contact), then every approved service with the fields the 2020
    recording measures ask for (date, activity, place, beneficiaries, content, hours, person in
    charge, recorder, rating), oldest first, and the total."""
    v = roster.volunteer_info(store, volunteer_id)
    if v is None:
        raise GridDeskError(_("Volunteer: not found."))
    records = [r for r in reversed(service.service_history(store, volunteer_id, limit=100_000))
               if r["status"] == "approved"]
    rows = [[str(n), chinese_date((r["sign_in"] or r["start"] or "")[:10]), r["title"] or "", r["place"] or "",
             r["beneficiaries"] or "", r["content"] or "", hours_text(r["minutes"] or 0), r["person_in_charge"] or "",
             r["recorder"] or "", r["rating"] or ""] for n, r in enumerate(records, 1)]
    cols = [Column(_("No."), 4), Column(_("Date"), 13), Column(_("Activity"), 14), Column(_("Place"), 11),
            Column(_("Beneficiaries"), 10), Column(_("Content"), 16), Column(_("Hours"), 6),
            Column(_("Person in charge"), 8), Column(_("Recorder"), 8), Column(_("Rating"), 6)]
    id_number = v["id_number"] or ""
    shown_id = id_number if show_full else mask("id_number", id_number)
    phone = v["phone"] or ""
    subtitle = _("{name}, {sex}, born {birth}; {id_type} {id_number}; volunteer number {number}; skills {skills}; "
                 "phone {phone}. {n} services, {hours} h in all.").format(
        name=v["name"] or "", sex=v["sex"] or "—", birth=chinese_date(v["birth_date"]) or "—",
        id_type=v["id_type"] or _("ID card"), id_number=shown_id or "—", number=v["number"] or "",
        skills="、".join(v["skills"]) or "—", phone=(phone if show_full else mask("phone", phone)) or "—",
        n=len(records), hours=hours_text(sum(r["minutes"] or 0 for r in records)))
    title = _("Volunteer service record: {name}").format(name=v["name"] or "")
    return register_list_pdf(RegisterListData(title, cols, rows, subtitle=subtitle, show_full=show_full)), title
