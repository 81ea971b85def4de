"""Facts about a database for `griddesk info` and the settings screen."""

from __future__ import annotations

from dataclasses import dataclass, field

from db.models import SYNCED_MODELS
from db.models.volunteers import VOLUNTEER_TABLE_LABELS
from i18n import N_

# What each synced table holds, for people (translated when shown).
TABLE_LABELS = {
    "grid": N_("Grids"), "compound": N_("Compounds"), "building": N_("Buildings"), "unit": N_("Units"),
    "household": N_("Households"), "person": N_("Persons"), "membership": N_("Household memberships"),
    "tag": N_("Tags"), "person_tag": N_("Tag periods"), "visit": N_("Home visits"),
    "life_event": N_("Life events"), "audit_entry": N_("Audit entries"),
}
TABLE_LABELS.update({
    "meeting_kind": N_("Meeting kinds"), "partner_org": N_("Partner organisations"),
    "partner_contact": N_("Partner contacts"), "meeting": N_("Meetings"), "invitee": N_("Meeting invitees"),
    "agenda_item": N_("Agenda items"), "motion": N_("Motions"), "motion_option": N_("Motion options"),
    "vote": N_("Votes cast"), "matter": N_("Residents' matters"), "resolution": N_("Resolutions"),
    "progress_entry": N_("Resolution progress entries"), "evaluation": N_("Matter evaluations"),
    "attachment": N_("Attachments"), "char_reading": N_("Character readings"),
})
TABLE_LABELS.update(VOLUNTEER_TABLE_LABELS)


@dataclass
class TableCount:
    table: str
    label: str
    live: int
    deleted: int


@dataclass
class DatabaseInfo:
    path: str
    schema_version: int
    node_id: str
    ops: int
    conflicts: int
    tables: list[TableCount] = field(default_factory=list)


def database_info(store) -> DatabaseInfo:
    db = store.db
    info = DatabaseInfo(str(store.path), store.schema_version(), store.node_id,
                        db.execute_sql("select count(*) from oplog_store").fetchone()[0],
                        db.execute_sql("select count(*) from conflict").fetchone()[0])
    for model in SYNCED_MODELS:
        table = model._meta.table_name
        total, live = db.execute_sql(
            f'select count(*), coalesce(sum(deleted = 0), 0) from "{table}"').fetchone()
        info.tables.append(TableCount(table, TABLE_LABELS.get(table, table), live, total - live))
    return info


def has_households(store) -> bool:
    return bool(store.db.execute_sql("select exists(select 1 from household)").fetchone()[0])
