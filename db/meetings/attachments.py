"""Attachments: photos of signed sheets and of work done, size-bounded and synced as base64 text."""

from __future__ import annotations

import base64
from typing import Any

from db.errors import ValidationError, ValidationErrors
from db.models.meetings import Attachment
from db.oplog import Change
from db.register.common import Edit
from i18n import N_, _

MAX_BYTES = 600 * 1024  # a phone photo scaled for the record; the op log and bundles carry it
OWNERS = ("meeting", "matter", "progress_entry", "resolution")
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"))


def image_type(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_attachment(store, *, owner_table: str, owner_id: str, data: bytes, filename: str,
                   caption: str | None = None) -> list[Change]:
    """Attach a photo: a JPEG, PNG, GIF or WebP image of at most MAX_BYTES; anything else is refused."""
    if owner_table not in OWNERS:
        raise KeyError(owner_table)
    errors: list[ValidationError] = []
    mime = image_type(data)
    if not data:
        errors.append(ValidationError(_("The photo “{name}” is empty.").format(name=filename), field="photo"))
    elif mime is None:
        errors.append(ValidationError(_("The photo “{name}” is not an image (JPEG, PNG, GIF or WebP).").format(
            name=filename), field="photo"))
    elif len(data) > MAX_BYTES:
        errors.append(ValidationError(_("The photo “{name}” is {size} KB; at most {limit} KB can be attached. "
                                        "Take it at a lower resolution.").format(
            name=filename, size=(len(data) + 1023) // 1024, limit=MAX_BYTES // 1024), field="photo"))
    if errors:
        raise ValidationErrors(errors)
    edit = Edit(store, N_("Attach photo"))
    with store.db.atomic():
        edit.write(Attachment, [{"owner_table": owner_table, "owner_id": owner_id, "filename": filename,
                                 "mime": mime, "size": len(data), "caption": caption,
                                 "data": base64.b64encode(data).decode("ascii")}])
        return edit.finish()


def attachments(store, owner_table: str, owner_id: str) -> list[dict[str, Any]]:
    cols = ("id", "filename", "mime", "size", "caption")
    return [dict(zip(cols, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(cols)} from attachment where owner_table = ? and owner_id = ? and deleted = 0 "
        "order by id", (owner_table, owner_id))]


def attachment_bytes(store, attachment_id: str) -> bytes:
    row = store.db.execute_sql("select data from attachment where id = ?", (attachment_id,)).fetchone()
    return base64.b64decode(row[0]) if row and row[0] else b""


def matter_photos(store, matter_id: str) -> list[dict[str, Any]]:
    """Photos of a matter and of its progress entries (work done), oldest first, with the entry's date."""
    cols = ("id", "filename", "mime", "size", "caption", "owner_table", "owner_id", "on_date")
    return [dict(zip(cols, r, strict=True)) for r in store.db.execute_sql(
        "select a.id, a.filename, a.mime, a.size, a.caption, a.owner_table, a.owner_id, p.on_date "
        "from attachment a left join progress_entry p on a.owner_table = 'progress_entry' and p.id = a.owner_id "
        "where a.deleted = 0 and ((a.owner_table = 'matter' and a.owner_id = ?) or "
        "(a.owner_table = 'progress_entry' and p.matter_id = ? and p.deleted = 0)) "
        "order by coalesce(p.on_date, ''), a.id", (matter_id, matter_id))]
