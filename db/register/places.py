"""The place hierarchy: 网格 grid > 小区 compound > 楼栋 building > 单元 unit (doors live on households)."""

from __future__ import annotations

from typing import Any

from db.errors import ValidationError, ValidationErrors
from db.models.register import Building, Compound, Grid, Unit
from db.oplog import Change
from db.register.common import Edit
from db.validation import normalize_text
from i18n import N_, _

_LEVELS = {"grid": (Grid, None), "compound": (Compound, "grid_id"), "building": (Building, "compound_id"),
           "unit": (Unit, "building_id")}


def save_place(store, *, level: str, name: str, parent_id: str | None = None, place_id: str | None = None,
               code: str | None = None, worker: str | None = None) -> list[Change]:
    """Create or rename one place; level is grid, compound, building or unit."""
    model, parent_col = _LEVELS[level]
    name = normalize_text(name)
    if not name:
        raise ValidationErrors([ValidationError(_("The name is required."), field="name")])
    row: dict[str, Any] = {"name": name}
    if place_id:
        row["id"] = place_id
    elif parent_col:
        if not parent_id:
            raise ValidationErrors([ValidationError(_("Choose where this place belongs."), field="parent")])
        row[parent_col] = parent_id
    if level == "grid":
        if code is not None:
            row["code"] = normalize_text(code) or None
        if worker is not None:
            row["worker"] = normalize_text(worker) or None
    edit = Edit(store, N_("Edit place") if place_id else N_("New place"))
    with store.db.atomic():
        edit.write(model, [row])
        return edit.finish()


def place_tree(store) -> list[dict[str, Any]]:
    """Every live place as nested dicts {level, id, name, children}, sorted naturally by name."""
    from db.register.index import natural_key

    db = store.db
    grids = [{"level": "grid", "id": i, "name": n, "children": []}
             for i, n in db.execute_sql("select id, name from grid where deleted = 0")]
    by_id: dict[str, dict[str, Any]] = {g["id"]: g for g in grids}
    for level, table, parent in (("compound", "compound", "grid_id"), ("building", "building", "compound_id"),
                                 ("unit", "unit", "building_id")):
        for i, n, p in db.execute_sql(f'select id, name, {parent} from "{table}" where deleted = 0'):
            node = {"level": level, "id": i, "name": n, "children": []}
            by_id[i] = node
            if p in by_id:
                by_id[p]["children"].append(node)

    def sort(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nodes.sort(key=lambda n: natural_key(n["name"] or ""))
        for n in nodes:
            sort(n["children"])
        return nodes

    return sort(grids)


def unit_path(store, unit_id: str) -> dict[str, Any]:
    """Grid, compound, building and unit (ids and names) above a unit."""
    row = store.db.execute_sql(
        "select g.id, g.name, c.id, c.name, b.id, b.name, u.name from unit u "
        "join building b on b.id = u.building_id join compound c on c.id = b.compound_id "
        "join grid g on g.id = c.grid_id where u.id = ?", (unit_id,)).fetchone()
    if row is None:
        return {}
    keys = ("grid_id", "grid", "compound_id", "compound", "building_id", "building", "unit")
    return dict(zip(keys, row, strict=True))
