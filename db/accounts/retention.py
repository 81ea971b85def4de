"""Retention: people who moved out or died more than N years ago are listed for review, and a
redaction op erases their personal fields everywhere.

A redaction is an op of kind "redact" (db/oplog.py): it wins against every older op of those
columns, even one that arrives later from an old USB bundle, and it travels with sync like any op.
An audit entry records that (not what) was redacted. Kept: sex, birth year, the dates of moving
out or death and the person type, so statistics over past years still add up.
"""

from __future__ import annotations

import datetime as dt

from db import oplog
from db.accounts import audit
from db.accounts.session import require_admin
from db.errors import GridDeskError
from db.models.register import Person
from i18n import _

DEFAULT_YEARS = 5
REDACTED_NAME = "（已删除）"
ERASED = ("former_name", "ethnicity", "id_type", "id_number", "phone", "wechat", "hukou_address",
          "current_address", "political_status", "education", "marital_status", "health", "disability",
          "employment", "employer", "move_out_to", "notes")


def review_list(store, *, years: int = DEFAULT_YEARS, today: dt.date | None = None) -> list[dict]:
    """Persons who moved out or died more than `years` years ago and are not redacted yet."""
    require_admin(store)
    today = today or dt.date.today()
    try:
        cutoff = today.replace(year=today.year - years).isoformat()
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - years, day=28).isoformat()
    keys = ("id", "name", "move_out_date", "death_date")
    rows = store.db.execute_sql(
        "select id, name, move_out_date, death_date from person where deleted = 0 and merged_into is null "
        "and coalesce(name, '') != ? and ((death_date is not null and death_date < ?) "
        "or (death_date is null and move_out_date is not null and move_out_date < ?)) "
        "order by coalesce(death_date, move_out_date), id", (REDACTED_NAME, cutoff, cutoff)).fetchall()
    return [dict(zip(keys, r, strict=True)) for r in rows]


def redact_person(store, *, person_id: str, reason: str = "") -> list[oplog.Change]:
    """Erase one person's personal fields (one redact op) and record that it happened."""
    require_admin(store)
    row = store.db.execute_sql("select birth_date from person where id = ? and deleted = 0",
                               (person_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This person no longer exists in the register."))
    birth = row[0]
    values = {"id": person_id, "name": REDACTED_NAME, **dict.fromkeys(ERASED)}
    values["birth_date"] = f"{birth[:4]}-01-01" if birth and len(birth) >= 4 else None
    with store.db.atomic():
        changes = oplog.write(store, Person, [values], kind="redact")
        audit.record(store, action="redact", target_table="person", target_id=person_id, detail=reason)
    return changes
