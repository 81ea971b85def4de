"""Household and population register (住户/人口台账): places, households, persons, visits."""

from __future__ import annotations

from peewee import IntegerField, TextField

from db.models import SyncedModel, fk


class Grid(SyncedModel):
    """网格"""

    name = TextField(null=True)
    code = TextField(null=True)
    worker = TextField(null=True)

    class Meta:
        table_name = "grid"


class Compound(SyncedModel):
    """小区"""

    grid = fk(Grid)
    name = TextField(null=True)

    class Meta:
        table_name = "compound"


class Building(SyncedModel):
    """楼栋"""

    compound = fk(Compound)
    name = TextField(null=True)

    class Meta:
        table_name = "building"


class Unit(SyncedModel):
    """单元"""

    building = fk(Building)
    name = TextField(null=True)

    class Meta:
        table_name = "unit"


class Household(SyncedModel):
    """住户: one door, with its use, owner and members (Membership rows)."""

    number = TextField(null=True)
    grid = fk(Grid)
    unit = fk(Unit)
    door = TextField(null=True)
    address = TextField(null=True)
    house_use = TextField(null=True)  # 自住 出租 群租 出借 商用 空置 待查
    owner_name = TextField(null=True)
    owner_phone = TextField(null=True)
    notes = TextField(null=True)

    class Meta:
        table_name = "household"


class Person(SyncedModel):
    """人口: one resident; dates are ISO text (YYYY-MM-DD)."""

    name = TextField(null=True)
    former_name = TextField(null=True)
    sex = TextField(null=True)  # 男 / 女
    ethnicity = TextField(null=True)
    id_type = TextField(null=True)  # 居民身份证, 港澳台居民居住证, 护照, ...
    id_number = TextField(null=True)
    birth_date = TextField(null=True)
    phone = TextField(null=True)
    hukou_address = TextField(null=True)
    current_address = TextField(null=True)
    political_status = TextField(null=True)
    education = TextField(null=True)
    marital_status = TextField(null=True)
    health = TextField(null=True)
    disability = TextField(null=True)
    employment = TextField(null=True)
    employer = TextField(null=True)
    residence_status = TextField(null=True)  # 人户一致 / 人在户不在 / 户在人不在
    person_type = TextField(null=True)  # 户籍 / 常住 / 流动 / 境外
    move_in_date = TextField(null=True)
    move_out_date = TextField(null=True)
    move_out_to = TextField(null=True)
    death_date = TextField(null=True)
    merged_into = TextField(null=True)
    notes = TextField(null=True)
    wechat = TextField(null=True)  # schema v2

    class Meta:
        table_name = "person"


class Membership(SyncedModel):
    """A person belongs to a household, with relation to the head (census codes)."""

    household = fk(Household)
    person = fk(Person)
    relation = TextField(null=True)  # 户主 配偶 子女 父母 ...
    since = TextField(null=True)
    until = TextField(null=True)

    class Meta:
        table_name = "membership"


class Tag(SyncedModel):
    """A special-population tag (重点/关爱人群) with its visit frequency in days."""

    name = TextField(null=True)
    visit_interval_days = IntegerField(null=True)
    sensitive = IntegerField(default=0)
    sort_order = IntegerField(default=0)

    class Meta:
        table_name = "tag"


class PersonTag(SyncedModel):
    """One period of a tag on a person."""

    person = fk(Person)
    tag = fk(Tag)
    start_date = TextField(null=True)
    end_date = TextField(null=True)
    reason = TextField(null=True)

    class Meta:
        table_name = "person_tag"


class Visit(SyncedModel):
    """入户走访: a home visit, possibly 未遇 (nobody home)."""

    household = fk(Household)
    person = fk(Person)
    visitor = TextField(null=True)
    visit_date = TextField(null=True)
    met = TextField(null=True)
    not_home = IntegerField(default=0)
    purpose = TextField(null=True)
    situation = TextField(null=True)
    requests = TextField(null=True)
    outcome = TextField(null=True)
    follow_up_date = TextField(null=True)

    class Meta:
        table_name = "visit"


class LifeEvent(SyncedModel):
    """迁入 / 迁出 / 死亡 and similar: history is kept, nothing is deleted."""

    person = fk(Person)
    household = fk(Household)
    kind = TextField(null=True)  # move_in | move_out | death
    event_date = TextField(null=True)
    detail = TextField(null=True)

    class Meta:
        table_name = "life_event"


class AuditEntry(SyncedModel):
    """Who saw or changed what: showing a full ID number, printing unmasked, exporting."""

    at = TextField(null=True)
    user = TextField(null=True)
    action = TextField(null=True)
    target_table = TextField(null=True)
    target_id = TextField(null=True)
    detail = TextField(null=True)

    class Meta:
        table_name = "audit_entry"


REGISTER_MODELS = [Grid, Compound, Building, Unit, Household, Person, Membership, Tag, PersonTag,
                   Visit, LifeEvent, AuditEntry]
