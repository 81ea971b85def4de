"""Showing an ID or phone number in full is an explicit choice, recorded in AuditEntry."""

from __future__ import annotations

import datetime as dt

from db import oplog
from db.models.register import AuditEntry
from i18n import _

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
    with store.db.atomic():
        oplog.write(store, AuditEntry, [{
            "at": dt.datetime.now().isoformat(timespec="seconds"), "user": store.user, "action": "reveal",
            "target_table": table, "target_id": row_id, "detail": field + (f": {reason}" if reason else "")}])
    return row[0] or ""
