"""Office hub features on both backends: USB bundles from hub-synced laptops (holes in other
devices' counters), roles in what the hub sends, and the office's review queue."""

from __future__ import annotations

import pytest

from db import opfields, oplog
from db.models.register import Household
from db.store import Store
from db.sync import exchange, hub_client, identity
from tests.hub_helpers import (
    add_household,
    make_world,
)


@pytest.fixture
def world(hub, hub_cert, laptops):
    """The office (all grids) with two grids; laptop A for grid 1."""
    return make_world(hub, hub_cert[2], laptops)


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


# -- roles in what the hub sends ----------------------------------------------------------------------

def _enrol_as(laptop, hub, pin, grids, role):
    from db.sync.hub_protocol import make_code_text

    code = hub.service.create_code(grids=None if grids is None else frozenset(grids), name=laptop.name, role=role)
    hub_client.enrol(laptop.store, make_code_text(hub.address, pin, code))
    return laptop


def _scope_rows(hub, grid: str) -> dict[str, set[str]]:
    """Per grid-scoped table, the rows the hub places in `grid`."""
    from hub import scope as sc

    out: dict[str, set[str]] = {}
    with hub.service.storage.read() as conn:
        for tbl, row_id, text in hub.service.storage.fetchall(conn, "select tbl, row_id, scope from hub_row"):
            if tbl in sc.SCOPED and grid in sc.parse(text):
                out.setdefault(tbl, set()).add(row_id)
    return out


def test_grid_worker_laptop_never_receives_another_grids_persons(world, laptops):
    from hub.service import HubError

    hub, office, a, g1, g2 = world["hub"], world["office"], world["a"], world["g1"], world["g2"]
    own_hh, own_persons = add_household(office, g1, number="1-1")
    other_hh, other_persons = add_household(office, g2, number="2-1")
    moving_hh, moving_persons = add_household(office, g1, number="1-2")
    office.sync()
    a.sync()
    assert set(own_persons + moving_persons) <= a.ids("person")
    # The office moves a household to grid 2 and gives one of grid 2's persons a phone.
    office.write(Household, [{"id": moving_hh, "grid": g2}])
    from db.models.register import Person

    office.write(Person, [{"id": other_persons[0], "phone": "13955556666"}])
    # And records about grid 2's persons: a special-group tag, a home visit, a life event.
    from db.models.register import LifeEvent, PersonTag, Tag, Visit

    tag = office.write(Tag, [{"name": "低保", "sensitive": 1}])[0].row_id
    children = [office.write(PersonTag, [{"person": other_persons[1], "tag": tag, "reason": "低保户"}])[0].row_id,
                office.write(Visit, [{"household": other_hh, "person": other_persons[0], "situation": "生病住院"}]
                             )[0].row_id,
                office.write(LifeEvent, [{"person": moving_persons[0], "household": moving_hh, "kind": "move_in"}]
                             )[0].row_id]
    office.sync()
    a.sync()
    assert tag in a.ids("tag")  # community-wide
    assert not set(children) & (a.ids("person_tag") | a.ids("visit") | a.ids("life_event"))
    theirs = set(other_persons) | set(moving_persons)
    assert not theirs & a.ids("person") and {other_hh, moving_hh}.isdisjoint(a.ids("household"))
    # Not a row, not an op, not a value of another grid's persons is on the laptop.
    outside = set().union(*_scope_rows(hub, g2).values()) - set().union(*_scope_rows(hub, g1).values())
    held = {r for (r,) in a.store.db.execute_sql("select row_id from oplog")}
    # (the moved household's own ops reached the laptop while it was in grid 1; they left with it)
    assert not outside & held
    for secret in ("13955556666", "生病住院", "低保户"):
        assert a.store.db.execute_sql("select count(*) from oplog where fields like ?",
                                      (f"%{secret}%",)).fetchone()[0] == 0, secret
    assert set(a.ids("person")) == _scope_rows(hub, g1)["person"]
    # A grid worker's laptop is enrolled for its own grids, never for every grid.
    with pytest.raises(HubError):
        hub.service.create_code(grids=None, role="grid")
    device = identity.identity(a.store).device_id
    with pytest.raises(HubError):
        hub.service.set_scope(device, None)
    assert hub.service.device(device).effective_role == "grid"
    assert hub.service.device(identity.identity(office.store).device_id).effective_role == "admin"


def test_read_only_laptop_receives_personal_numbers_masked(world, laptops):
    from db.models.register import Person

    hub, office, pin, g1 = world["hub"], world["office"], world["pin"], world["g1"]
    hh = office.write(Household, [{"grid": g1, "number": "1-9", "owner_phone": "13800001111"}])[0].row_id
    person = office.write(Person, [{"name": "王芳", "id_number": "110105199003071234", "phone": "13912345678"}])
    from db.models.register import Membership

    office.write(Membership, [{"household": hh, "person": person[0].row_id, "relation": "户主"}])
    office.sync()
    r = _enrol_as(laptops("viewer"), hub, pin, [g1], "readonly")
    r.sync()
    assert r.store.get_meta(hub_client.ROLE_META) == "readonly"
    row = r.rows("person")[person[0].row_id]
    assert row["name"] == "王芳"
    assert row["id_number"] == "110105********1234" and row["phone"] == "139****5678"
    assert r.rows("household")[hh]["owner_phone"] == "138****1111"
    raw = r.store.path
    r.store.close()
    for path in raw.parent.glob(raw.name + "*"):  # the file and its WAL
        data = path.read_bytes()
        assert b"110105199003071234" not in data and b"13912345678" not in data, path
    r.store = Store(raw, user="viewer")
    # The masked copies sent back (the hub restored, a relay) change nothing and are no faults.
    transport = hub_client.Transport(r.store, hub_client.link(r.store)["url"], hub_client.link(r.store)["cert_pem"])
    try:
        rows = opfields.wire_rows(r.store.db, r.store.db.execute_sql(
            f"select {oplog._OP_COLUMNS} from oplog where node = ?", (office.store.node_id,)).fetchall())
        answer = transport.call("/api/push", {"ops": [list(x) for x in rows]})
    finally:
        transport.close()
    assert answer["faults"] == 0 and answer["stored"] == 0 and answer["withheld"] >= 2
    office.sync()
    assert office.rows("person")[person[0].row_id]["id_number"] == "110105199003071234"
    assert hub.service.stats()["faults"] == 0
    # Nor does a USB bundle from the read-only laptop carry the masked copies (only its own changes).
    peer = Store(raw.parent / "usb-peer.sqlite", user="peer")
    try:
        identity.trust_device(peer, identity.identity(r.store).card())
        identity.trust_device(r.store, identity.identity(peer).card())
        exported = exchange.export_bundle(r.store, for_device=identity.identity(peer).device_id)
        assert office.store.node_id not in exported.manifest["ranges"]
        exchange.import_bundle(peer, exchange.read_bundle(peer, exported.data))
        assert peer.db.execute_sql("select count(*) from oplog where node = ?",
                                   (office.store.node_id,)).fetchone()[0] == 0
    finally:
        peer.close()
    # A new office change reaches the read-only laptop masked too; the office's own laptop unmasked.
    office.write(Person, [{"id": person[0].row_id, "phone": "13700007777"}])
    office.sync()
    r.sync()
    assert r.rows("person")[person[0].row_id]["phone"] == "137****7777"


# -- the office's review queue --------------------------------------------------------------------------

def make_review_items(world) -> dict:
    """One of each: an edit after a move (two), an op id with other content, a conflict."""
    office, a, g1, g2 = world["office"], world["a"], world["g1"], world["g2"]
    moved = [add_household(a, g1, number=f"1-{n}")[0] for n in (5, 6)]
    clash, _persons = add_household(a, g1, number="1-7")
    a.sync()
    office.sync()
    office.write(Household, [{"id": hh, "grid": g2} for hh in moved])
    office.sync()
    a.write(Household, [{"id": hh, "notes": "已搬走？"} for hh in moved])  # offline, after the move
    office.write(Household, [{"id": clash, "address": "幸福路1号"}])
    a.write(Household, [{"id": clash, "address": "幸福路2号"}])
    assert a.sync().review == 2
    office.sync()
    # A copy of one of the laptop's ops with other content (a forged or garbled relay).
    row = list(a.store.db.execute_sql(f"select {oplog._OP_COLUMNS} from oplog where node = ? and tbl = 'household' "
                                      "order by counter limit 1", (a.store.node_id,)).fetchone())
    row[4] = '{"notes":"伪造的"}'
    link = hub_client.link(a.store)
    transport = hub_client.Transport(a.store, link["url"], link["cert_pem"])
    try:
        assert transport.call("/api/push", {"ops": [row]})["faults"] == 1
    finally:
        transport.close()
    return {"moved": moved, "clash": clash, "fault": f"{row[0]}:{row[1]}"}


def test_review_queue_decisions(world):
    office, a, hub = world["office"], world["a"], world["hub"]
    made = make_review_items(world)
    queue = hub_client.review_queue(office.store)
    by_kind = {}
    for item in queue.items:
        by_kind.setdefault(item.kind, []).append(item)
    assert queue.counts == {"left_scope": 2, "fault": 1, "conflict": 1}
    assert {i.row_id for i in by_kind["left_scope"]} == set(made["moved"])
    left = sorted(by_kind["left_scope"], key=lambda i: i.row_id)
    assert all(i.device_name.startswith("zhang") and i.fields == ["notes"] and i.grids == ["二网格"] for i in left)
    assert left[0].label  # named as the office's database names the household
    assert by_kind["fault"][0].key == made["fault"] and by_kind["conflict"][0].row_id == made["clash"]
    # Only the office's administrator computer sees or decides the queue.
    with pytest.raises(hub_client.HubRefused) as refused:
        hub_client.review_queue(a.store)
    assert refused.value.status == 403
    # Keep one edit, undo the other: the undo is a change of the office's that supersedes it.
    keep, undo = left
    hub_client.decide_review(office.store, keep, "keep")
    hub_client.decide_review(office.store, undo, "undo")
    rows = office.rows("household")
    assert rows[keep.row_id]["notes"] == "已搬走？" and rows[undo.row_id]["notes"] is None
    # The fault is marked as seen: it stays on record (kept for ever), off the queue.
    hub_client.decide_review(office.store, by_kind["fault"][0], "seen")
    assert hub.service.stats()["faults"] == 1
    # The conflict is settled with the newest value here and sent; the laptop gets the resolution.
    hub_client.decide_review(office.store, by_kind["conflict"][0], "newest")
    assert office.store.db.execute_sql("select count(*) from conflict").fetchone()[0] == 0
    a.sync()
    assert a.store.db.execute_sql("select count(*) from conflict").fetchone()[0] == 0
    assert a.rows("household")[made["clash"]]["address"] == office.rows("household")[made["clash"]]["address"]
    after = hub_client.review_queue(office.store)
    assert after.items == [] and after.counts == {"left_scope": 0, "fault": 0, "conflict": 0}
    # Each decision taken at the hub is in the office's audit trail (which travels to the hub).
    trail = office.store.db.execute_sql("select detail from audit_entry where action = 'hub_review'").fetchall()
    assert sorted(d.split(":")[0] for (d,) in trail) == ["fault", "left_scope", "left_scope"]
    # Decided already (by another office computer, or twice): a clear refusal, nothing changes.
    with pytest.raises(hub_client.HubRefused) as again:
        hub_client.decide_review(office.store, keep, "keep")
    assert again.value.status == 404


def test_review_undo_waits_for_the_undoing_change(world):
    """The hub closes an undone item only once it holds the office's undoing change."""
    office, hub = world["office"], world["hub"]
    make_review_items(world)
    item = next(i for i in hub_client.review_queue(office.store).items if i.kind == "left_scope")
    from hub import review as rv
    from hub.service import HubError

    admin = hub.service.device(identity.identity(office.store).device_id)
    with pytest.raises(HubError) as refused:
        rv.decide(hub.service, admin, kind="left_scope", key=item.key, decision="undo")
    assert refused.value.status == 409
    assert hub.service.stats()["review"] == 2


def test_enrol_command_names_the_role(world, hub_cert, laptops, capsys):
    """griddesk-hub enrol --role readonly: the laptop that enrols with the code receives masked numbers."""
    from db.models.register import Membership, Person
    from hub import cli

    hub, office, g1 = world["hub"], world["office"], world["g1"]
    tls = ["--tls", str(hub_cert[0].parent), "--address", hub.address.replace("https://", "")]
    assert cli.main(["--data", hub.storage.url, "enrol", "--grid", "一网格", "--role", "readonly", "--name",
                     "查看用电脑", *tls]) == 0
    text = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("griddesk-hub://"))
    hh = office.write(Household, [{"grid": g1, "number": "1-3"}])[0].row_id
    person = office.write(Person, [{"name": "赵敏", "phone": "13612345678"}])[0].row_id
    office.write(Membership, [{"household": hh, "person": person, "relation": "户主"}])
    office.sync()
    viewer = laptops("viewer")
    hub_client.enrol(viewer.store, text)
    viewer.sync()
    assert viewer.rows("person")[person]["phone"] == "136****5678"
    assert cli.main(["--data", hub.storage.url, "devices"]) == 0
    out = capsys.readouterr().out
    assert "readonly" in out and "admin" in out
    from hub.app import status_page

    page = status_page(hub.service)  # (in Chinese: the command set the language)
    assert "<th>角色</th>" in page and "只读" in page and "社区管理员" in page
    # A grid worker's code for every grid is refused with a clear message, and no code is made.
    codes = len(hub.service.codes())
    assert cli.main(["--data", hub.storage.url, "enrol", "--all-grids", "--role", "grid", *tls]) == 2
    assert "网格员" in capsys.readouterr().err and len(hub.service.codes()) == codes
