"""The one write of the printing area: an AuditEntry when ID or phone numbers print in full."""

from __future__ import annotations

from db import oplog
from db.register.audit import record_audit


def record_full_print(store, *, form: str, target_table: str | None = None, target_ids: list[str] | None = None,
                      detail: str = "", user: str | None = None) -> list[oplog.Change]:
    """Record that `user` (default: the store's user) printed `form` with ID and phone numbers in full.

    One entry per printed record (household, visit) so the trail answers "who printed this
    household's numbers, and when"; a list prints as one entry naming its filter and size.
    """
    from db.accounts.session import require_unmasked

    require_unmasked(store)
    return record_audit(store, action="print_unmasked", target_table=target_table, target_ids=target_ids,
                        detail=f"{form}: {detail}" if detail else form, user=user)
