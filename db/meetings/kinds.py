"""Meeting kinds and their rule presets (DOMAIN.md "Meetings"); the office edits them."""

from __future__ import annotations

import uuid
from typing import Any

from db.errors import GridDeskError, ValidationError, ValidationErrors
from db.meetings.rules import ENTITLED, PASS_BASES, KindRule, parse_rule
from db.models.meetings import MeetingKind
from db.oplog import Change
from db.register.common import Edit
from db.validation import normalize_text
from i18n import N_, _

# (name, entitled, quorum, pass rule, of, major rule, election quorum, double majority, proxy limit, source)
PRESETS: tuple[tuple, ...] = (
    ("居民会议", "adults", ">1/2", ">1/2", "present", None, None, 0, 1,
     "城市居民委员会组织法（2018年修正）第九条、第十条；2026年1月1日起施行的修订本，数字可改"),
    ("居民代表会议", "representatives", ">=2/3", ">1/2", "present", None, None, 0, 1,
     "地方通行规定：每5至10户推选代表1人；一年无故缺席三次取消代表资格"),
    ("党员大会", "party_members", ">1/2", ">1/2", "entitled", None, ">=4/5", 0, 0,
     "中国共产党支部工作条例（试行）：赞成票超过应到会有表决权党员的半数；选举须4/5以上到会"),
    ("业主大会/三方联动会议", "owners", ">=2/3", ">1/2", "present", ">=3/4", None, 1, None,
     "民法典第二百七十八条：面积与人数双过2/3参与表决；一般事项双过半数，维修资金、改建重建、改变用途双3/4"),
    ("楼栋长会议", "invited", "none", ">1/2", "present", None, None, 0, None, "无法定人数要求"),
    ("居民议事会", "invited", "none", ">1/2", "present", None, None, 0, None, "无法定人数要求"),
    ("三社联动会议", "invited", "none", ">1/2", "present", None, None, 0, None, "无法定人数要求"),
)
KIND_FIELDS = ("name", "entitled", "quorum", "pass_rule", "pass_base", "major_rule", "election_quorum",
               "double_majority", "proxy_limit", "source", "sort_order")

_NAMESPACE = uuid.UUID("3b0e4f9a-61c2-5d7e-8b14-47524d454554")


def standard_kind_id(name: str) -> str:
    """The standard kinds have one id on every laptop, so separately set-up databases merge them."""
    return str(uuid.uuid5(_NAMESPACE, "meeting_kind:" + name))


def _preset_row(i: int, preset: tuple) -> dict[str, Any]:
    name, entitled, quorum, pass_rule, base, major, election, double, proxy, source = preset
    return {"id": standard_kind_id(name), "name": name, "entitled": entitled, "quorum": quorum,
            "pass_rule": pass_rule, "pass_base": base, "major_rule": major, "election_quorum": election,
            "double_majority": double, "proxy_limit": proxy, "source": source, "sort_order": i}


def ensure_default_kinds(store) -> list[Change]:
    existing = {r[0] for r in store.db.execute_sql("select id from meeting_kind")}
    rows = [_preset_row(i, p) for i, p in enumerate(PRESETS) if standard_kind_id(p[0]) not in existing]
    if not rows:
        return []
    edit = Edit(store, N_("Add meeting kinds"))
    with store.db.atomic():
        edit.write(MeetingKind, rows)
        return edit.finish()


def check_kind(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(KIND_FIELDS)
    if unknown:
        raise KeyError(f"meeting_kind has no field(s) {sorted(unknown)}")
    clean = {k: (normalize_text(v) or None) if isinstance(v, str) else v for k, v in values.items()}
    errors: list[ValidationError] = []
    if "name" in values and not clean.get("name"):
        errors.append(ValidationError(_("The name of the meeting kind is required."), field="name"))
    for key in ("quorum", "pass_rule", "major_rule", "election_quorum"):
        if clean.get(key):
            try:
                parse_rule(clean[key], field_name=key)
            except ValidationError as exc:
                errors.append(exc)
    if clean.get("entitled") and clean["entitled"] not in ENTITLED:
        errors.append(ValidationError(_("Unknown entitled body “{value}”.").format(value=clean["entitled"]),
                                      field="entitled"))
    if clean.get("pass_base") and clean["pass_base"] not in PASS_BASES:
        errors.append(ValidationError(_("A motion counts “of those present” or “of those entitled”."),
                                      field="pass_base"))
    if clean.get("proxy_limit") is not None:
        try:
            clean["proxy_limit"] = int(str(clean["proxy_limit"]).strip())
            if not 0 <= clean["proxy_limit"] <= 100:
                raise ValueError
        except ValueError:
            errors.append(ValidationError(_("The proxy limit must be between 0 and 100."), field="proxy_limit"))
    if "double_majority" in clean:
        clean["double_majority"] = int(bool(clean["double_majority"]))
    if errors:
        raise ValidationErrors(errors)
    return clean


def save_kind(store, *, values: dict[str, Any], kind_id: str | None = None) -> list[Change]:
    """Add a kind or edit its preset (the office's own rules)."""
    clean = check_kind(values)
    if kind_id is None and not clean.get("name"):
        raise ValidationErrors([ValidationError(_("The name of the meeting kind is required."), field="name")])
    edit = Edit(store, N_("Edit meeting kind"))
    with store.db.atomic():
        edit.write(MeetingKind, [{"id": kind_id, **clean} if kind_id else clean])
        return edit.finish()


def list_kinds(store) -> list[dict[str, Any]]:
    cols = ("id",) + KIND_FIELDS
    rows = store.db.execute_sql(f"select {','.join(cols)} from meeting_kind where deleted = 0 "
                                "order by sort_order, name").fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def get_kind(store, kind_id: str) -> dict[str, Any]:
    cols = ("id",) + KIND_FIELDS
    row = store.db.execute_sql(f"select {','.join(cols)} from meeting_kind where id = ?", (kind_id,)).fetchone()
    if row is None:
        raise GridDeskError(_("This meeting kind no longer exists."))
    return dict(zip(cols, row, strict=True))


def kind_rule(kind: dict[str, Any]) -> KindRule:
    return KindRule(quorum=kind.get("quorum"), pass_rule=kind.get("pass_rule") or ">1/2",
                    pass_base=kind.get("pass_base") or "present", major_rule=kind.get("major_rule"),
                    election_quorum=kind.get("election_quorum"), double_majority=bool(kind.get("double_majority")),
                    proxy_limit=kind.get("proxy_limit"))


def kind_by_name(store, name: str) -> dict[str, Any]:
    for kind in list_kinds(store):
        if kind["name"] == name:
            return kind
    raise GridDeskError(_("There is no meeting kind “{name}”.").format(name=name))
