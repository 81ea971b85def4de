"""Reading a whole address (幸福小区3栋2单元301室) into the register's places, for ledgers that keep
the address in one column instead of 小区/楼栋/单元/门牌 columns."""

from __future__ import annotations

import re
from functools import lru_cache

_NUM = r"[0-9０-９一二三四五六七八九十百]+"
_ADDRESS = re.compile(
    rf"^(?P<compound>.*?)(?P<building>[0-9０-９A-Za-z一二三四五六七八九十]+(?:栋|幢|号楼|座))"
    rf"(?:(?P<unit>{_NUM})单元)?(?P<door>[0-9０-９]+[A-Za-z]?)(?:室|号|户)?$")


@lru_cache(maxsize=65_536)
def split_address(text: str) -> tuple[str | None, str, str | None, str] | None:
    """(compound or None, building, unit number or None, door) of an address such as
    幸福小区3栋2单元301室 or 花园小区12号楼501; None when it does not read as one (a street address)."""
    m = _ADDRESS.match(text.replace(" ", ""))
    if m is None:
        return None
    compound = m["compound"] or None
    return compound, m["building"], m["unit"], m["door"]


def fill_places(values: dict) -> None:
    """Places and door from the address column when the ledger has no columns of its own for them;
    a bare compound name in the address column (花园小区, next to 楼号/单元/房号 columns) is the compound."""
    address = values.get("current_address")
    if not address:
        return
    has_places = any(values.get(k) for k in ("compound", "building", "unit", "door"))
    if has_places:
        if not values.get("compound") and values.get("building") and not any(c.isdigit() for c in address):
            values["compound"] = address
        return
    parts = split_address(address)
    if parts is None:
        return
    compound, building, unit, door = parts
    if compound:
        values["compound"] = compound
    values["building"] = building
    if unit:
        values["unit"] = unit
    values["door"] = door
