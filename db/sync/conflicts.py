"""The conflicts review queue: the live values of a field side by side, and a person's resolution.

A resolution is a new op (kind "resolve") that supersedes every live candidate of the field, so
it travels to the other devices like any edit and settles the conflict there too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from db import oplog
from db.clock import hlc_millis
from db.errors import ValidationError
from db.models import synced_model
from db.sync.labels import TABLE_LABELS, table_label  # noqa: F401  (re-exported)
from db.validation import mask
from i18n import N_, _

FIELD_LABELS = {"name": N_("name"), "former_name": N_("former name"), "sex": N_("sex"),
                "ethnicity": N_("ethnicity"), "id_type": N_("ID type"), "id_number": N_("ID number"),
                "birth_date": N_("date of birth"), "phone": N_("phone"), "hukou_address": N_("hukou address"),
                "current_address": N_("current address"), "address": N_("address"), "number": N_("number"),
                "door": N_("door"), "house_use": N_("house use"), "owner_name": N_("owner"),
                "owner_phone": N_("owner's phone"), "notes": N_("notes"), "deleted": N_("deleted"),
                "relation": N_("relation"), "wechat": N_("WeChat"), "person_type": N_("person type"),
                "residence_status": N_("residence status"), "employer": N_("employer")}
# Personal numbers are masked on screen unless the person chooses to see them (audited).
SENSITIVE = {"id_number": "id", "phone": "phone", "owner_phone": "phone"}


def field_label(field: str) -> str:
    label = FIELD_LABELS.get(field)
    return _(label) if label else field


def display_value(field: str, value: Any, *, full: bool = False) -> str:
    """A candidate value as shown: personal numbers masked unless `full`."""
    if value is None or value == "":
        return _("(empty)")
    if field == "deleted":
        return _("deleted") if value in (1, "1", True) else _("kept (not deleted)")
    text = value if isinstance(value, str) else str(value)
    return mask(field, text, full=full) if field in SENSITIVE else text


def reveal_conflict(store, item: ConflictItem) -> None:
    """Record that someone chose to see the full personal numbers of a conflict."""
    from db.register.audit import record_audit

    record_audit(store, action="reveal", target_table=item.table, target_ids=[item.row_id],
                 detail=f"{item.field}: conflict values")


# Columns that say which row a conflict is about, per table (first non-empty wins).
LABEL_COLUMNS = {"person": ("name", "id_number"), "household": ("address", "number", "door"),
                 "grid": ("name",), "compound": ("name",), "building": ("name",), "unit": ("name",),
                 "tag": ("name",), "visit": ("visit_date", "visitor")}


@dataclass
class Candidate:
    value: Any
    user: str | None
    hlc: str
    node: str
    device_name: str | None
    op_id: str
    kind: str

    @property
    def when(self) -> str:
        return dt.datetime.fromtimestamp(hlc_millis(self.hlc) / 1000).strftime("%Y-%m-%d %H:%M")


@dataclass
class ConflictItem:
    table: str
    row_id: str
    field: str
    label: str
    detected_hlc: str | None
    candidates: list[Candidate] = field(default_factory=list)


def conflict_count(store) -> int:
    return store.db.execute_sql("select count(*) from conflict").fetchone()[0]


def _label(db, table: str, row_id: str) -> str:
    model = synced_model(table)
    if model is None:
        return row_id
    columns = [c for c in LABEL_COLUMNS.get(table, ("name",)) if c in model._meta.columns]
    if not columns:
        return row_id[-8:]
    row = db.execute_sql(f'select {",".join(chr(34) + c + chr(34) for c in columns)} from "{table}" where id = ?',
                         (row_id,)).fetchone()
    for value in row or ():
        if value:
            return str(value)
    return row_id[-8:]


def list_conflicts(store, *, limit: int = 500, offset: int = 0) -> list[ConflictItem]:
    """Open conflicts, newest first, each with its live values (newest first) and who wrote them."""
    from db.sync.exchange import node_names

    db = store.db
    names = node_names(store)
    rows = db.execute_sql("select tbl, row_id, field, detected_hlc from conflict "
                          "order by detected_hlc desc, tbl, row_id, field limit ? offset ?", (limit, offset)).fetchall()
    by_row: dict[tuple[str, str], list] = {}
    for tbl, row_id, column, detected in rows:
        by_row.setdefault((tbl, row_id), []).append((column, detected))
    items: list[ConflictItem] = []
    for (tbl, row_id), columns in by_row.items():
        history = oplog.ops_for_rows(db, tbl, [row_id]).get(row_id, [])
        resolved = oplog.resolve(history)
        label = _label(db, tbl, row_id)
        for column, detected in columns:
            item = ConflictItem(tbl, row_id, column, label, detected)
            for op in resolved.conflicts.get(column) or resolved.live.get(column, []):
                item.candidates.append(Candidate(op.fields[column], op.user, op.hlc, op.node,
                                                 names.get(op.node, (None, None))[1], op.id, op.kind))
            items.append(item)
    return items


def resolve_conflict(store, table: str, row_id: str, field: str, value: Any) -> list[oplog.Change]:
    """Settle a field with a chosen or newly typed value: one op superseding every live value."""
    model = synced_model(table)
    if model is None or field not in model._meta.columns or field == "id":
        raise ValidationError(_("Unknown field “{field}” of “{table}”.").format(field=field, table=table), field=field)
    if field == "deleted":
        value = 1 if value in (1, "1", True) else 0
    with store.db.atomic():
        return oplog.write(store, model, [{"id": row_id, field: value}], kind="resolve")
