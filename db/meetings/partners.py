"""Partner organisations (业委会, 物业, 辖区单位, 社会组织) and their contacts."""

from __future__ import annotations

from typing import Any

from db.errors import ValidationError, ValidationErrors
from db.models.meetings import PartnerContact, PartnerOrg
from db.oplog import Change
from db.register.common import Edit
from db.validation import normalize_phone, normalize_text
from i18n import N_, _

ORG_KINDS = ("业委会", "物业", "辖区单位", "社会组织")


def _phone(value: Any, errors: list[ValidationError]) -> str | None:
    if not value:
        return None
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        errors.append(ValidationError(exc.message, field="phone"))
        return None


def save_org(store, *, name: str, kind: str, address: str | None = None, phone: str | None = None,
             notes: str | None = None, org_id: str | None = None) -> list[Change]:
    errors: list[ValidationError] = []
    name = normalize_text(name)
    if not name:
        errors.append(ValidationError(_("The organisation's name is required."), field="name"))
    if kind not in ORG_KINDS:
        errors.append(ValidationError(_("The kind of organisation is one of {choices}.").format(
            choices="、".join(ORG_KINDS)), field="kind"))
    phone = _phone(phone, errors)
    if errors:
        raise ValidationErrors(errors)
    row = {"name": name, "kind": kind, "address": normalize_text(address) or None, "phone": phone, "notes": notes}
    if org_id:
        row["id"] = org_id
    edit = Edit(store, N_("Edit partner organisation"))
    with store.db.atomic():
        edit.write(PartnerOrg, [row])
        return edit.finish()


def save_contact(store, *, org_id: str, name: str, role: str | None = None, phone: str | None = None,
                 contact_id: str | None = None) -> list[Change]:
    errors: list[ValidationError] = []
    name = normalize_text(name)
    if not name:
        errors.append(ValidationError(_("The contact's name is required."), field="name"))
    phone = _phone(phone, errors)
    if errors:
        raise ValidationErrors(errors)
    row = {"org_id": org_id, "name": name, "role": normalize_text(role) or None, "phone": phone}
    if contact_id:
        row["id"] = contact_id
    edit = Edit(store, N_("Edit partner contact"))
    with store.db.atomic():
        edit.write(PartnerContact, [row])
        return edit.finish()


def list_orgs(store) -> list[dict[str, Any]]:
    cols = ("id", "name", "kind", "address", "phone", "notes")
    return [dict(zip(cols, r, strict=True)) for r in store.db.execute_sql(
        f"select {','.join(cols)} from partner_org where deleted = 0 order by kind, name")]


def list_contacts(store, org_id: str | None = None) -> list[dict[str, Any]]:
    cols = ("id", "org_id", "name", "role", "phone", "org")
    sql = ("select c.id, c.org_id, c.name, c.role, c.phone, o.name from partner_contact c "
           "join partner_org o on o.id = c.org_id where c.deleted = 0 and o.deleted = 0")
    params: list[Any] = []
    if org_id:
        sql += " and c.org_id = ?"
        params.append(org_id)
    return [dict(zip(cols, r, strict=True)) for r in store.db.execute_sql(sql + " order by o.name, c.name", params)]
