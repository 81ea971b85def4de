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
