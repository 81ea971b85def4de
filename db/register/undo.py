"""Undo of the last edit: a new op that writes the previous values back (the log is never rewritten)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from db import oplog
from db.errors import GridDeskError
from db.oplog import Change
from db.register.common import model_for
from i18n import N_, _


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


# Field names shown in "Undone: …" (same msgids as the editors' labels).
FIELD_LABELS = {
    "notes": N_("Notes"), "door": N_("Door (门牌/房号)"), "number": N_("Household number"),
    "house_use": N_("House use"), "owner_name": N_("Owner / landlord"), "owner_phone": N_("Owner phone"),
    "name": N_("Name"), "former_name": N_("Former name"), "phone": N_("Phone"), "id_number": N_("ID number"),
    "birth_date": N_("Birth date"), "sex": N_("Sex"), "relation": N_("Relation"),
    "visit_interval_days": N_("Visit interval"),
}


def _target(store, table: str, row_id: str) -> str:
    """A few words naming the record: a household's address, a person's name, a tag's name."""
    db = store.db
    if table == "visit":
        row = db.execute_sql("select household_id from visit where id = ?", (row_id,)).fetchone()
        table, row_id = "household", row[0] if row else ""
    if table == "household":
        row = db.execute_sql("select address from register_search where household_id = ? and address != '' "
                             "limit 1", (row_id,)).fetchone()
        if row:
            return row[0]
        row = db.execute_sql("select coalesce(address, door, number, '') from household where id = ?",
                             (row_id,)).fetchone()
        return row[0] if row else ""
    if table in ("person", "tag"):
        row = db.execute_sql(f'select name from "{table}" where id = ?', (row_id,)).fetchone()
        return row[0] or "" if row else ""
    return ""


def describe_last_edit(store) -> str:
    """What undoing now would undo, in words: 'Edit household 幸福里1栋1单元101 (Notes)'."""
    row = store.db.execute_sql("select label, payload from register_undo where undone = 0 and user = ? "
                               "order by seq desc limit 1", (store.user,)).fetchone()
    if row is None:
        return ""
    label, payload = row
    entries = json.loads(payload)
    main = next((e for e in entries if e[0] in ("visit", "household", "person", "tag")), entries[0] if entries else None)
    target = _target(store, main[0], main[1]) if main else ""
    fields = [_(FIELD_LABELS[f]) for e in entries if not e[2] for f in e[3] if f in FIELD_LABELS]
    text = _("{action} {target}").format(action=_(label or ""), target=target).strip()
    if fields:
        text = _("{edit} ({fields})").format(edit=text, fields="、".join(dict.fromkeys(fields)))
    return text
