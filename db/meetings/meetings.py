"""Meetings: scheduling, invitees, attendance (sign-in, absence, 列席, proxies), agenda, motions,
votes and their outcome, resolutions. The only writers of these tables, each one user intent."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from db.errors import GridDeskError, ValidationError, ValidationErrors
from db.meetings.kinds import get_kind, kind_rule
from db.meetings.rules import (
    Attendance,
    OptionResult,
    Outcome,
    Tally,
    check_option_tallies,
    check_tally,
    options_outcome,
    outcome,
)
from db.models.meetings import (
    AgendaItem,
    Invitee,
    Meeting,
    Motion,
    MotionOption,
    ProgressEntry,
    Resolution,
    Vote,
)
from db.oplog import Change
from db.register.common import Edit
from db.validation import normalize_text
from i18n import N_, _

STATUSES = {"planned": N_("planned"), "held": N_("held"), "cancelled": N_("cancelled")}
ATTENDANCE = {"invited": N_("not signed in"), "present": N_("present"), "absent": N_("absent"),
              "attending": N_("attending without vote (列席)"), "proxy": N_("by proxy")}
CHOICES = {"for": N_("for"), "against": N_("against"), "abstain": N_("abstain")}
VOTING_METHODS = ("举手表决", "投票表决", "书面表决")
MEETING_FIELDS = ("title", "kind_id", "starts_at", "ends_at", "place", "chair", "recorder", "status", "building_id",
                  "entitled_count", "entitled_area", "voting_method", "summary", "notes")
INVITEE_FIELDS = ("meeting_id", "person_id", "contact_id", "name", "unit", "role", "phone", "area", "sort_no",
                  "status", "absence_reason", "proxy_holder")
_NAMESPACE = uuid.UUID("8d7f3c21-0a4e-5b6f-9c2d-47524d544e47")


def invitee_id(meeting_id: str, key: str) -> str:
    """One row per person per meeting on every laptop: two workers inviting or signing in the same
    person write the same row, and their edits merge per field."""
    return str(uuid.uuid5(_NAMESPACE, f"invitee:{meeting_id}:{key}"))


def vote_id(motion_id: str, invitee: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"vote:{motion_id}:{invitee}"))


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _parse_when(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = normalize_text(value).replace("/", "-").replace(" ", "T", 1)
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.isoformat(timespec="minutes") if "T" in text else parsed.date().isoformat()
    raise ValidationError(_("“{value}” is not a date and time; write it as 2026-11-25 19:00.").format(value=value),
                          field=field)


def check_meeting(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = set(values) - set(MEETING_FIELDS)
    if unknown:
        raise KeyError(f"meeting has no field(s) {sorted(unknown)}")
    clean = {k: (normalize_text(v) or None) if isinstance(v, str) else v for k, v in values.items()}
    errors: list[ValidationError] = []
    if (creating or "title" in values) and not clean.get("title"):
        errors.append(ValidationError(_("The meeting's title is required."), field="title"))
    if (creating or "kind_id" in values) and not clean.get("kind_id"):
        errors.append(ValidationError(_("Choose the kind of meeting."), field="kind_id"))
    for key in ("starts_at", "ends_at"):
        if key in clean:
            try:
                clean[key] = _parse_when(clean[key], key)
            except ValidationError as exc:
                errors.append(exc)
    if creating and not clean.get("starts_at"):
        errors.append(ValidationError(_("The meeting's date and time are required."), field="starts_at"))
    if clean.get("starts_at") and clean.get("ends_at") and clean["ends_at"] < clean["starts_at"]:
        errors.append(ValidationError(_("The meeting ends before it starts."), field="ends_at"))
    if clean.get("status") and clean["status"] not in STATUSES:
        errors.append(ValidationError(_("Unknown meeting status “{value}”.").format(value=clean["status"]),
                                      field="status"))
    for key in ("entitled_count",):
        if clean.get(key) is not None:
            try:
                clean[key] = int(clean[key])
                if clean[key] < 0:
                    raise ValueError
            except (TypeError, ValueError):
                errors.append(ValidationError(_("The number entitled must be a whole number, 0 or more."),
                                              field=key))
    if errors:
        raise ValidationErrors(errors)
    return clean


def schedule_meeting(store, *, meeting: dict[str, Any], invitees: list[dict[str, Any]] | None = None) -> list[Change]:
    """安排会议: a planned meeting with its invitees, numbered in order (the sign-in sheet's 序号)."""
    clean = check_meeting(meeting, creating=True)
    clean.setdefault("status", "planned")
    get_kind(store, clean["kind_id"])
    edit = Edit(store, N_("Schedule meeting"))
    with store.db.atomic():
        change = edit.write(Meeting, [clean])[0]
        if invitees:
            edit.write(Invitee, _invitee_rows(store, change.row_id, invitees))
        return edit.finish()


def update_meeting(store, *, meeting_id: str, values: dict[str, Any]) -> list[Change]:
    clean = check_meeting(values, creating=False)
    get_meeting(store, meeting_id)
    edit = Edit(store, N_("Edit meeting"))
    with store.db.atomic():
        edit.write(Meeting, [{"id": meeting_id, **clean}])
        return edit.finish()


def _invitee_rows(store, meeting_id: str, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    existing = {r[0] for r in store.db.execute_sql("select id from invitee where meeting_id = ? and deleted = 0",
                                                   (meeting_id,))}
    top = store.db.execute_sql("select coalesce(max(sort_no), 0) from invitee where meeting_id = ?",
                               (meeting_id,)).fetchone()[0]
    rows = []
    for p in people:
        unknown = set(p) - set(INVITEE_FIELDS)
        if unknown:
            raise KeyError(f"invitee has no field(s) {sorted(unknown)}")
        key = p.get("person_id") and "p:" + p["person_id"] or p.get("contact_id") and "c:" + p["contact_id"] \
            or "n:" + normalize_text(p.get("name"))
        if not p.get("name"):
            raise ValidationErrors([ValidationError(_("An invitee needs a name."), field="name")])
        rid = invitee_id(meeting_id, key)
        if rid in existing:
            continue
        existing.add(rid)
        top += 1
        rows.append({"status": "invited", **p, "id": rid, "meeting_id": meeting_id, "sort_no": top})
    return rows


def invite(store, *, meeting_id: str, people: list[dict[str, Any]]) -> list[Change]:
    """Add invitees (from the register, partner contacts or typed names); already invited ones are kept."""
    get_meeting(store, meeting_id)
    edit = Edit(store, N_("Invite to meeting"))
    with store.db.atomic():
        edit.write(Invitee, _invitee_rows(store, meeting_id, people))
        return edit.finish()


def get_meeting(store, meeting_id: str) -> dict[str, Any]:
    cols = ("id",) + MEETING_FIELDS
    row = store.db.execute_sql(f"select {','.join(cols)} from meeting where id = ? and deleted = 0",
                               (meeting_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This meeting no longer exists."))
    out = dict(zip(cols, row, strict=True))
    kind = store.db.execute_sql("select name from meeting_kind where id = ?", (out["kind_id"],)).fetchone()
    out["kind"] = kind[0] if kind else ""
    return out


def invitees(store, meeting_id: str) -> list[dict[str, Any]]:
    cols = ("id",) + INVITEE_FIELDS
    rows = store.db.execute_sql(f"select {','.join(cols)} from invitee where meeting_id = ? and deleted = 0 "
                                "order by sort_no, name", (meeting_id,)).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _get_invitee(store, invitee: str) -> dict[str, Any]:
    cols = ("id",) + INVITEE_FIELDS
    row = store.db.execute_sql(f"select {','.join(cols)} from invitee where id = ? and deleted = 0",
                               (invitee,)).fetchone()
    if row is None:
        raise GridDeskError(_("This person is not on the meeting's list."))
    return dict(zip(cols, row, strict=True))


def attendance_of(rows: list[dict[str, Any]], meeting: dict[str, Any]) -> Attendance:
    """Counts from the invitee rows; the meeting's entitled number/area override when larger bodies vote."""
    entitled_rows = [r for r in rows if r["status"] != "attending"]
    present = [r for r in entitled_rows if r["status"] == "present"]
    proxies = [r for r in entitled_rows if r["status"] == "proxy"]
    att = Attendance(
        entitled=meeting.get("entitled_count") or len(entitled_rows), present=len(present), proxies=len(proxies),
        attending=sum(r["status"] == "attending" for r in rows),
        absent=sum(r["status"] == "absent" for r in entitled_rows),
        entitled_area=meeting.get("entitled_area") or sum(r["area"] or 0 for r in entitled_rows),
        present_area=sum(r["area"] or 0 for r in present + proxies))
    return att


def attendance(store, meeting_id: str) -> Attendance:
    return attendance_of(invitees(store, meeting_id), get_meeting(store, meeting_id))


def set_attendance(store, *, invitee_id: str, status: str, absence_reason: str | None = None,
                   proxy_holder: str | None = None) -> list[Change]:
    """签到 (present), 缺席 with reason, 列席, or represented by a proxy holder (the rule's limit holds)."""
    if status not in ATTENDANCE:
        raise ValidationErrors([ValidationError(_("Unknown attendance “{value}”.").format(value=status),
                                                field="status")])
    row = _get_invitee(store, invitee_id)
    values: dict[str, Any] = {"status": status}
    if status == "absent":
        values["absence_reason"] = normalize_text(absence_reason) or None
    if status == "proxy":
        _check_proxy(store, row, proxy_holder)
        values["proxy_holder"] = proxy_holder
    elif row["proxy_holder"]:
        values["proxy_holder"] = None
    edit = Edit(store, N_("Attendance"))
    with store.db.atomic():
        edit.write(Invitee, [{"id": invitee_id, **values}])
        return edit.finish()


def sign_in(store, *, invitee_id: str) -> list[Change]:
    return set_attendance(store, invitee_id=invitee_id, status="present")


def _check_proxy(store, row: dict[str, Any], holder_id: str | None) -> None:
    meeting = get_meeting(store, row["meeting_id"])
    kind = get_kind(store, meeting["kind_id"])
    limit = kind.get("proxy_limit")
    if not holder_id:
        raise ValidationErrors([ValidationError(_("Name the proxy holder (委托代理人)."), field="proxy_holder")])
    holder = _get_invitee(store, holder_id)
    if holder["meeting_id"] != row["meeting_id"] or holder_id == row["id"]:
        raise ValidationErrors([ValidationError(_("The proxy holder must be another person on this meeting's "
                                                  "list."), field="proxy_holder")])
    if holder["status"] in ("proxy", "absent", "attending"):
        raise ValidationErrors([ValidationError(_("The proxy holder {name} is not present to vote.").format(
            name=holder["name"]), field="proxy_holder")])
    if limit is not None:
        held = store.db.execute_sql(
            "select count(*) from invitee where proxy_holder = ? and status = 'proxy' and deleted = 0 and id != ?",
            (holder_id, row["id"])).fetchone()[0]
        if limit == 0:
            raise ValidationErrors([ValidationError(_("A {kind} allows no proxies.").format(kind=kind["name"]),
                                                    field="proxy_holder")])
        if held >= limit:
            raise ValidationErrors([ValidationError(
                _("The proxy holder {name} already holds {n} proxy vote(s); a {kind} allows {limit}.").format(
                    name=holder["name"], n=held, kind=kind["name"], limit=limit), field="proxy_holder")])


# -- agenda, motions, votes --------------------------------------------------------------------

def add_agenda_item(store, *, meeting_id: str, title: str, notes: str | None = None,
                    matter_id: str | None = None) -> list[Change]:
    title = normalize_text(title)
    if not title:
        raise ValidationErrors([ValidationError(_("The agenda item needs a title."), field="title")])
    get_meeting(store, meeting_id)
    top = store.db.execute_sql("select coalesce(max(position), 0) from agenda_item where meeting_id = ? "
                               "and deleted = 0", (meeting_id,)).fetchone()[0]
    edit = Edit(store, N_("Add agenda item"))
    with store.db.atomic():
        edit.write(AgendaItem, [{"meeting_id": meeting_id, "title": title, "notes": notes, "matter": matter_id,
                                 "position": top + 1}])
        return edit.finish()


def update_agenda_item(store, *, item_id: str, title: str | None = None, notes: str | None = None) -> list[Change]:
    values: dict[str, Any] = {}
    if title is not None:
        if not normalize_text(title):
            raise ValidationErrors([ValidationError(_("The agenda item needs a title."), field="title")])
        values["title"] = normalize_text(title)
    if notes is not None:
        values["notes"] = notes
    edit = Edit(store, N_("Edit agenda item"))
    with store.db.atomic():
        edit.write(AgendaItem, [{"id": item_id, **values}])
        return edit.finish()


def agenda(store, meeting_id: str) -> list[dict[str, Any]]:
    cols = ("id", "position", "title", "notes", "matter")
    return [dict(zip(cols, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(cols)} from agenda_item where meeting_id = ? and deleted = 0 order by position",
        (meeting_id,))]


def add_motion(store, *, meeting_id: str, title: str, agenda_item_id: str | None = None, major: bool = False,
               election: bool = False, matter_id: str | None = None, mode: str = "tally",
               options: list[str] | None = None, pick_one: bool = True) -> list[Change]:
    """A motion; with options (two or more, one a line: 方案一, 方案二 …) each is voted for, against or
    abstain, and pick_one adopts one of them (else each option is decided on its own)."""
    title = normalize_text(title)
    labels = [normalize_text(x) for x in (options or []) if normalize_text(x)]
    errors: list[ValidationError] = []
    if not title:
        errors.append(ValidationError(_("The motion needs a text to vote on."), field="title"))
    if labels and len(labels) < 2:
        errors.append(ValidationError(_("A motion with options needs at least two options (one a line)."),
                                      field="options"))
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        errors.append(ValidationError(_("The option “{label}” is given twice.").format(label=dupes[0]),
                                      field="options"))
    if errors:
        raise ValidationErrors(errors)
    get_meeting(store, meeting_id)
    edit = Edit(store, N_("Add motion"))
    with store.db.atomic():
        change = edit.write(Motion, [{"meeting_id": meeting_id, "title": title, "agenda_item_id": agenda_item_id,
                                      "major": int(major), "election": int(election), "matter": matter_id,
                                      "mode": mode, "pick_one": int(pick_one) if labels else None}])[0]
        if labels:
            edit.write(MotionOption, [{"motion_id": change.row_id, "position": i, "label": label}
                                      for i, label in enumerate(labels, 1)])
        return edit.finish()


OPTION_COLS = ("id", "motion_id", "position", "label", "votes_for", "votes_against", "votes_abstain", "area_for",
               "area_against", "area_abstain")


def motion_options(store, motion_id: str) -> list[dict[str, Any]]:
    """The options of a motion in their order (empty for a plain for/against motion)."""
    return [dict(zip(OPTION_COLS, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(OPTION_COLS)} from motion_option where motion_id = ? and deleted = 0 "
        "order by position, id", (motion_id,))]


def record_option_tally(store, *, motion_id: str, options: list[dict[str, Any]]) -> list[Change]:
    """Type in the paper tally of a motion with options: for, against, abstain (and floor areas) per
    option, [{"option_id", "votes_for", …}]. Each option's votes are checked as a tally of their own;
    with pick_one the votes for all options together cannot exceed those taking part."""
    motion = get_motion(store, motion_id)
    meeting = get_meeting(store, motion["meeting_id"])
    kind = get_kind(store, meeting["kind_id"])
    known = {o["id"]: o for o in motion_options(store, motion_id)}
    if not known:
        raise ValidationErrors([ValidationError(_("This motion has no options."), field="options")])
    tallies, rows = [], []
    for i, typed in enumerate(options):
        option = known.get(typed.get("option_id"))
        if option is None:
            raise ValidationErrors([ValidationError(_("This option is no longer part of the motion."),
                                                    field=f"option{i}:votes_for")])
        try:
            tally = Tally(_int(typed.get("votes_for"), "votes_for"), _int(typed.get("votes_against"), "votes_against"),
                          _int(typed.get("votes_abstain"), "votes_abstain"), _area(typed.get("area_for"), "area_for"),
                          _area(typed.get("area_against"), "area_against"),
                          _area(typed.get("area_abstain"), "area_abstain"))
        except ValidationErrors as exc:
            raise ValidationErrors([ValidationError(_("Option “{label}”: {message}").format(
                label=option["label"], message=e.message), field=f"option{i}:{e.field}") for e in exc.errors]) from None
        tallies.append((option["label"], tally))
        row = {"id": option["id"], "votes_for": tally.votes_for, "votes_against": tally.votes_against,
               "votes_abstain": tally.votes_abstain}
        if kind["double_majority"]:
            row.update(area_for=tally.area_for, area_against=tally.area_against, area_abstain=tally.area_abstain)
        rows.append(row)
    att = attendance_of(invitees(store, meeting["id"]), meeting)
    errors = check_option_tallies(att, tallies, pick_one=bool(motion["pick_one"]),
                                  double_majority=bool(kind["double_majority"]))
    if errors:
        raise ValidationErrors(errors)
    edit = Edit(store, N_("Record tally"))
    with store.db.atomic():
        edit.write(MotionOption, rows)
        if motion["mode"] != "tally":
            edit.write(Motion, [{"id": motion_id, "mode": "tally"}])
        return edit.finish()


MOTION_COLS = ("id", "meeting_id", "agenda_item_id", "title", "major", "election", "mode", "votes_for",
               "votes_against", "votes_abstain", "area_for", "area_against", "area_abstain", "matter", "pick_one")


def motions(store, meeting_id: str) -> list[dict[str, Any]]:
    return [dict(zip(MOTION_COLS, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(MOTION_COLS)} from motion where meeting_id = ? and deleted = 0 order by id",
        (meeting_id,))]


def get_motion(store, motion_id: str) -> dict[str, Any]:
    row = store.db.execute_sql(f"select {','.join(MOTION_COLS)} from motion where id = ? and deleted = 0",
                               (motion_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This motion no longer exists."))
    return dict(zip(MOTION_COLS, row, strict=True))


def _int(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValidationErrors([ValidationError(_("“{value}” is not a number.").format(value=value),
                                                field=name)]) from None
    if number != int(number):
        raise ValidationErrors([ValidationError(_("“{value}” is not a whole number of votes.").format(value=value),
                                                field=name)])
    return int(number)


def _area(value: Any, name: str) -> float:
    if value in (None, ""):
        return 0.0
    try:
        return round(float(str(value).strip()), 2)
    except ValueError:
        raise ValidationErrors([ValidationError(_("“{value}” is not a floor area in m².").format(value=value),
                                                field=name)]) from None


def record_tally(store, *, motion_id: str, votes_for: Any, votes_against: Any, votes_abstain: Any,
                 area_for: Any = None, area_against: Any = None, area_abstain: Any = None) -> list[Change]:
    """Type in a paper tally (举手/票数). More votes than people present or represented is refused."""
    motion = get_motion(store, motion_id)
    if motion_options(store, motion_id):
        raise ValidationErrors([ValidationError(_("This motion has options: type the votes of each option."),
                                                field="votes_for")])
    meeting = get_meeting(store, motion["meeting_id"])
    kind = get_kind(store, meeting["kind_id"])
    tally = Tally(_int(votes_for, "votes_for"), _int(votes_against, "votes_against"),
                  _int(votes_abstain, "votes_abstain"), _area(area_for, "area_for"),
                  _area(area_against, "area_against"), _area(area_abstain, "area_abstain"))
    att = attendance_of(invitees(store, meeting["id"]), meeting)
    errors = check_tally(att, tally, double_majority=bool(kind["double_majority"]))
    if errors:
        raise ValidationErrors(errors)
    values: dict[str, Any] = {"votes_for": tally.votes_for, "votes_against": tally.votes_against,
                              "votes_abstain": tally.votes_abstain, "mode": "tally"}
    if kind["double_majority"]:
        values.update(area_for=tally.area_for, area_against=tally.area_against, area_abstain=tally.area_abstain)
    edit = Edit(store, N_("Record tally"))
    with store.db.atomic():
        edit.write(Motion, [{"id": motion_id, **values}])
        return edit.finish()


def record_vote(store, *, motion_id: str, invitee_id: str, choice: str | None,
                option_id: str | None = None) -> list[Change]:
    """One person's vote (or a proxy's vote for them); choice None withdraws it. A motion with options
    takes a vote per option (option_id); with pick_one, a vote for one option withdraws the person's
    vote for any other."""
    if choice is not None and choice not in CHOICES:
        raise ValidationErrors([ValidationError(_("A vote is for, against or abstain."), field="choice")])
    motion = get_motion(store, motion_id)
    person = _get_invitee(store, invitee_id)
    if person["meeting_id"] != motion["meeting_id"]:
        raise ValidationErrors([ValidationError(_("This person is not on the meeting's list."), field="invitee")])
    if choice is not None and person["status"] not in ("present", "proxy"):
        raise ValidationErrors([ValidationError(_("{name} is not present or represented and cannot vote.").format(
            name=person["name"]), field="invitee")])
    options = {o["id"] for o in motion_options(store, motion_id)}
    if options and option_id not in options:
        raise ValidationErrors([ValidationError(_("Choose the option the vote is on."), field="option")])
    if not options and option_id:
        raise ValidationErrors([ValidationError(_("This motion has no options."), field="option")])
    rid = vote_id(motion_id, f"{invitee_id}:{option_id}" if option_id else invitee_id)
    edit = Edit(store, N_("Record vote"))
    with store.db.atomic():
        rows = []
        if option_id and choice == "for" and motion["pick_one"]:
            for other in sorted(options - {option_id}):
                oid = vote_id(motion_id, f"{invitee_id}:{other}")
                if store.db.execute_sql("select 1 from vote where id = ? and deleted = 0 and choice = 'for'",
                                        (oid,)).fetchone():
                    rows.append({"id": oid, "choice": None, "deleted": 1})
        exists = store.db.execute_sql("select 1 from vote where id = ?", (rid,)).fetchone()
        row = {"id": rid, "choice": choice, "deleted": int(choice is None)}
        if not exists:
            row.update(motion_id=motion_id, invitee_id=invitee_id, option_id=option_id)
        edit.write(Vote, rows + [row])
        if motion["mode"] != "per_person":
            edit.write(Motion, [{"id": motion_id, "mode": "per_person"}])
        return edit.finish()


def motion_votes(store, motion_id: str, option_id: str | None = None) -> dict[str, str]:
    """Per-person votes of a motion (of one of its options): invitee id -> for | against | abstain."""
    sql = "select invitee_id, choice from vote where motion_id = ? and deleted = 0 and choice is not null"
    params: list[Any] = [motion_id]
    if option_id:
        sql += " and option_id = ?"
        params.append(option_id)
    return dict(store.db.execute_sql(sql, params).fetchall())


def _counted(store, motion_id: str) -> dict[str | None, Tally]:
    """Per-person votes counted: option id (None for a plain motion) -> tally of those taking part."""
    out: dict[str | None, Tally] = {}
    for option, choice, n, area in store.db.execute_sql(
            "select v.option_id, v.choice, count(*), coalesce(sum(i.area), 0) from vote v join invitee i on "
            "i.id = v.invitee_id where v.motion_id = ? and v.deleted = 0 and i.status in ('present', 'proxy') "
            "and v.choice is not null group by v.option_id, v.choice", (motion_id,)):
        tally = out.setdefault(option, Tally())
        setattr(tally, f"votes_{choice}", n)
        setattr(tally, f"area_{choice}", area)
    return out


def motion_tally(store, motion: dict[str, Any]) -> Tally | None:
    if motion["mode"] == "per_person":
        return _counted(store, motion["id"]).get(None, Tally())
    if motion["votes_for"] is None and motion["votes_against"] is None and motion["votes_abstain"] is None:
        return None
    return Tally(motion["votes_for"] or 0, motion["votes_against"] or 0, motion["votes_abstain"] or 0,
                 motion["area_for"] or 0.0, motion["area_against"] or 0.0, motion["area_abstain"] or 0.0)


def option_tallies(store, motion: dict[str, Any], options: list[dict[str, Any]]) -> list[Tally | None]:
    """Each option's tally: typed from paper, or counted from the per-person votes."""
    if motion["mode"] == "per_person":
        counted = _counted(store, motion["id"])
        return [counted.get(o["id"], Tally()) for o in options]
    out: list[Tally | None] = []
    for o in options:
        if o["votes_for"] is None and o["votes_against"] is None and o["votes_abstain"] is None:
            out.append(None)
        else:
            out.append(Tally(o["votes_for"] or 0, o["votes_against"] or 0, o["votes_abstain"] or 0,
                             o["area_for"] or 0.0, o["area_against"] or 0.0, o["area_abstain"] or 0.0))
    return out


def motion_result(store, motion: dict[str, Any], att: Attendance, rule) -> tuple[Outcome, list[dict[str, Any]]]:
    """The motion's outcome and, for a motion with options, each option with its tally, outcome and
    whether it is adopted."""
    options = motion_options(store, motion["id"])
    if not options:
        return outcome(rule, att, motion_tally(store, motion), major=bool(motion["major"]),
                       election=bool(motion["election"])), []
    tallies = option_tallies(store, motion, options)
    overall, results = options_outcome(rule, att, [(o["label"], t) for o, t in zip(options, tallies, strict=True)],
                                       pick_one=bool(motion["pick_one"]), major=bool(motion["major"]),
                                       election=bool(motion["election"]))
    listed = []
    for o, t, r in zip(options, tallies, results, strict=True):
        r: OptionResult
        listed.append({**o, "tally": t, "outcome": r.outcome.label, "reason": r.outcome.reason,
                       "passed": r.outcome.passed, "decided": r.outcome.decided, "adopted": r.adopted})
    return overall, listed


def motion_outcome(store, motion_id: str, *, att: Attendance | None = None) -> Outcome:
    motion = get_motion(store, motion_id)
    meeting = get_meeting(store, motion["meeting_id"])
    rule = kind_rule(get_kind(store, meeting["kind_id"]))
    att = att or attendance_of(invitees(store, meeting["id"]), meeting)
    return motion_result(store, motion, att, rule)[0]


# -- resolutions -----------------------------------------------------------------------------

RESOLUTION_COLS = ("id", "meeting_id", "motion_id", "matter_id", "text", "owner", "partner_org_id", "deadline",
                   "progress", "done_on")


def add_resolution(store, *, meeting_id: str, text: str, owner: str | None, deadline: Any = None,
                   partner_org_id: str | None = None, motion_id: str | None = None,
                   matter_id: str | None = None) -> list[Change]:
    """决议: each needs someone who carries it out (a person or a partner organisation)."""
    errors: list[ValidationError] = []
    text = normalize_text(text)
    owner = normalize_text(owner) or None
    if not text:
        errors.append(ValidationError(_("The resolution needs its text."), field="text"))
    if not owner and not partner_org_id:
        errors.append(ValidationError(_("A resolution needs an owner (责任人) who carries it out."), field="owner"))
    day = None
    if deadline not in (None, ""):
        try:
            day = _parse_when(deadline, "deadline")
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationErrors(errors)
    get_meeting(store, meeting_id)
    edit = Edit(store, N_("Add resolution"))
    with store.db.atomic():
        edit.write(Resolution, [{"meeting_id": meeting_id, "text": text, "owner": owner, "deadline": day,
                                 "partner_org_id": partner_org_id, "motion_id": motion_id, "matter_id": matter_id,
                                 "progress": 0}])
        return edit.finish()


def report_resolution_progress(store, *, resolution_id: str, percent: int, text: str | None = None,
                               on: dt.date | None = None, by: str | None = None) -> list[Change]:
    if not 0 <= int(percent) <= 100:
        raise ValidationErrors([ValidationError(_("Progress is a percentage from 0 to 100."), field="percent")])
    day = (on or dt.date.today()).isoformat()
    edit = Edit(store, N_("Resolution progress"))
    with store.db.atomic():
        edit.write(ProgressEntry, [{"resolution_id": resolution_id, "on_date": day, "text": text,
                                    "by": by or store.user, "percent": int(percent)}])
        edit.write(Resolution, [{"id": resolution_id, "progress": int(percent),
                                 "done_on": day if int(percent) == 100 else None}])
        return edit.finish()


def resolutions(store, *, meeting_id: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    cols = ", ".join(f"r.{c}" for c in RESOLUTION_COLS)
    sql = (f"select {cols}, m.title, m.starts_at, o.name from resolution r join meeting m on m.id = r.meeting_id "
           "left join partner_org o on o.id = r.partner_org_id where r.deleted = 0 and m.deleted = 0")
    params: list[Any] = []
    if meeting_id:
        sql += " and r.meeting_id = ?"
        params.append(meeting_id)
    if open_only:
        sql += " and r.done_on is null"
    sql += " order by r.done_on is not null, r.deadline is null, r.deadline, m.starts_at"
    today = dt.date.today().isoformat()
    out = []
    for row in store.db.execute_sql(sql, params):
        r = dict(zip(RESOLUTION_COLS + ("meeting", "starts_at", "org"), row, strict=True))
        r["overdue"] = bool(r["deadline"] and not r["done_on"] and r["deadline"] < today)
        out.append(r)
    return out


# -- lists -------------------------------------------------------------------------------------

LIST_COLS = ("id", "starts_at", "title", "kind", "place", "status", "invited", "present", "chair")


def meeting_ids(store, *, month: str | None = None, kind_id: str | None = None, status: str | None = None,
                text: str | None = None, newest_first: bool = True, since: str | None = None,
                until: str | None = None) -> list[str]:
    """Ids of meetings in display order; month "2026-11" limits to that month, since/until (ISO
    days, until excluded) to a span such as a week."""
    sql = "select id from meeting where deleted = 0"
    params: list[Any] = []
    if since:
        sql += " and starts_at >= ?"
        params.append(since)
    if until:
        sql += " and starts_at < ?"
        params.append(until)
    if month:
        sql += " and starts_at >= ? and starts_at < ?"
        year, mon = (int(x) for x in month.split("-"))
        nxt = f"{year + (mon == 12)}-{mon % 12 + 1:02d}"
        params += [month, nxt]
    if kind_id:
        sql += " and kind_id = ?"
        params.append(kind_id)
    if status:
        sql += " and status = ?"
        params.append(status)
    if text:
        sql += " and (title like ? or place like ?)"
        params += [f"%{text}%", f"%{text}%"]
    sql += " order by starts_at desc, id" if newest_first else " order by starts_at, id"
    return [r[0] for r in store.db.execute_sql(sql, params)]


def meeting_rows(store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """List rows of these meetings (a page of the list), with invited and present counts."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (f"select m.id, m.starts_at, m.title, k.name, m.place, m.status, "
               f"(select count(*) from invitee i where i.meeting_id = m.id and i.deleted = 0 "
               f"and i.status != 'attending'), "
               f"(select count(*) from invitee i where i.meeting_id = m.id and i.deleted = 0 "
               f"and i.status in ('present', 'proxy')), m.chair "
               f"from meeting m left join meeting_kind k on k.id = m.kind_id where m.id in ({marks})")
        for row in store.db.execute_sql(sql, chunk):
            out[row[0]] = dict(zip(LIST_COLS, row, strict=True))
    return out


def month_days(store, month: str) -> dict[str, list[dict[str, Any]]]:
    """The month calendar: per ISO day, that day's meetings (time, title, status)."""
    days: dict[str, list[dict[str, Any]]] = {}
    ids = meeting_ids(store, month=month, newest_first=False)
    rows = meeting_rows(store, ids)
    for mid in ids:
        r = rows[mid]
        days.setdefault(r["starts_at"][:10], []).append(r)
    return days


def week_days(store, monday: dt.date) -> dict[str, list[dict[str, Any]]]:
    """The week calendar: the seven ISO days from monday, each with its meetings in time order."""
    days: dict[str, list[dict[str, Any]]] = {(monday + dt.timedelta(days=i)).isoformat(): [] for i in range(7)}
    ids = meeting_ids(store, since=monday.isoformat(), until=(monday + dt.timedelta(days=7)).isoformat(),
                      newest_first=False)
    rows = meeting_rows(store, ids)
    for mid in ids:
        days[rows[mid]["starts_at"][:10]].append(rows[mid])
    return days


def meeting_overview(store, meeting_id: str) -> dict[str, Any]:
    """Everything the meeting screen shows, read at once (one task): the meeting, its kind and
    rule, invitees, agenda, motions with their outcome, resolutions."""
    from db.meetings.rules import rule_text

    m = get_meeting(store, meeting_id)
    kind = get_kind(store, m["kind_id"])
    rows = invitees(store, meeting_id)
    att = attendance_of(rows, m)
    listed = []
    rule = kind_rule(kind)
    for motion in motions(store, meeting_id):
        result, options = motion_result(store, motion, att, rule)
        tally = None if options else motion_tally(store, motion)
        listed.append({**motion, "outcome": result.label, "reason": result.reason, "passed": result.passed,
                       "decided": result.decided, "tally": tally, "options": options})
    return {"meeting": m, "kind": kind, "rule": kind_rule(kind), "quorum_text": rule_text(kind["quorum"]),
            "invitees": rows, "agenda": agenda(store, meeting_id), "motions": listed,
            "resolutions": resolutions(store, meeting_id=meeting_id)}
