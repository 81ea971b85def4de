"""Print jobs shared by `griddesk print` and the printing screen (Qt-free, so it lives in db/).

A job names a form and its parameters; make_pdf gathers the data from the register (read-only
queries in db/printing_data.py), renders it with printouts/, and records an AuditEntry when ID
and phone numbers are printed in full.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from db import printing_data as pd
from db.errors import ValidationError
from db.printing_audit import record_full_print
from db.register.search import Filters
from db.validation import parse_date
from i18n import N_, _
from printouts.data import MeetingNoticeData, NoticeData, SigninData, SigninPerson, chinese_date
from printouts.household import household_pdf, visit_pdf
from printouts.layout import CancelledFn, ProgressFn
from printouts.meetings_jobs import MEETING_BUILDERS, MEETING_FORMS
from printouts.notice import meeting_notice_pdf, notice_pdf
from printouts.tables import register_list_pdf, signin_pdf

FORMS: dict[str, str] = {
    "meeting-notice": N_("Meeting notice (GB/T 9704 layout)"),
    "signin": N_("Meeting sign-in sheet"),
    "household": N_("Household registration form"),
    "visit": N_("Home visit record"),
    "list": N_("Register list"),
    "notice": N_("Free-text notice (stairwells)"),
    **MEETING_FORMS,
}


@dataclass
class PrintJob:
    form: str
    params: dict[str, Any] = field(default_factory=dict)
    show_full: bool = False


@dataclass
class PrintResult:
    pdf: bytes
    pages: int
    title: str
    records: int  # notices, forms or list rows printed
    changes: list = field(default_factory=list)  # the AuditEntry rows written for a full-number print


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def _param(job: PrintJob, key: str, default: Any = "") -> Any:
    value = job.params.get(key)
    return default if value is None or value == "" else value


def _date_param(job: PrintJob, key: str, default: str | None = None) -> str | None:
    """A date as people type it (2026/11/25, 2026年11月25日, ...) as ISO text; a clear error if not."""
    value = _param(job, key)
    if not value:
        return default
    day = parse_date(value, field=key, allow_future=True)
    return day.isoformat() if day else default


def _require(job: PrintJob, *keys: str) -> None:
    for key in keys:
        if not _param(job, key):
            raise ValidationError(_("The form “{form}” needs “{field}”.").format(
                form=_(FORMS[job.form]), field=key), field=key)


def _building_ids(store, job: PrintJob) -> list[tuple[str, str]]:
    """(id, label) of the buildings a batch covers: given buildings, or every building of a compound."""
    buildings = _param(job, "buildings", [])
    if isinstance(buildings, str):
        buildings = [buildings]
    if buildings:
        known = dict(pd.buildings(store))
        out = []
        for b in buildings:
            bid = pd.resolve_building(store, b)
            out.append((bid, known.get(bid, b)))
        return out
    compound = _param(job, "compound")
    if compound:
        found = pd.buildings(store, pd.resolve_compound(store, compound))
        if not found:
            raise ValidationError(_("The compound “{name}” has no buildings.").format(name=compound),
                                  field="compound")
        return found
    return []


def make_pdf(store, job: PrintJob, *, progress: ProgressFn | None = None,
             cancelled: CancelledFn | None = None, today: dt.date | None = None) -> PrintResult:
    """Gather, render, and (for a full-number print) audit; returns the PDF and what it holds."""
    if job.form not in FORMS:
        raise ValidationError(_("Unknown form “{form}”; the forms are: {forms}.").format(
            form=job.form, forms=", ".join(FORMS)), field="form")
    builder = {"meeting-notice": _meeting_notice, "signin": _signin, "household": _household,
               "visit": _visit, "list": _list, "notice": _notice, **MEETING_BUILDERS}[job.form]
    pdf, title, records, audit = builder(store, job, progress, cancelled, today or dt.date.today())
    changes = []
    if job.show_full and audit is not None:
        table, ids, detail = audit
        changes = record_full_print(store, form=job.form, target_table=table, target_ids=ids, detail=detail)
    return PrintResult(pdf=pdf, pages=page_count(pdf), title=title, records=records, changes=changes)


def _meeting_notice(store, job, progress, cancelled, today):
    _require(job, "meeting", "time", "place", "issuer")
    base = dict(meeting=_param(job, "meeting"), time=_param(job, "time"), place=_param(job, "place"),
                issuer=_param(job, "issuer"), date=_date_param(job, "date", today.isoformat()),
                addressee=_param(job, "addressee"), intro=_param(job, "intro"),
                attendees=_param(job, "attendees"), agenda=list(_param(job, "agenda", [])),
                requirements=list(_param(job, "requirements", [])), contact=_param(job, "contact"),
                contact_phone=_param(job, "contact_phone"), title=_param(job, "title"))
    buildings = _building_ids(store, job)
    items = []
    for _bid, label in buildings or [(None, "")]:
        fields = {k: (v.replace("{building}", label) if isinstance(v, str) else v) for k, v in base.items()}
        if label and not fields["addressee"]:
            fields["addressee"] = _("Residents of {building}:").format(building=label)
        items.append(MeetingNoticeData(**fields))
    pdf = meeting_notice_pdf(items, progress=progress, cancelled=cancelled)
    title = items[0].title or _("Notice of the {meeting}").format(meeting=items[0].meeting)
    return pdf, title, len(items), None


def _notice(store, job, progress, cancelled, today):
    _require(job, "title", "body")
    buildings = _building_ids(store, job)
    items = []
    for _bid, label in buildings or [(None, "")]:
        addressee = _param(job, "addressee") or (_("Residents of {building}:").format(building=label)
                                                  if label else "")
        items.append(NoticeData(title=_param(job, "title").replace("{building}", label),
                                body=_param(job, "body").replace("{building}", label),
                                issuer=_param(job, "issuer"), date=_date_param(job, "date", today.isoformat()),
                                addressee=addressee.replace("{building}", label)))
    return notice_pdf(items, progress=progress, cancelled=cancelled), items[0].title, len(items), None


def _signin(store, job, progress, cancelled, today):
    _require(job, "meeting")
    people: list[SigninPerson] = []
    for name in _param(job, "names", []):
        if name.strip():
            people.append(SigninPerson(name=name.strip()))
    buildings = _building_ids(store, job)
    if buildings:
        people.extend(pd.signin_people(store, building_ids=[b for b, _label in buildings]))
    # Host and date: lines to fill in by hand when not given (a sheet is often printed days before).
    data = SigninData(meeting=_param(job, "meeting"), time=_param(job, "time"), place=_param(job, "place"),
                      people=people, blank_rows=int(_param(job, "blank_rows", 5)), show_full=job.show_full,
                      host=(_param(job, "host") or "").strip(), date=chinese_date(_date_param(job, "date")))
    pdf = signin_pdf(data, progress=progress, cancelled=cancelled)
    audit = ("building", [b for b, _label in buildings] or None,
             _("sign-in sheet {meeting}, {n} names").format(meeting=data.meeting, n=len(people)))
    return pdf, _("Sign-in sheet: {meeting}").format(meeting=data.meeting), len(people), audit


def _household(store, job, progress, cancelled, today):
    households = _param(job, "households", [])
    if isinstance(households, str):
        households = [households]
    ids = [pd.resolve_household(store, h) for h in households]
    for bid, _label in _building_ids(store, job):
        ids.extend(pd.household_ids_of_building(store, bid))
    if not ids:
        raise ValidationError(_("Choose a household or a building for the registration forms."),
                              field="household")
    forms = pd.household_forms(store, ids, show_full=job.show_full)
    pdf = household_pdf(forms, progress=progress, cancelled=cancelled)
    return pdf, _("Household registration form"), len(forms), ("household", ids, "")


def _visit(store, job, progress, cancelled, today):
    visit = _param(job, "visit")
    if visit:
        data = pd.visit_record(store, visit, show_full=job.show_full)
        audit = ("visit", [visit], "")
    else:
        household = _param(job, "household")
        if not household:
            raise ValidationError(_("Choose a home visit, or a household for a blank visit form."),
                                  field="visit")
        hid = pd.resolve_household(store, household)
        data = pd.blank_visit_record(store, hid, show_full=job.show_full)
        audit = ("household", [hid], _("blank visit form"))
    return visit_pdf(data, progress=progress, cancelled=cancelled), _("Home visit record"), 1, audit


def register_list_job(filters, *, title: str | None = None, show_full: bool = False,
                      portrait: bool = False) -> PrintJob:
    """A print job for the register list as filtered on the households screen
    (filters: db.register.search.Filters)."""
    return PrintJob("list", {"kind": "register", "filters": filters, "title": title, "portrait": portrait},
                    show_full=show_full)


def _list(store, job, progress, cancelled, today):
    kind = _param(job, "kind", "persons")
    if kind == "register":
        filters = _param(job, "filters", None)
        if isinstance(filters, dict):
            filters = Filters(**filters)
        data = pd.register_filter_list(store, filters or Filters(), title=_param(job, "title") or None,
                                       show_full=job.show_full)
        data.landscape = not _param(job, "portrait", False)
        pdf = register_list_pdf(data, progress=progress, cancelled=cancelled)
        audit = (None, None, _("{title}, {filter}, {n} rows").format(title=data.title, filter=data.subtitle,
                                                                      n=len(data.rows)))
        return pdf, data.title, len(data.rows), audit
    compound = _param(job, "compound")
    building = _param(job, "building")
    data = pd.register_list(
        store, kind, compound_id=pd.resolve_compound(store, compound) if compound else None,
        building_id=pd.resolve_building(store, building) if building else None,
        tag=_param(job, "tag") or None, person_type=_param(job, "person_type") or None,
        house_use=_param(job, "house_use") or None, date_from=_date_param(job, "date_from"),
        date_to=_date_param(job, "date_to"), show_full=job.show_full, title=_param(job, "title") or None)
    data.landscape = not _param(job, "portrait", False)
    pdf = register_list_pdf(data, progress=progress, cancelled=cancelled)
    audit = (None, None, _("{title}, {filter}, {n} rows").format(title=data.title, filter=data.subtitle,
                                                                  n=len(data.rows)))
    return pdf, data.title, len(data.rows), audit
