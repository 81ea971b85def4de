"""Special-population tags (重点/关爱人群) with a visit frequency, and per-person tag periods."""

from __future__ import annotations

import uuid
from typing import Any

from db.accounts.session import require_person
from db.errors import ValidationError, ValidationErrors
from db.models.register import PersonTag, Tag
from db.oplog import Change
from db.register.common import Edit, iso, today
from db.validation import normalize_text, parse_date
from i18n import N_, _

# (name, visit interval in days, sensitive under PIPL): the starting list; a community edits it.
DEFAULT_TAGS: tuple[tuple[str, int | None, int], ...] = (
    ("独居老人", 30, 0), ("空巢老人", 30, 0), ("孤寡老人", 30, 0), ("留守儿童", 30, 1),
    ("困境儿童", 30, 1), ("残疾人", 90, 1), ("低保", 30, 0), ("特困", 30, 0), ("退役军人", 180, 0),
    ("计生特扶", 180, 0), ("社区矫正", 30, 1), ("安置帮教", 30, 1), ("严重精神障碍", 30, 1),
    ("重点青少年", 30, 1), ("流动人口", 30, 0),
)


# The standard tags have the same row id on every laptop (a name-based UUID), so two databases set
# up separately merge their standard tags instead of listing each twice after a handover.
_STANDARD_NAMESPACE = uuid.UUID("6f1c8a3e-2b7d-5c1e-9a4f-47524944534b")


def standard_tag_id(name: str) -> str:
    return str(uuid.uuid5(_STANDARD_NAMESPACE, "tag:" + name))


def save_tag(store, *, name: str, visit_interval_days: int | None, tag_id: str | None = None,
             sensitive: bool = False, sort_order: int = 0) -> list[Change]:
    return save_tags(store, tags=[{"tag_id": tag_id, "name": name, "visit_interval_days": visit_interval_days,
                                   "sensitive": sensitive, "sort_order": sort_order}])


def save_tags(store, *, tags: list[dict[str, Any]]) -> list[Change]:
    """One save of the tag settings: every new or edited tag (keys as save_tag's arguments) in one
    transaction and one undo entry; a bad row refuses them all."""
    return _write_tags(store, [_tag_row(**t) for t in tags])


def _write_tags(store, rows: list[dict[str, Any]]) -> list[Change]:
    if not rows:
        return []
    edit = Edit(store, N_("Edit tag"))
    with store.db.atomic():
        edit.write(Tag, rows)
        return edit.finish()


def _tag_row(*, name: str, visit_interval_days: int | None, tag_id: str | None = None,
             sensitive: bool = False, sort_order: int = 0) -> dict[str, Any]:
    name = normalize_text(name)
    errors = []
    if not name:
        errors.append(ValidationError(_("The name is required."), field="name"))
    if visit_interval_days is not None and not 1 <= int(visit_interval_days) <= 3660:
        errors.append(ValidationError(_("The visit interval must be between 1 and 3660 days."),
                                      field="visit_interval_days"))
    if errors:
        raise ValidationErrors(errors)
    row: dict[str, Any] = {"name": name, "visit_interval_days": visit_interval_days,
                           "sensitive": int(bool(sensitive)), "sort_order": sort_order}
    if tag_id:
        row["id"] = tag_id
    return row


def ensure_default_tags(store) -> list[Change]:
    existing = {r[0] for r in store.db.execute_sql("select name from tag where deleted = 0")}
    rows = [{"id": standard_tag_id(n), "name": n, "visit_interval_days": d, "sensitive": s, "sort_order": i}
            for i, (n, d, s) in enumerate(DEFAULT_TAGS) if n not in existing]
    return _write_tags(store, rows)


def list_tags(store) -> list[dict[str, Any]]:
    keys = ("id", "name", "visit_interval_days", "sensitive", "sort_order")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select id, name, visit_interval_days, sensitive, sort_order from tag where deleted = 0 "
        "order by sort_order, name")]


def tag_person(store, *, person_id: str, tag_id: str, start_date=None, reason: str | None = None,
               end_date=None) -> list[Change]:
    """Start a tag period on a person (start defaults to today)."""
    require_person(store, person_id)
    start = parse_date(start_date, field="start_date") or today()
    end = parse_date(end_date, field="end_date", allow_future=True)
    if end and end < start:
        raise ValidationErrors([ValidationError(_("The end date is before the start date."), field="end_date")])
    edit = Edit(store, N_("Tag person"))
    with store.db.atomic():
        edit.write(PersonTag, [{"person_id": person_id, "tag_id": tag_id, "start_date": start.isoformat(),
                                "end_date": iso(end), "reason": normalize_text(reason) or None}])
        return edit.finish()


def end_tag(store, *, person_tag_id: str, end_date=None) -> list[Change]:
    """End a tag period; the period stays in the person's history."""
    end = parse_date(end_date, field="end_date", allow_future=True) or today()
    start = store.db.execute_sql("select start_date from person_tag where id = ?", (person_tag_id,)).fetchone()
    if start and start[0] and end.isoformat() < start[0]:
        raise ValidationErrors([ValidationError(_("The end date is before the start date."), field="end_date")])
    edit = Edit(store, N_("End tag"))
    with store.db.atomic():
        edit.write(PersonTag, [{"id": person_tag_id, "end_date": end.isoformat()}])
        return edit.finish()


def person_tags(store, person_id: str) -> list[dict[str, Any]]:
    require_person(store, person_id)
    keys = ("id", "tag_id", "name", "start_date", "end_date", "reason", "visit_interval_days")
    return [dict(zip(keys, r, strict=True)) for r in store.db.execute_sql(
        "select pt.id, t.id, t.name, pt.start_date, pt.end_date, pt.reason, t.visit_interval_days "
        "from person_tag pt join tag t on t.id = pt.tag_id where pt.person_id = ? and pt.deleted = 0 "
        "order by pt.start_date desc", (person_id,))]
