"""Scheduling and editing a meeting: kind, time, place, chair, recorder, who is invited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db import printing_data as pd
from db.meetings import kinds as kinds_service
from db.meetings import meetings as mt
from db.meetings.invitees import register_people, volunteer_invitees
from db.meetings.partners import list_contacts
from db.meetings.rules import ENTITLED
from db.volunteers.roster import list_teams
from i18n import N_, _
from views.meetings.forms import Field, FormDialog

INVITE_BODIES = [("", N_("nobody yet (add people later)")), ("households", N_("one representative per household")),
                 ("adults", N_("all adult residents")), ("party_members", N_("party members")),
                 ("owners", N_("owners")), ("contacts", N_("partner organisations' contacts")),
                 ("volunteers", N_("volunteers"))]


def _default_start() -> str:
    day = dt.date.today() + dt.timedelta(days=7)
    return f"{day.isoformat()} 19:00"


def schedule_dialog(ctx, parent=None, *, meeting: dict[str, Any] | None = None) -> FormDialog:
    """New meeting (meeting None) or edit one; returns the dialog (exec it)."""
    store = ctx.store
    kinds = kinds_service.list_kinds(store)
    if not kinds:  # the screen writes them on the writer when it opens; a dialog opened alone does it here
        kinds_service.ensure_default_kinds(store)
        kinds = kinds_service.list_kinds(store)
    kind_choices = [(k["name"], k["id"]) for k in kinds]
    m = meeting or {}
    fields = [
        Field("title", _("Meeting"), value=m.get("title"), placeholder=_("e.g. 3号楼居民议事会")),
        Field("kind_id", _("Kind"), "choice", kind_choices, value=m.get("kind_id")),
        Field("starts_at", _("Starts"), value=(m.get("starts_at") or _default_start()).replace("T", " "),
              placeholder="2026-12-05 19:00"),
        Field("ends_at", _("Ends"), value=(m.get("ends_at") or "").replace("T", " "), placeholder="2026-12-05 20:30"),
        Field("place", _("Place"), "choice", [(p, p) for p in ("社区党群服务中心", "社区活动室", "小区议事亭",
                                                               "社区会议室")], value=m.get("place"), editable=True),
        Field("chair", _("Chair"), value=m.get("chair")),
        Field("recorder", _("Recorder"), value=m.get("recorder") or ctx.user),
        Field("voting_method", _("Voting method"), "choice", [(v, v) for v in mt.VOTING_METHODS],
              value=m.get("voting_method")),
    ]
    if meeting:
        fields.append(Field("status", _("Status"), "choice", [(_(v), k) for k, v in mt.STATUSES.items()],
                            value=m.get("status")))
        fields.append(Field("entitled_count", _("Entitled (if more than the list)"), "int",
                            value=m.get("entitled_count") or 0, maximum=1_000_000))
    else:
        buildings = [("", None)] + [(label, bid) for bid, label in pd.buildings(store)]
        fields.append(Field("invite", _("Invite"), "choice", [(_(label), key) for key, label in INVITE_BODIES]))
        fields.append(Field("building_id", _("Of building"), "choice", buildings))
        fields.append(Field("team_id", _("Of volunteer team"), "choice",
                            [("", None)] + [(t["name"], t["id"]) for t in list_teams(store)]))

    def save(values: dict[str, Any]) -> list:
        values = dict(values)
        if meeting:
            values["entitled_count"] = values.get("entitled_count") or None
            return mt.update_meeting(store, meeting_id=meeting["id"], values=values)
        body = values.pop("invite", None)
        team = values.pop("team_id", None)
        people = people_of(store, body, building_id=values.get("building_id"), team_id=team)
        return mt.schedule_meeting(store, meeting=values, invitees=people)

    title = _("Edit meeting") if meeting else _("Schedule a meeting")
    dialog = FormDialog(ctx, title, fields, save, parent)
    return dialog


def people_of(store, body: str | None, *, building_id: str | None = None,
              team_id: str | None = None) -> list[dict[str, Any]]:
    """The people of a body to invite: register residents (of a building), partner contacts, volunteers."""
    if body == "contacts":
        return [{"contact_id": c["id"], "name": c["name"], "unit": c["org"], "role": c["role"] or "",
                 "phone": c["phone"]} for c in list_contacts(store)]
    if body == "volunteers":
        return volunteer_invitees(store, team_id=team_id)
    if body:
        return register_people(store, body=body, building_ids=[building_id] if building_id else None)
    return []


def invite_dialog(ctx, meeting_id: str, parent=None) -> FormDialog:
    """Invite more people into a meeting (from the sign-in screen): a body drawn from the register,
    partner contacts or volunteers, and/or one typed name; people already on the list are kept once."""
    store = ctx.store
    buildings = [("", None)] + [(label, bid) for bid, label in pd.buildings(store)]
    bodies = [(_("only the person named below"), "")] + [(_(label), key) for key, label in INVITE_BODIES[1:]]
    fields = [Field("invite", _("Invite"), "choice", bodies),
              Field("building_id", _("Of building"), "choice", buildings),
              Field("team_id", _("Of volunteer team"), "choice",
                    [("", None)] + [(t["name"], t["id"]) for t in list_teams(store)]),
              Field("name", _("And/or one person by name"), placeholder=_("e.g. 街道办王主任")),
              Field("unit", _("Unit or building (for the sign-in sheet)"))]

    def save(values: dict[str, Any]) -> list:
        people = people_of(store, values["invite"], building_id=values["building_id"], team_id=values["team_id"])
        if values.get("name"):
            people.append({"name": values["name"], "unit": values.get("unit") or ""})
        if not people:
            from db.errors import ValidationError, ValidationErrors

            raise ValidationErrors([ValidationError(_("Choose whom to invite or type a name."), field="invite")])
        return mt.invite(store, meeting_id=meeting_id, people=people)

    return FormDialog(ctx, _("Invite to the meeting"), fields, save, parent)


def entitled_label(key: str | None) -> str:
    return _(ENTITLED.get(key or "", key or ""))
