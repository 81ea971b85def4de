"""A first sync by the hub's scope snapshot ends as a full replay of the feed would (both backends)."""

from __future__ import annotations

import pytest

from db.models.register import Household, Person
from db.sync import hub_client
from db.sync.identity import SyncError
from hub import snapshot as hub_snapshot
from tests.hub_helpers import (
    add_household,
    office_with_grids,
)
from tests.sync_helpers import synced_content


def _content(laptop) -> dict:
    out = synced_content(laptop.store)
    del out["ops"]
    return out


def _snapshots(hub):
    return hub.server.config.app.state.snapshots


@pytest.fixture
def history(hub, hub_cert, laptops):
    """Two grids with households edited several times, a conflict, and moves both ways."""
    pin = hub_cert[2]
    office = laptops("office").enrol(hub, pin, None)
    g1, g2 = office_with_grids(office)
    homes = [add_household(office, g1 if i % 2 == 0 else g2, number=f"{i}-101") for i in range(8)]
    for turn in range(3):
        office.write(Person, [{"id": p, "phone": f"139{turn}{i:07d}"} for i, (_h, ps) in enumerate(homes) for p in ps])
    office.sync()
    worker = laptops("worker").enrol(hub, pin, [g1])
    worker.sync()
    # The same field edited on both sides before either syncs: an open conflict.
    target = homes[0][1][0]
    worker.write(Person, [{"id": target, "phone": "13700000001"}])
    office.write(Person, [{"id": target, "phone": "13700000002"}])
    worker.sync()
    office.sync()
    # One household leaves grid 1, one comes in.
    office.write(Household, [{"id": homes[2][0], "grid": g2}, {"id": homes[3][0], "grid": g1}])
    office.sync()
    return {"hub": hub, "pin": pin, "office": office, "worker": worker, "g1": g1, "g2": g2, "homes": homes,
            "target": target, "laptops": laptops}


def test_snapshot_first_sync_equals_full_replay(history):
    h = history
    hub, pin, g1, office = h["hub"], h["pin"], h["g1"], h["office"]
    snap_laptop = h["laptops"]("snap").enrol(hub, pin, [g1])
    replay = h["laptops"]("replay").enrol(hub, pin, [g1])
    by_snapshot = snap_laptop.sync()
    by_replay = replay.sync(snapshot=False)
    assert by_snapshot.pulled == by_replay.pulled > 0
    assert synced_content(snap_laptop.store) == synced_content(replay.store)  # rows, conflicts, op ids
    # The one conflict anybody made; the household that came in with its edits shows none.
    assert _content(snap_laptop)["conflict"] == [("person", h["target"], "phone")]
    households = snap_laptop.rows("household")
    assert h["homes"][3][0] in households and h["homes"][2][0] not in households
    assert {r["grid_id"] for r in households.values()} == {g1}  # nothing outside its grid
    # Changes after the snapshot: a device enrolled now may get the cached one and pulls the rest.
    office.write(Household, [{"id": h["homes"][0][0], "grid": h["g2"]}])
    office.write(Person, [{"id": h["homes"][4][1][0], "phone": "13600000000"}])
    office.sync()
    late = h["laptops"]("late").enrol(hub, pin, [g1])
    late.sync()
    for laptop in (snap_laptop, replay, h["worker"]):
        laptop.sync()
    assert _content(late) == _content(snap_laptop) == _content(replay) == _content(h["worker"])
    assert synced_content(late.store) == synced_content(replay.store)
    assert h["homes"][0][0] not in late.ids("household")


def test_snapshot_replaced_while_read_drops_what_left(history, monkeypatch):
    """A device that applied part of a snapshot reads the newer one; its leaves drop what left since."""
    h = history
    hub, pin, g1, office = h["hub"], h["pin"], h["g1"], h["office"]
    monkeypatch.setattr(hub_snapshot, "PART_ITEMS", 7)
    snapshots = _snapshots(hub)
    snapshots._current.clear()
    laptop = h["laptops"]("reader").enrol(hub, pin, [g1])
    moved = h["homes"][4][0]
    state = {"parts": 0}

    class Interrupted(hub_client.Transport):
        def call(self, path, data, retry=True):
            answer = super().call(path, data, retry=retry)
            if path == "/api/snapshot":
                state["parts"] += 1
                if state["parts"] == 2:
                    # The office moves a household out of grid 1; the snapshot being read is replaced.
                    office.write(Household, [{"id": moved, "grid": h["g2"]}])
                    office.sync()
                    snapshots.build(frozenset({g1}))
                    snapshots._by_id.clear()
            return answer

    link = hub_client.link(laptop.store)
    transport = Interrupted(laptop.store, link["url"], link["cert_pem"])
    try:
        laptop.sync(transport=transport)
    finally:
        transport.close()
    assert state["parts"] > 3
    replay = h["laptops"]("replay2").enrol(hub, pin, [g1])
    replay.sync(snapshot=False)
    assert moved not in laptop.ids("household")
    assert _content(laptop) == _content(replay)


def test_tampered_snapshot_is_refused(history):
    h = history
    laptop = h["laptops"]("tampered").enrol(h["hub"], h["pin"], [h["g1"]])

    class Tampering(hub_client.Transport):
        def call(self, path, data, retry=True):
            answer = super().call(path, data, retry=retry)
            if path == "/api/snapshot" and answer["items"]:
                answer["items"][0][5] = answer["items"][0][5].replace("网格", "网路")
            return answer

    link = hub_client.link(laptop.store)
    transport = Tampering(laptop.store, link["url"], link["cert_pem"])
    with pytest.raises(SyncError, match="快照|snapshot"):
        laptop.sync(transport=transport)
    transport.close()
    assert not laptop.ids("household") and not laptop.ids("grid")
    assert hub_client.link(laptop.store)["cursor"] == 0
    laptop.sync()  # untampered: the whole scope
    assert laptop.ids("household")
