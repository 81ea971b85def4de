"""Where the people of a ledger live when its table does not say (no grid or compound column).

The sheet name (第三网格) and the title rows above the table (幸福里社区第三网格人口台账) usually
do; `suggest_places` reads them, the import asks the person to confirm, and `ImportPlan.default_places`
then fills the levels the rows leave empty. Also: the households that would end without a head.
"""

from __future__ import annotations

import re
from typing import Any

from db.ledger import cells

PLACE_LEVELS = ("grid", "compound")
_NUM = "[一二三四五六七八九十百零〇0-9０-９]+"
_GRID = re.compile(rf"(第{_NUM}网格|[\u4e00-\u9fff0-9]{{1,6}}?网格)")
_COMMUNITY = re.compile(r"([\u4e00-\u9fff]{2,10}?社区)")
_COMPOUND = re.compile(r"([\u4e00-\u9fff0-9]{2,8}?(?:小区|花园|新村|家园|公寓|花城|苑))")


def missing_levels(plan) -> list[str]:
    """grid / compound when no sheet of the plan has a column for it."""
    mapped = {key for sp in plan.sheets for key in sp.mapping.values()}
    return [level for level in PLACE_LEVELS if level not in mapped]


def _texts(plan) -> list[str]:
    texts: list[str] = []
    for sp in plan.sheets:
        texts.append(sp.sheet.name or "")
        for row in sp.sheet.head[:sp.layout.header_row]:
            texts.extend(cells.as_text(v) for v in row if not cells.is_blank(v))
    texts.append(plan.path.stem if getattr(plan, "path", None) else "")
    return [t for t in texts if t]


def suggest_places(plan) -> dict[str, str]:
    """What the sheet names and title rows say: {"grid": "第三网格", "compound": ..., "community": ...}."""
    found: dict[str, str] = {}
    for text in _texts(plan):
        community = _COMMUNITY.search(text)
        if community and "community" not in found:
            found["community"] = community.group(1)
        rest = text.replace(community.group(1), " ") if community else text
        grid = _GRID.search(rest)
        if grid and "grid" not in found:
            found["grid"] = grid.group(1)
        compound = _COMPOUND.search(rest.replace(grid.group(1), " ") if grid else rest)
        if compound and "compound" not in found:
            found["compound"] = compound.group(1)
    return found


def households_without_head(preview) -> list[dict[str, Any]]:
    """Households of this import that would have no head (户主), with their first rows."""
    out = []
    for plan in preview.households.values():
        if not plan.used or not plan.headless:
            continue
        out.append({"address": plan.fields.get("address") or "", "rows": [where for where, _name in plan.headless],
                    "names": [name for _where, name in plan.headless]})
    return out


def households_in_file(preview) -> int:
    """How many households the rows without errors belong to."""
    return sum(1 for plan in preview.households.values() if plan.used)
