"""Volunteer rosters (志愿者): teams, volunteers, activities and service records, star levels,
certificates, the time bank, duty and patrol rotas, residents' needs and their matches.

Lists are rows (team members, skills, availability slots, shift people); times are ISO text
("YYYY-MM-DDTHH:MM" for moments, "HH:MM" for times of day); durations are whole minutes, so time-bank
sums are exact and transfers conserve them.
"""

from __future__ import annotations

from peewee import FloatField, IntegerField, TextField

from db.models import BaseModel, SyncedModel, fk
from db.models.register import Person
from i18n import N_


class VolunteerTeam(SyncedModel):
    """志愿服务队: kind (生活帮困, 医疗救助, 应急抢修, 治安巡逻, 环境保护, ...) and leader."""

    name = TextField(null=True)
    kind = TextField(null=True)
    leader = TextField(null=True)  # volunteer id (a text reference: teams and volunteers cross-refer)
    phone = TextField(null=True)
    notes = TextField(null=True)

    class Meta:
        table_name = "vol_team"


class Volunteer(SyncedModel):
    """A volunteer; a resident links to the register (name and ID number come from there)."""

    person = fk(Person)
    number = TextField(null=True)  # 志愿者编号
    name = TextField(null=True)  # only for volunteers who are not residents here
    sex = TextField(null=True)
    id_type = TextField(null=True)
    id_number = TextField(null=True)
    birth_date = TextField(null=True)
    phone = TextField(null=True)
    party_report = IntegerField(default=0)  # 在职党员到社区报到
    employer = TextField(null=True)  # 工作单位 (of a reporting party member)
    joined = TextField(null=True)
    status = TextField(null=True)  # active | left
    notes = TextField(null=True)

    class Meta:
        table_name = "volunteer"


class VolunteerSkill(SyncedModel):
    volunteer = fk(Volunteer)
    skill = TextField(null=True)

    class Meta:
        table_name = "vol_skill"


class VolunteerAvailability(SyncedModel):
    """One weekly slot: weekday 1 (Monday) .. 7 and a time span."""

    volunteer = fk(Volunteer)
    weekday = IntegerField(null=True)
    start = TextField(null=True)
    end = TextField(null=True)

    class Meta:
        table_name = "vol_availability"


class TeamMember(SyncedModel):
    team = fk(VolunteerTeam)
    volunteer = fk(Volunteer)
    role = TextField(null=True)  # 队长 / 队员
    since = TextField(null=True)
    until = TextField(null=True)

    class Meta:
        table_name = "vol_team_member"


class Activity(SyncedModel):
    """A service activity: team, time, place, set length, beneficiaries, content."""

    team = fk(VolunteerTeam)
    title = TextField(null=True)
    start = TextField(null=True)
    end = TextField(null=True)
    place = TextField(null=True)
    set_minutes = IntegerField(null=True)  # the set length (规定时长)
    beneficiaries = TextField(null=True)
    content = TextField(null=True)
    person_in_charge = TextField(null=True)
    recorder = TextField(null=True)
    need = TextField(null=True)  # a need id when the activity is a service for one resident

    class Meta:
        table_name = "vol_activity"


class ServiceRecord(SyncedModel):
    """One volunteer at one activity: sign-in/out, travel excluded, counted minutes, approval."""

    activity = fk(Activity)
    volunteer = fk(Volunteer)
    sign_in = TextField(null=True)
    sign_out = TextField(null=True)
    travel_minutes = IntegerField(default=0)  # inside the signed span but not service time
    minutes = IntegerField(default=0)  # service minutes by the rules (0 when it does not count)
    counted = IntegerField(default=0)  # covers enough of the set length
    status = TextField(null=True)  # pending | approved | rejected
    approved_by = TextField(null=True)
    approved_at = TextField(null=True)
    rating = TextField(null=True)
    recorder = TextField(null=True)

    class Meta:
        table_name = "vol_service"


class ServiceCorrection(SyncedModel):
    """The corrections log: who changed which value of a service record, when, and why."""

    service = fk(ServiceRecord)
    field = TextField(null=True)
    old_value = TextField(null=True)
    new_value = TextField(null=True)
    reason = TextField(null=True)
    by = TextField(null=True)
    at = TextField(null=True)

    class Meta:
        table_name = "vol_correction"


class StarAward(SyncedModel):
    """A star level: posted for public notice first, awarded when the notice period is over."""

    volunteer = fk(Volunteer)
    level = IntegerField(null=True)
    hours = FloatField(null=True)
    preset = TextField(null=True)
    notice_from = TextField(null=True)
    notice_until = TextField(null=True)
    awarded = TextField(null=True)
    status = TextField(null=True)  # notice | awarded | withdrawn

    class Meta:
        table_name = "vol_star"


class Certificate(SyncedModel):
    """志愿服务时长证明, numbered from the certificate register."""

    number = TextField(null=True)
    volunteer = fk(Volunteer)
    minutes = IntegerField(null=True)
    period_from = TextField(null=True)
    period_to = TextField(null=True)
    content = TextField(null=True)
    issuer = TextField(null=True)
    person_in_charge = TextField(null=True)
    handler = TextField(null=True)
    contact = TextField(null=True)
    issued = TextField(null=True)

    class Meta:
        table_name = "vol_certificate"


class TimeBankEntry(SyncedModel):
    """One time-bank movement of whole minutes, from one account to another.

    Accounts are volunteer ids, person ids (a relative who received a transfer) or "pool".
    A deposit has no source, a withdrawal (a service received) no target; a transfer or a
    donation names both, so it conserves minutes by construction. Balances are sums, never stored.
    """

    kind = TextField(null=True)  # deposit | withdraw | transfer | donate
    source = TextField(null=True)
    target = TextField(null=True)
    minutes = IntegerField(null=True)
    service = TextField(null=True)  # the service record a deposit comes from
    note = TextField(null=True)
    at = TextField(null=True)
    by = TextField(null=True)

    class Meta:
        table_name = "vol_timebank"


class Rota(SyncedModel):
    """值班 / 巡逻 rota."""

    name = TextField(null=True)
    kind = TextField(null=True)  # duty | patrol
    team = fk(VolunteerTeam)
    leader = TextField(null=True)  # volunteer id
    place = TextField(null=True)
    phone = TextField(null=True)

    class Meta:
        table_name = "vol_rota"


class Shift(SyncedModel):
    rota = fk(Rota)
    day = TextField(null=True)
    start = TextField(null=True)
    end = TextField(null=True)
    leader = TextField(null=True)  # volunteer id
    place = TextField(null=True)

    class Meta:
        table_name = "vol_shift"


class ShiftPerson(SyncedModel):
    shift = fk(Shift)
    volunteer = fk(Volunteer)

    class Meta:
        table_name = "vol_shift_person"


class PatrolLog(SyncedModel):
    shift = fk(Shift)
    at = TextField(null=True)
    by = TextField(null=True)
    route = TextField(null=True)
    findings = TextField(null=True)
    handled = TextField(null=True)

    class Meta:
        table_name = "vol_patrol_log"


class Need(SyncedModel):
    """A resident's need: the person, the help, how often, when, and the skill it takes."""

    person = fk(Person)
    help = TextField(null=True)
    skill = TextField(null=True)
    frequency = TextField(null=True)  # 每周 / 每月 / 一次
    weekday = IntegerField(null=True)
    start = TextField(null=True)
    end = TextField(null=True)
    status = TextField(null=True)  # open | matched | closed
    notes = TextField(null=True)

    class Meta:
        table_name = "vol_need"


class NeedMatch(SyncedModel):
    need = fk(Need)
    volunteer = fk(Volunteer)
    matched_at = TextField(null=True)
    by = TextField(null=True)
    status = TextField(null=True)  # active | ended

    class Meta:
        table_name = "vol_need_match"


class VolunteerSearch(BaseModel):
    """Local search rows (not synced): name, pinyin and initials, number, skills, teams."""

    volunteer_id = TextField(primary_key=True)
    haystack = TextField()

    class Meta:
        table_name = "vol_search"


class VolunteerTotal(BaseModel):
    """Local, derived (not synced): approved service minutes per volunteer, kept by a row hook on
    vol_service so star levels for 40,000 volunteers read 40,000 rows, not a million."""

    volunteer_id = TextField(primary_key=True)
    minutes = IntegerField(default=0)

    class Meta:
        table_name = "vol_total"


VOLUNTEER_MODELS = [VolunteerTeam, Volunteer, VolunteerSkill, VolunteerAvailability, TeamMember, Activity,
                    ServiceRecord, ServiceCorrection, StarAward, Certificate, TimeBankEntry, Rota, Shift,
                    ShiftPerson, PatrolLog, Need, NeedMatch]
VOLUNTEER_LOCAL_MODELS = [VolunteerSearch, VolunteerTotal]

# Indexes for the look-ups the screens and benches make (created by migration 10).
VOLUNTEER_INDEXES = (
    'CREATE INDEX IF NOT EXISTS "vol_service_volunteer" ON "vol_service" '
    '("volunteer_id", "status", "deleted", "minutes")',
    'CREATE INDEX IF NOT EXISTS "vol_service_activity" ON "vol_service" ("activity_id")',
    'CREATE INDEX IF NOT EXISTS "vol_service_status" ON "vol_service" ("status", "deleted")',
    'CREATE INDEX IF NOT EXISTS "vol_member_team" ON "vol_team_member" ("team_id")',
    'CREATE INDEX IF NOT EXISTS "vol_member_volunteer" ON "vol_team_member" ("volunteer_id")',
    'CREATE INDEX IF NOT EXISTS "vol_skill_volunteer" ON "vol_skill" ("volunteer_id")',
    'CREATE INDEX IF NOT EXISTS "vol_skill_skill" ON "vol_skill" ("skill", "deleted")',
    'CREATE INDEX IF NOT EXISTS "vol_avail_volunteer" ON "vol_availability" ("volunteer_id")',
    'CREATE INDEX IF NOT EXISTS "vol_person" ON "volunteer" ("person_id")',
    # The roster in number order read from the index alone (40,000 volunteers).
    'CREATE INDEX IF NOT EXISTS "vol_number" ON "volunteer" ("number", "id", "deleted", "status", "party_report")',
    'CREATE INDEX IF NOT EXISTS "vol_activity_team" ON "vol_activity" ("team_id", "start")',
    'CREATE INDEX IF NOT EXISTS "vol_timebank_source" ON "vol_timebank" ("source")',
    'CREATE INDEX IF NOT EXISTS "vol_timebank_target" ON "vol_timebank" ("target")',
    'CREATE INDEX IF NOT EXISTS "vol_shift_rota" ON "vol_shift" ("rota_id", "day")',
    'CREATE INDEX IF NOT EXISTS "vol_shift_day" ON "vol_shift" ("day")',
    'CREATE INDEX IF NOT EXISTS "vol_shift_person_shift" ON "vol_shift_person" ("shift_id")',
    'CREATE INDEX IF NOT EXISTS "vol_shift_person_volunteer" ON "vol_shift_person" ("volunteer_id")',
    'CREATE INDEX IF NOT EXISTS "vol_correction_service" ON "vol_correction" ("service_id")',
    'CREATE INDEX IF NOT EXISTS "vol_star_volunteer" ON "vol_star" ("volunteer_id")',
    'CREATE INDEX IF NOT EXISTS "vol_need_match_need" ON "vol_need_match" ("need_id")',
)

# What each table holds, for `griddesk info` (translated when shown).
VOLUNTEER_TABLE_LABELS = {
    "vol_team": N_("Volunteer teams"), "volunteer": N_("Volunteers"), "vol_skill": N_("Volunteer skills"),
    "vol_availability": N_("Volunteer availability"), "vol_team_member": N_("Team memberships"),
    "vol_activity": N_("Volunteer activities"), "vol_service": N_("Service records"),
    "vol_correction": N_("Service corrections"), "vol_star": N_("Star levels"),
    "vol_certificate": N_("Hours certificates"), "vol_timebank": N_("Time bank entries"),
    "vol_rota": N_("Rotas"), "vol_shift": N_("Shifts"), "vol_shift_person": N_("Shift assignments"),
    "vol_patrol_log": N_("Patrol logs"), "vol_need": N_("Residents' needs"), "vol_need_match": N_("Need matches"),
}
