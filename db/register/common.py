"""Helpers shared by the register services: the edit recorder (undo stack) and constants."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from db import oplog
from db.models import SyncedModel, synced_model
from db.oplog import Change, chunks
from i18n import N_

# Census relation codes (与户主关系), in display order.
RELATIONS = ["户主", "配偶", "子女", "父母", "岳父母或公婆", "祖父母", "媳婿", "孙子女", "兄弟姐妹", "其他"]
HOUSE_USES = ["自住", "出租", "群租", "出借", "商用", "空置", "待查"]
RESIDENCE_STATUSES = ["人户一致", "人在户不在", "户在人不在"]
PERSON_TYPES = ["户籍", "常住", "流动", "境外"]
SEXES = ["男", "女"]
ID_TYPES = ["居民身份证", "港澳台居民居住证", "护照", "外国人永久居留身份证", "其他"]
MARITAL_STATUSES = ["未婚", "已婚", "丧偶", "离婚"]
CHINESE_ID_TYPES = {"居民身份证", "港澳台居民居住证"}
# Visits of ordinary households (no tag with a shorter interval): twice a year.
DEFAULT_VISIT_INTERVAL_DAYS = 182
AGE_BANDS: list[tuple[str, int, int | None]] = [
    (N_("0-17"), 0, 17), (N_("18-34"), 18, 34), (N_("35-59"), 35, 59), (N_("60-79"), 60, 79),
    (N_("80+"), 80, None)]


def today() -> dt.date:
    return dt.date.today()


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def default_visit_interval(store) -> int:
    value = store.get_meta("register_default_visit_days")
    try:
        return int(value) if value else DEFAULT_VISIT_INTERVAL_DAYS
    except ValueError:
        return DEFAULT_VISIT_INTERVAL_DAYS


class Edit:
    """One user intent: writes rows through the op log and remembers what they replaced.

    On `finish` the previous values go to the local undo stack, so `undo_last_edit` can write
    them back as new ops (the log is never rewritten).
    """

    def __init__(self, store, label: str):
        self.store = store
        self.label = label
        self.entries: list[list[Any]] = []
        self.changes: list[Change] = []

    def write(self, model: type[SyncedModel], rows: list[dict[str, Any]]) -> list[Change]:
        rows = [dict(r) for r in rows]
        if not rows:
            return []
        table = model._meta.table_name
        previous: dict[str, dict[str, Any]] = {}
        ids = [r["id"] for r in rows if r.get("id")]
        if ids:
            columns = sorted({c for r in rows for c in r if c != "id"} | {"deleted"})
            col_sql = ",".join(f'"{c}"' for c in columns)
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                for row in self.store.db.execute_sql(
                        f'select id, {col_sql} from "{table}" where id in ({marks})', tuple(chunk)):
                    previous[row[0]] = dict(zip(columns, row[1:], strict=True))
        changes = oplog.write(self.store, model, rows)
        for change in changes:
            before = previous.get(change.row_id)
            created = before is None
            old = {} if created else {c: before.get(c) for c in change.fields}
            self.entries.append([table, change.row_id, created, old, dict(change.fields)])
        self.changes.extend(changes)
        return changes

    def finish(self) -> list[Change]:
        if self.entries:
            self.store.db.execute_sql(
                "insert into register_undo(at, user, label, payload, undone) values (?,?,?,?,0)",
                (dt.datetime.now().isoformat(timespec="seconds"), self.store.user, self.label,
                 json.dumps(self.entries, ensure_ascii=False)))
        return self.changes


def model_for(table: str) -> type[SyncedModel]:
    model = synced_model(table)
    if model is None:
        raise KeyError(table)
    return model
