"""Undo of the last edit: a new op that writes the previous values back (the log is never rewritten)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from db import oplog
from db.errors import GridDeskError
from db.oplog import Change
from db.register.common import model_for
from desktop.i18n import _


def last_edit(store) -> dict[str, Any] | None:
    """The newest edit of this user that can still be undone: {seq, label, at} (label is a msgid)."""
    row = store.db.execute_sql("select seq, label, at from register_undo where undone = 0 and user = ? "
                               "order by seq desc limit 1", (store.user,)).fetchone()
    return {"seq": row[0], "label": row[1], "at": row[2]} if row else None


def undo_last_edit(store) -> list[Change]:
    """Restore what the newest edit replaced; refuses when those rows changed since."""
    with store.db.atomic():
        row = store.db.execute_sql("select seq, payload from register_undo where undone = 0 and user = ? "
                                   "order by seq desc limit 1", (store.user,)).fetchone()
        if row is None:
            raise GridDeskError(_("There is nothing to undo."))
        seq, payload = row
        entries = json.loads(payload)
        for table, row_id, _created, _old, written in entries:
            cols = sorted(written)
            current = store.db.execute_sql(
                f'select {",".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} from "{table}" where id = ?',
                (row_id,)).fetchone()
            if current is None or any(current[i] != written[c] for i, c in enumerate(cols)):
                raise GridDeskError(_("This edit cannot be undone: the same record was changed again since "
                                      "(perhaps on another computer)."))
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for table, row_id, created, old, _written in reversed(entries):
            if created:
                by_table[table].append({"id": row_id, "deleted": 1})
            else:
                by_table[table].append({"id": row_id, **old})
        changes: list[Change] = []
        for table, rows in by_table.items():
            # One op per row: later entries for the same row were merged in order above.
            merged: dict[str, dict[str, Any]] = {}
            for r in rows:
                merged.setdefault(r["id"], {}).update(r)
            changes += oplog.write(store, model_for(table), list(merged.values()))
        store.db.execute_sql("update register_undo set undone = 1 where seq = ?", (seq,))
        return changes
