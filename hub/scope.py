"""Which grids a row belongs to, from its merged fields (merged with db.oplog.resolve, as on the desktop).

- community-wide tables (grids, places, tags, and any table this version does not know: meetings,
  volunteers...) go to every device: scope {"*"};
- a household belongs to its grid; a membership to its household's grids; a person to the grids
  of all households it is a member of; a person's tag to the person's; a visit or life event to
  its household's and its person's (both, when it names both, so no device holds a row whose
  parent it does not hold);
- the audit trail stays at the office (empty scope);
- a row whose scope cannot be derived yet (a person without a household) keeps the grids of the
  device that first sent it ("home"), so the device that made it keeps receiving it.
"""

from __future__ import annotations

from functools import lru_cache

from db.models.accounts import ROLE_ADMIN, ROLE_GRID, ROLE_READONLY, ROLES  # noqa: F401 - the accounts' roles

ALL = "*"
OFFICE_ONLY = frozenset({"audit_entry"})
# table -> {column of the op's fields: link slot in hub_row}
LINKS: dict[str, dict[str, str]] = {
    "household": {"grid_id": "g"},
    "membership": {"household_id": "h", "person_id": "p"},
    "person_tag": {"person_id": "p"},
    "visit": {"household_id": "h", "person_id": "p"},
    "life_event": {"household_id": "h", "person_id": "p"},
}
DERIVED = frozenset({"person"})
SCOPED = frozenset(LINKS) | DERIVED
# Evaluation order: each level depends only on earlier ones.
LEVELS = (("household",), ("membership",), ("person",), ("person_tag", "visit", "life_event"))


def community_wide(table: str) -> bool:
    return table not in SCOPED and table not in OFFICE_ONLY


@lru_cache(maxsize=65536)
def parse(text: str | None) -> frozenset[str]:
    return frozenset(x for x in (text or "").split(",") if x)


@lru_cache(maxsize=65536)
def dump(scope: frozenset[str]) -> str:
    return ",".join(sorted(scope))


def meets(scope: frozenset[str], grids: frozenset[str] | None) -> bool:
    """Does a row of this scope belong to a device enrolled for `grids` (None: every grid)?"""
    if ALL in scope:
        return True
    if grids is None:
        return bool(scope)
    return not scope.isdisjoint(grids)


# -- roles: what a device may receive (db/accounts' roles, enforced by the hub for what it sends) -----
# A device is enrolled with the role of the people who use it (the enrolment code names it):
# 社区管理员 (admin) receives its grids unmasked and may decide the office's review queue;
# 网格员 (grid) is enrolled for its own grids only, never for all; 只读 (readonly) receives
# personal numbers masked (db.validation.mask, the desktop's one masking rule) and may not send
# masked copies back as if they were changes.
MASKED_FIELDS = ("id_number", "phone", "owner_phone")


def default_role(grids: frozenset[str] | None) -> str:
    """The role of a device enrolled before roles existed: the office's own computer is admin."""
    return ROLE_ADMIN if grids is None else ROLE_GRID


def masked_fields(fields_text: str) -> str:
    """An op's fields (its stored JSON text) with the personal numbers masked."""
    if not any(f'"{name}"' in fields_text for name in MASKED_FIELDS):
        return fields_text
    import orjson

    from db.validation import mask

    values = orjson.loads(fields_text)
    for name in MASKED_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = mask(name, values[name])
    return orjson.dumps(values).decode()


def holds_masked(fields: dict) -> bool:
    """Does an op carry a masked personal number (a copy a read-only device received)?"""
    return any(isinstance(fields.get(name), str) and "*" in fields[name] for name in MASKED_FIELDS)
