# ruff: noqa: F811 - the fixtures imported from tests.hub_helpers are used as arguments
"""Office hub features on both backends: USB bundles from hub-synced laptops (holes in other
devices' counters), roles in what the hub sends, and the office's review queue."""

from __future__ import annotations

import pytest

from db import oplog
from db.models.register import Household
from db.store import Store
from db.sync import exchange, hub_client, identity
from tests.hub_helpers import (  # noqa: F401 - fixtures
    add_household,
    hub,
    hub_cert,
    hub_data,
    laptops,
    office_with_grids,
)


@pytest.fixture
def world(hub, hub_cert, laptops):
    """The office (all grids) with two grids; laptop A for grid 1."""
    pin = hub_cert[2]
    office = laptops("office").enrol(hub, pin, None)
    g1, g2 = office_with_grids(office)
    office.sync()
    a = laptops("zhang").enrol(hub, pin, [g1])
    a.sync()
    return {"hub": hub, "pin": pin, "office": office, "a": a, "g1": g1, "g2": g2}


def _holes(laptop, node: str) -> bool:
    counters = [c for (c,) in laptop.store.db.execute_sql("select counter from oplog where node = ? order by counter",
                                                          (node,))]
    return counters != list(range(1, len(counters) + 1))


# -- USB from a hub-synced laptop ---------------------------------------------------------------------

def _usb_peer(tmp_path, laptop) -> Store:
    peer = Store(tmp_path / "usb-peer.sqlite", user="peer")
    identity.trust_device(peer, identity.identity(laptop.store).card())
    identity.trust_device(laptop.store, identity.identity(peer).card())
    return peer


def test_usb_export_from_a_hub_synced_laptop_carries_every_op_it_holds(world, tmp_path):
    office, a, g1, g2 = world["office"], world["a"], world["g1"], world["g2"]
    # The office writes households of both grids in turn: laptop A receives every other one, so
    # the office's counters on A have holes after the first grid-2 household.
    mine = []
    for i in range(3):
        mine.append(add_household(office, g1, number=f"1-{i}")[0])
        add_household(office, g2, number=f"2-{i}")
    office.sync()
    a.sync()
    assert set(mine) <= a.ids("household")
    assert _holes(a, office.store.node_id)
    peer = _usb_peer(tmp_path, a)
    try:
        for kwargs in ({"for_device": identity.identity(peer).device_id}, {"full": True, "passphrase": "口令123456"}):
            exported = exchange.export_bundle(a.store, **kwargs)
            bundle = exchange.read_bundle(peer, exported.data, passphrase=kwargs.get("passphrase"))
            exchange.import_bundle(peer, bundle)
            held = {k for k in a.store.db.execute_sql("select node, counter from oplog")}
            got = {k for k in peer.db.execute_sql("select node, counter from oplog")}
            assert held <= got, "an op the sender holds was left out of its bundle"
            assert set(mine) <= {r for (r,) in peer.db.execute_sql("select id from household")}
            # What the bundle claims the sender holds is only what it can prove: no claim past a hole.
            assert exported.manifest["vector"][office.store.node_id] == oplog.version_vector(a.store.db)[
                office.store.node_id]
        # The peer's contents equal what the sender holds (the same rows, rebuilt from the same ops).
        assert a.ids("household") == {r for (r,) in peer.db.execute_sql("select id from household")}
        # Imported again: nothing new.
        again = exchange.read_bundle(peer, exchange.export_bundle(
            a.store, for_device=identity.identity(peer).device_id).data)
        assert exchange.import_bundle(peer, again).new_ops == 0
    finally:
        peer.close()
