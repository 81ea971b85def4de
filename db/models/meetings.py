"""Meetings, minutes and residents' matters (会议记录, 民事 through the 五民 chain).

Every list is rows: invitees/attendance, agenda items, motions, votes, resolutions, progress
entries, evaluations, attachments. Rows that two laptops would otherwise create twice for the same
thing (the standard meeting kinds, a person invited to a meeting, a person's vote on a motion)
have name-based ids, so both laptops write the same row and their edits merge per field.
"""

from __future__ import annotations

from peewee import FloatField, IntegerField, TextField

from db.models import SyncedModel, fk
from db.models.register import Building, Person, Visit


class MeetingKind(SyncedModel):
    """A kind of meeting with its rule preset (editable by the office).

    quorum: "none" or a fraction with its comparison, e.g. ">1/2", ">=2/3", ">=4/5".
    pass_rule: what a motion needs, e.g. ">1/2", ">=2/3", ">=3/4"; pass_base: "present" or
    "entitled" (党员大会: more than half of those entitled). double_majority: owners' matters
    count floor area and headcount, both must pass (民法典 art. 278).
    """

    name = TextField(null=True)
    entitled = TextField(null=True)  # adults | households | representatives | party_members | owners | invited
    quorum = TextField(null=True)
    pass_rule = TextField(null=True)
    pass_base = TextField(null=True)  # present | entitled
    major_rule = TextField(null=True)  # for motions marked major (repair funds, rebuilding): ">=3/4"
    election_quorum = TextField(null=True)  # 党员大会 elections: ">=4/5"
    double_majority = IntegerField(default=0)
    proxy_limit = IntegerField(null=True)  # votes one proxy holder may carry besides their own
    source = TextField(null=True)
    sort_order = IntegerField(default=0)

    class Meta:
        table_name = "meeting_kind"


class PartnerOrg(SyncedModel):
    """合作单位: 业委会, 物业, 辖区单位, 社会组织."""

    name = TextField(null=True)
    kind = TextField(null=True)
    address = TextField(null=True)
    phone = TextField(null=True)
    notes = TextField(null=True)

    class Meta:
        table_name = "partner_org"


class PartnerContact(SyncedModel):
    org = fk(PartnerOrg)
    name = TextField(null=True)
    role = TextField(null=True)
    phone = TextField(null=True)

    class Meta:
        table_name = "partner_contact"


class Meeting(SyncedModel):
    title = TextField(null=True)
    kind = fk(MeetingKind)
    starts_at = TextField(null=True)  # ISO "2026-11-25T19:00"
    ends_at = TextField(null=True)
    place = TextField(null=True)
    chair = TextField(null=True)
    recorder = TextField(null=True)
    status = TextField(null=True)  # planned | held | cancelled
    building = fk(Building)
    entitled_count = IntegerField(null=True)  # when the entitled body is larger than the invitee list
    entitled_area = FloatField(null=True)
    voting_method = TextField(null=True)  # 举手表决 / 投票表决 / 书面表决
    summary = TextField(null=True)  # minutes: the main points
    notes = TextField(null=True)

    class Meta:
        table_name = "meeting"


class Invitee(SyncedModel):
    """One person (or partner contact) expected at a meeting, with their attendance.

    status: invited | present | absent | attending (列席, not entitled to vote) | proxy
    (absent, represented by proxy_holder, another invitee of the same meeting).
    """

    meeting = fk(Meeting)
    person = fk(Person)
    contact = fk(PartnerContact)
    name = TextField(null=True)
    unit = TextField(null=True)  # 楼栋/单位 as printed
    role = TextField(null=True)  # 职务
    phone = TextField(null=True)
    area = FloatField(null=True)  # owners' floor area, m²
    sort_no = IntegerField(null=True)
    status = TextField(null=True)
    absence_reason = TextField(null=True)
    # invitee id. No sign-in time: two laptops signing in one person must write equal values.
    proxy_holder = TextField(null=True)

    class Meta:
        table_name = "invitee"


class AgendaItem(SyncedModel):
    meeting = fk(Meeting)
    position = IntegerField(null=True)
    title = TextField(null=True)
    notes = TextField(null=True)  # discussion: main points
    matter = TextField(null=True)  # the residents' matter discussed (id)

    class Meta:
        table_name = "agenda_item"


class Motion(SyncedModel):
    """A question put to the vote. Tallies typed from paper are fields (two laptops typing
    different numbers for one motion is a conflict); per-person votes are Vote rows."""

    meeting = fk(Meeting)
    agenda_item = fk(AgendaItem)
    title = TextField(null=True)
    major = IntegerField(default=0)  # needs the kind's major_rule (e.g. 3/4)
    election = IntegerField(default=0)  # needs the kind's election quorum
    mode = TextField(null=True)  # tally | per_person
    votes_for = IntegerField(null=True)
    votes_against = IntegerField(null=True)
    votes_abstain = IntegerField(null=True)
    area_for = FloatField(null=True)
    area_against = FloatField(null=True)
    area_abstain = FloatField(null=True)
    matter = TextField(null=True)
    # With options (MotionOption rows): 1 when only one option can be adopted (one plan of several),
    # 0 when each option is decided on its own (a ballot of several items).
    pick_one = IntegerField(null=True)

    class Meta:
        table_name = "motion"


class Vote(SyncedModel):
    motion = fk(Motion)
    invitee = fk(Invitee)
    choice = TextField(null=True)  # for | against | abstain
    option_id = TextField(null=True)  # the MotionOption voted on (motions with options); its id is in vote_id

    class Meta:
        table_name = "vote"


class MotionOption(SyncedModel):
    """One option of a motion put to the vote with several (方案一/方案二, or items of one ballot):
    for, against and abstain per option, typed from paper (a field per option: two laptops typing
    different numbers for one option is a conflict) or counted from per-person Vote rows."""

    motion = fk(Motion)
    position = IntegerField(null=True)
    label = TextField(null=True)
    votes_for = IntegerField(null=True)
    votes_against = IntegerField(null=True)
    votes_abstain = IntegerField(null=True)
    area_for = FloatField(null=True)
    area_against = FloatField(null=True)
    area_abstain = FloatField(null=True)

    class Meta:
        table_name = "motion_option"


class Matter(SyncedModel):
    """民事: raised → discussed → decided → carried out → posted → evaluated."""

    title = TextField(null=True)
    description = TextField(null=True)
    raised_by = TextField(null=True)
    person = fk(Person)
    raised_on = TextField(null=True)
    channel = TextField(null=True)  # 走访 / 来访 / 热线 / 会议
    category = TextField(null=True)  # 环境 治安 物业 帮困 设施 其他
    building = fk(Building)
    visit = fk(Visit)
    source_meeting = fk(Meeting)
    decided_on = TextField(null=True)
    decided_by = TextField(null=True)  # vote | committee
    decision = TextField(null=True)
    motion = fk(Motion)
    owner = TextField(null=True)
    partner_org = fk(PartnerOrg)
    deadline = TextField(null=True)
    done_on = TextField(null=True)
    result = TextField(null=True)
    posted_on = TextField(null=True)
    posting_days = IntegerField(null=True)
    closed = IntegerField(default=0)

    class Meta:
        table_name = "matter"


class Resolution(SyncedModel):
    """决议: what a meeting decided, who carries it out, by when, how far."""

    meeting = fk(Meeting)
    motion = fk(Motion)
    matter = fk(Matter)
    text = TextField(null=True)
    owner = TextField(null=True)
    partner_org = fk(PartnerOrg)
    deadline = TextField(null=True)
    progress = IntegerField(default=0)  # percent
    done_on = TextField(null=True)

    class Meta:
        table_name = "resolution"


class ProgressEntry(SyncedModel):
    """A dated step of carrying out a matter or a resolution."""

    matter = fk(Matter)
    resolution = fk(Resolution)
    on_date = TextField(null=True)
    text = TextField(null=True)
    by = TextField(null=True)
    percent = IntegerField(null=True)

    class Meta:
        table_name = "progress_entry"


class Evaluation(SyncedModel):
    """民事民评: one resident's evaluation of a matter's result."""

    matter = fk(Matter)
    person = fk(Person)
    name = TextField(null=True)
    rating = TextField(null=True)  # 满意 / 基本满意 / 不满意
    comment = TextField(null=True)
    on_date = TextField(null=True)

    class Meta:
        table_name = "evaluation"


class Attachment(SyncedModel):
    """A photo of a signed sheet or of work done: size-bounded image bytes (base64), synced."""

    owner_table = TextField(null=True)
    owner_id = TextField(null=True)
    filename = TextField(null=True)
    mime = TextField(null=True)
    size = IntegerField(null=True)
    data = TextField(null=True)
    caption = TextField(null=True)

    class Meta:
        table_name = "attachment"


MEETINGS_MODELS = [MeetingKind, PartnerOrg, PartnerContact, Meeting, Invitee, AgendaItem, Motion, Vote,
                   Matter, Resolution, ProgressEntry, Evaluation, Attachment]
# Added in schema version 16 (its own list, so version 9 keeps creating what it created).
MEETINGS_OPTION_MODELS = [MotionOption]
