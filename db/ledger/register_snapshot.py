"""What the register already holds, for matching rows by key.

Persons are matched by ID number; places by name along 小区 > 楼栋 > 单元; households by 户号,
else by unit and door, else by address. Tombstoned rows are ignored. Places, households and
heads are loaded once per import; persons and their memberships are looked up a block of rows at
a time (persons_by_number, memberships_of), so a large register is not held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db.ledger.mapping import PERSON_FIELDS
from db.oplog import chunks

# Placeholder place names (data, in Chinese) for levels a ledger does not give.
DEFAULT_GRID = "未分网格"
DEFAULT_COMPOUND = "未分小区"
DEFAULT_BUILDING = "未分楼栋"
DEFAULT_UNIT = "未分单元"
HOUSEHOLD_COLUMNS = ("number", "door", "address", "house_use", "owner_name", "owner_phone", "unit_id", "grid_id")


@dataclass
class Snapshot:
    grids: dict[str, str] = field(default_factory=dict)
    compounds: dict[str, str] = field(default_factory=dict)
    buildings: dict[tuple[str | None, str], str] = field(default_factory=dict)
    units: dict[tuple[str, str | None], str] = field(default_factory=dict)
    households: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_number: dict[str, str] = field(default_factory=dict)
    by_place: dict[tuple[str, str | None], str] = field(default_factory=dict)
    by_address: dict[str, str] = field(default_factory=dict)
    heads: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # household -> (person, name)

    @classmethod
    def load(cls, store) -> Snapshot:
        db = store.db
        s = cls()
        for gid, name in db.execute_sql("select id, name from grid where deleted = 0"):
            s.grids.setdefault(name, gid)
        for cid, name in db.execute_sql("select id, name from compound where deleted = 0"):
            s.compounds.setdefault(name, cid)
        for bid, cid, name in db.execute_sql("select id, compound_id, name from building where deleted = 0"):
            s.buildings.setdefault((cid, name), bid)
        for uid, bid, name in db.execute_sql("select id, building_id, name from unit where deleted = 0"):
            s.units.setdefault((bid, name), uid)
        hcols = ",".join(f'"{c}"' for c in HOUSEHOLD_COLUMNS)
        for row in db.execute_sql(f"select id, {hcols} from household where deleted = 0"):
            h = dict(zip(HOUSEHOLD_COLUMNS, row[1:], strict=True))
            s.households[row[0]] = h
            if h["number"]:
                s.by_number.setdefault(h["number"], row[0])
            if h["unit_id"] or h["door"]:
                s.by_place.setdefault((h["unit_id"], h["door"]), row[0])
            if h["address"]:
                s.by_address.setdefault(h["address"], row[0])
        for hid, pid, name in db.execute_sql(
                "select m.household_id, m.person_id, p.name from membership m join person p on p.id = m.person_id "
                "where m.deleted = 0 and m.until is null and m.relation = '户主' and p.deleted = 0"):
            s.heads.setdefault(hid, (pid, name))
        return s

    @staticmethod
    def persons_by_number(store, numbers) -> dict[str, tuple[str, dict[str, Any]]]:
        """The live persons with these ID numbers: number -> (person id, {field: value}); the first
        in rowid order when the register holds one number twice."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        wanted = sorted({n for n in numbers if n})
        cols = ",".join(f'"{c}"' for c in PERSON_FIELDS)
        at = 1 + PERSON_FIELDS.index("id_number")
        for chunk in chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for row in store.db.execute_sql(
                    f"select id, {cols} from person where deleted = 0 and id_number in ({marks}) order by rowid",
                    tuple(chunk)):
                if row[at] not in out:
                    out[row[at]] = (row[0], dict(zip(PERSON_FIELDS, row[1:], strict=True)))
        return out

    @staticmethod
    def memberships_of(store, person_ids) -> dict[str, list[tuple[str, str, str | None]]]:
        """Current memberships of these persons: person -> [(membership, household, relation)]."""
        out: dict[str, list[tuple[str, str, str | None]]] = {}
        for chunk in chunks(sorted(set(person_ids))):
            marks = ",".join("?" * len(chunk))
            for mid, pid, hid, relation in store.db.execute_sql(
                    "select id, person_id, household_id, relation from membership "
                    f"where deleted = 0 and until is null and person_id in ({marks}) order by rowid", tuple(chunk)):
                out.setdefault(pid, []).append((mid, hid, relation))
        return out

    def effective_place(self, place: tuple) -> tuple:
        """The register wants every unit under a building, compound and grid (each with a name):
        levels the file leaves out are filled in — the register's only grid, or placeholders that
        the user can rename in the place tree."""
        grid, compound, building, unit = place
        if not (building or unit):
            return place
        if not grid:
            grid = next(iter(self.grids)) if len(self.grids) == 1 else DEFAULT_GRID
        return (grid, compound or DEFAULT_COMPOUND, building or DEFAULT_BUILDING, unit or DEFAULT_UNIT)

    def unit_id(self, place: tuple) -> str | None:
        """The existing unit for (grid, compound, building, unit) names, if every level exists."""
        _grid, compound, building, unit = self.effective_place(place)
        cid = self.compounds.get(compound)
        if cid is None:
            return None
        bid = self.buildings.get((cid, building))
        if bid is None:
            return None
        return self.units.get((bid, unit))

    def find_household(self, key: tuple, place: tuple, fields: dict[str, Any]) -> str | None:
        kind = key[0]
        if kind == "number":
            return self.by_number.get(key[1])
        if kind == "place":
            unit = self.unit_id(place) if place[2] or place[3] else None
            if (place[2] or place[3]) and unit is None:
                return None
            return self.by_place.get((unit, fields.get("door")))
        return self.by_address.get(key[1])
