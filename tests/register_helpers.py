"""Shared steps of the register tests."""

from __future__ import annotations

from db.register import places


def first_unit(store) -> str:
    """第一网格 › 幸福小区 › 3栋 › 1单元, saved through the place service; the unit's id."""
    g = places.save_place(store, level="grid", name="第一网格")[0].row_id
    c = places.save_place(store, level="compound", name="幸福小区", parent_id=g)[0].row_id
    b = places.save_place(store, level="building", name="3栋", parent_id=c)[0].row_id
    return places.save_place(store, level="unit", name="1单元", parent_id=b)[0].row_id
