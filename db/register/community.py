"""A community's own register from the first day: its name, grids with their workers, compounds.

Also what the shell needs to know about the open database: is it the demo community (a banner
says so), and what is the community called (printouts, the window). Both are per database file
(the `meta` table), not synced.
"""

from __future__ import annotations

from typing import Any

from db.errors import ValidationError, ValidationErrors
from db.ids import new_id
from db.models.register import Compound, Grid
from db.oplog import Change
from db.register.common import Edit
from db.register.tags import ensure_default_tags
from db.validation import normalize_text
from i18n import N_, _

COMMUNITY_KEY = "community_name"
DEMO_KEY = "demo"


def community_name(store) -> str:
    return store.get_meta(COMMUNITY_KEY) or ""


def is_demo(store) -> bool:
    """True for a database filled by the demo generator (made-up people)."""
    return store.get_meta(DEMO_KEY) == "1"


def mark_demo(store) -> None:
    store.set_meta(**{DEMO_KEY: "1"})


def is_empty(store) -> bool:
    """No household and no place yet: the register has to be started (places or an import)."""
    row = store.db.execute_sql(
        "select (select count(*) from household where deleted = 0) + (select count(*) from grid where deleted = 0)"
    ).fetchone()
    return not row[0]


def start_register(store, *, community: str, grids: list[dict[str, Any]]) -> list[Change]:
    """A new community register: its name, and grids {name, worker, compounds: [names]}.

    One transaction; the standard tags come with it. Errors name the grid row (1-based) and the
    field; nothing is written when one is wrong.
    """
    community = normalize_text(community)
    errors: list[ValidationError] = []
    if not community:
        errors.append(ValidationError(_("Enter the community's name."), field="community"))
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, grid in enumerate(grids, start=1):
        name = normalize_text(grid.get("name") or "")
        worker = normalize_text(grid.get("worker") or "")
        compounds = [c for c in (normalize_text(x) for x in grid.get("compounds") or []) if c]
        if not name and not worker and not compounds:
            continue  # an empty row of the form
        if not name:
            errors.append(ValidationError(_("Grid row {n}: enter the grid's name.").format(n=number),
                                          field="grids", row=number))
            continue
        if name in seen:
            errors.append(ValidationError(_("Grid row {n}: “{name}” is named twice.").format(n=number, name=name),
                                          field="grids", row=number))
            continue
        seen.add(name)
        clean.append({"name": name, "worker": worker or None, "compounds": list(dict.fromkeys(compounds))})
    if not clean:
        errors.append(ValidationError(_("Enter at least one grid."), field="grids"))
    if errors:
        raise ValidationErrors(errors)
    edit = Edit(store, N_("Start the register"))
    with store.db.atomic():
        ensure_default_tags(store)
        grid_rows = [{"id": new_id(), "name": g["name"], "worker": g["worker"]} for g in clean]
        edit.write(Grid, grid_rows)
        compound_rows = [{"id": new_id(), "grid_id": row["id"], "name": c}
                         for row, g in zip(grid_rows, clean, strict=True) for c in g["compounds"]]
        edit.write(Compound, compound_rows)
        store.set_meta(**{COMMUNITY_KEY: community})
        return edit.finish()
