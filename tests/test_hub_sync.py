"""The office hub against both backends (SQLite and PostgreSQL), a real hub on loopback with TLS."""

from __future__ import annotations

import pytest

from db.models.register import Household, Person
from db.sync import hub_client
from tests.hub_helpers import (
    add_household,
    make_world,
)


@pytest.fixture
def world(hub, hub_cert, laptops):
    """The office (all grids) with two grids; laptop A for grid 1, laptop B for grid 2."""
    return make_world(hub, hub_cert[2], laptops, with_b=True)


def test_push_pull_round_trip(world):
    a, b, office = world["a"], world["b"], world["office"]
    a.sync()
    b.sync()
    assert a.ids("grid") == b.ids("grid") == office.ids("grid")  # community-wide
    hh, persons = add_household(a, world["g1"])
    result = a.sync()
    assert result.pushed == 5
    assert hub_client.status(a.store)["waiting"] == 0
    office.sync()
    assert hh in office.ids("household") and set(persons) <= office.ids("person")
    b.sync()
    assert hh not in b.ids("household") and not set(persons) & b.ids("person")  # not b's grid
    # The office edits; the laptop gets it.
    office.write(Person, [{"id": persons[0], "phone": "13911112222"}])
    office.sync()
    a.sync()
    assert a.rows("person")[persons[0]]["phone"] == "13911112222"
    assert oplog_equal(a, office, "household", hh)


def oplog_equal(x, y, table, row_id) -> bool:
    q = "select node, counter, fields, supersedes, hlc from oplog where tbl = ? and row_id = ? order by node, counter"
    return (x.store.db.execute_sql(q, (table, row_id)).fetchall()
            == y.store.db.execute_sql(q, (table, row_id)).fetchall())


def test_retry_is_idempotent(world):
    a, hub = world["a"], world["hub"]
    add_household(a, world["g1"])
    a.sync()
    before = hub.service.stats()["ops"]
    # The laptop forgets the acknowledgement (as after a lost answer) and pushes everything again.
    hub_client._save(a.store, acked={})
    a.store.db.execute_sql("update sync_hub set cursor = 0")
    a.sync()
    assert hub.service.stats()["ops"] == before
    assert hub.service.stats()["faults"] == 0


def test_household_moved_between_grids(world):
    a, b, office = world["a"], world["b"], world["office"]
    hh, persons = add_household(a, world["g1"])
    a.write(Household, [{"id": hh, "notes": "独居老人"}])
    a.sync()
    b.sync()
    assert hh not in b.ids("household")
    # The office moves the household to grid 2.
    office.sync()
    office.write(Household, [{"id": hh, "grid": world["g2"]}])
    office.sync()
    result = b.sync()
    assert hh in b.ids("household")
    assert set(persons) <= b.ids("person") and len(b.ids("membership")) == 2
    assert b.rows("household")[hh]["notes"] == "独居老人"  # every field's winning op came along
    assert b.rows("household")[hh]["grid_id"] == world["g2"]
    assert result.pulled > 0
    a.sync()
    assert hh not in a.ids("household") and not set(persons) & a.ids("person")
    assert a.store.db.execute_sql("select count(*) from oplog where row_id = ?", (hh,)).fetchone()[0] == 0


def test_parents_stored_by_an_earlier_push(world, monkeypatch):
    """Memberships pushed in a later batch than their household and persons still get their grid."""
    a, b, office = world["a"], world["b"], world["office"]
    monkeypatch.setattr(hub_client, "PUSH_BATCH", 2)
    hh, persons = add_household(office, world["g2"], people=3)
    office.sync()
    b.sync()
    assert hh in b.ids("household") and set(persons) <= b.ids("person") and len(b.ids("membership")) == 3
    a.sync()
    assert not set(persons) & a.ids("person")
