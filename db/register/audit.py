"""The audit trail: who saw, printed or exported personal numbers, and when (AuditEntry rows).

record_audit is the one writer of audit entries (one timestamp format: local time with its UTC
offset, to the second); showing an ID or phone number in full is an explicit choice recorded here."""

from __future__ import annotations

import datetime as dt

from db import oplog
from db.models.register import AuditEntry
from i18n import _


def audit_time(when: dt.datetime | None = None) -> str:
    """The timestamp of an audit entry: 2026-11-25T08:30:00+08:00."""
    return (when or dt.datetime.now()).astimezone().isoformat(timespec="seconds")


def record_audit(store, *, action: str, target_table: str | None = None, target_ids: list[str | None] | None = None,
                 detail: str = "", user: str | None = None) -> list[oplog.Change]:
    """One audit entry per target id (or one without a target): who did `action`, when, with what."""
    at, who = audit_time(), user or store.user
    rows = [{"at": at, "user": who, "action": action, "target_table": target_table, "target_id": target_id,
             "detail": detail} for target_id in (target_ids or [None])]
    with store.db.atomic():
        return oplog.write(store, AuditEntry, rows, user=who)


REVEALABLE = {("person", "id_number"), ("person", "phone"), ("household", "owner_phone")}


def reveal(store, *, table: str, row_id: str, field: str, reason: str | None = None) -> str:
    """Return the full value and leave an audit entry saying who saw it, when and why."""
    if (table, field) not in REVEALABLE:
        raise KeyError(f"{table}.{field} is not revealable")
    from db.accounts.session import require_household, require_person, require_unmasked

    require_unmasked(store)
    (require_person if table == "person" else require_household)(store, row_id)
    row = store.db.execute_sql(f'select "{field}" from "{table}" where id = ?', (row_id,)).fetchone()
    if row is None:
        from db.errors import GridDeskError

        raise GridDeskError(_("This record no longer exists in the register."))
    record_audit(store, action="reveal", target_table=table, target_ids=[row_id],
                 detail=field + (f": {reason}" if reason else ""))
    return row[0] or ""
