"""Changes that prove who made them (issue 18 part 4): op chains, signed heads, verified by every importer."""

from __future__ import annotations

import orjson
import pytest

from db import opfields, oplog
from db.check import run_check
from db.models.register import Grid, Household
from db.sync import chains, exchange, hub_client
from db.sync.identity import SyncError, fingerprint, identity
from tests.hub_helpers import (
    add_household,
    make_world,
)
from tests.sync_helpers import content, make_replicas


def _grids(store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        oplog.write(store, Grid, [{"name": f"{i + 1}网格", "code": f"G{i + 1}"}])


def _move(src, dst, **kw):
    bundle = exchange.read_bundle(dst, exchange.export_bundle(src, for_device=identity(dst).device_id, **kw).data)
    return exchange.import_bundle(dst, bundle)


@pytest.fixture
def trio(tmp_path):
    """B writes; C relays B's changes to A; A already knows B (it imported from B once)."""
    a, b, c = make_replicas(tmp_path, ["a", "b", "c"])
    _grids(b, 3)
    _move(b, a)
    _grids(b, 4, start=3)
    _move(b, c)
    yield a, b, c
    for s in (a, b, c):
        s.close()


def _stored_digests(store, node):
    """Every op's chain digest recomputed from the log, and whether each names its predecessor's."""
    rows = store.db.execute_sql(f"select {chains._COLS} from oplog where node = ? order by counter", (node,)).fetchall()
    prev = chains.ZERO
    for row in rows:
        assert bytes(row[10]) == prev
        prev = chains._row_digest(store.db, row, prev)
    return prev


def test_every_op_names_its_predecessor_and_heads_are_signed(trio):
    a, b, c = trio
    for store in (a, b, c):
        _stored_digests(store, b.node_id)
    head = c.db.execute_sql("select counter, digest, device_id from sync_chain_head where node = ? "
                            "order by counter desc limit 1", (b.node_id,)).fetchone()
    assert head[0] == 7 and head[2] == identity(b).device_id
    assert bytes.fromhex(head[1]) == _stored_digests(c, b.node_id)


def test_an_honest_relay_passes_and_keeps_the_proof(trio):
    a, b, c = trio
    summary = _move(c, a)
    assert summary.new_ops == 4
    _stored_digests(a, b.node_id)
    assert a.db.execute_sql("select max(counter) from sync_chain_head where node = ?", (b.node_id,)).fetchone()[0] == 7
    assert chains.list_notes(a) == []
    # A passes the proof on again: a fresh database gets B's history from A, proven.
    d = make_replicas(a.path.parent / "d", ["d"])[0]
    from db.sync.identity import trust_device

    trust_device(d, identity(a).card())
    trust_device(a, identity(d).card())
    bundle = exchange.read_bundle(d, exchange.export_bundle(a, for_device=identity(d).device_id, full=True).data)
    assert bundle.proof.proven == bundle.proof.proven and chains.list_notes(d) == []
    exchange.import_bundle(d, bundle)
    _stored_digests(d, b.node_id)
    d.close()


def test_a_relayed_bundle_with_one_altered_op_is_refused_whole(trio):
    a, b, c = trio
    # The relay changes one of B's changes in its own log, then makes a bundle for A (which it signs
    # as a whole, as any trusted laptop can).
    c.db.execute_sql("update oplog set fields = ? where node = ? and counter = 5",
                     (orjson.dumps({"name": "假网格", "code": "G5", "deleted": 0}).decode(), b.node_id))
    before = content(a)
    data = exchange.export_bundle(c, for_device=identity(a).device_id).data
    with pytest.raises(SyncError) as exc:
        exchange.read_bundle(a, data)
    assert fingerprint(identity(b).device_id) in str(exc.value)
    assert f"{b.node_id}:5" in str(exc.value) and "整批" in str(exc.value)
    assert content(a) == before


def test_an_altered_user_is_refused_too(trio):
    a, b, c = trio
    c.db.execute_sql("update oplog set user = '李四' where node = ? and counter = 7", (b.node_id,))
    with pytest.raises(SyncError, match=fingerprint(identity(b).device_id)):
        exchange.read_bundle(a, exchange.export_bundle(c, for_device=identity(a).device_id).data)


def _invent(relay, victim_node: str, counter: int) -> None:
    """An op made up by the relay under another device's node, chained correctly onto its history."""
    prev = chains.tip(relay.db, victim_node, counter - 1)
    relay.db.execute_sql(
        f"insert into oplog ({oplog._OP_COLUMNS}, prev) values (?,?,?,?,?,?,?,?,?,?,?)",
        (victim_node, counter, "grid", "0190ffff-0000-7000-8000-000000000001",
         orjson.dumps({"name": "编造的网格", "code": "G99", "deleted": 0}).decode(), "{}",
         f"{1800000000000000:016d}-000000-{victim_node}", "b", 15, "edit", prev))


def test_an_op_invented_under_another_devices_id_is_refused_whole(trio):
    a, b, c = trio
    _invent(c, b.node_id, 8)
    before = content(a)
    data = exchange.export_bundle(c, for_device=identity(a).device_id).data
    with pytest.raises(SyncError) as exc:
        exchange.read_bundle(a, data)
    assert f"{b.node_id}:8" in str(exc.value) and fingerprint(identity(b).device_id) in str(exc.value)
    assert content(a) == before


def test_a_head_signed_by_the_relay_for_another_devices_changes_is_refused(trio):
    a, b, c = trio
    _invent(c, b.node_id, 8)
    forged = chains.sign_head(identity(c), b.node_id, 8, chains.tip(c.db, b.node_id, 8))
    chains.keep_heads(c, [forged])
    with pytest.raises(SyncError) as exc:
        exchange.read_bundle(a, exchange.export_bundle(c, for_device=identity(a).device_id).data)
    assert fingerprint(identity(b).device_id) in str(exc.value) and fingerprint(identity(c).device_id) in str(exc.value)


def _links_of(store, node, counters) -> dict[int, bytes]:
    """The links (content digests) of ops held here, as the hub serves them for ops not sent."""
    out = {}
    for counter in counters:
        row = store.db.execute_sql(f"select {chains._COLS} from oplog where node = ? and counter = ?",
                                   (node, counter)).fetchone()
        out[counter] = chains.content_digest(row[0], row[1], row[2], row[3], opfields.loads(store.db, row[4]),
                                             orjson.loads(row[5]), row[6], row[7], row[8], row[9])
    return out


def _hole(relay, node, counters, *, keep_links: bool) -> None:
    """The relay does not hold these changes (e.g. it pulled only its grids from the hub); with
    keep_links it holds their links, as the hub gives them with a pull."""
    if keep_links:
        chains.keep_links(relay, {node: _links_of(relay, node, counters)})
    relay.db.execute_sql(f"delete from oplog where node = ? and counter in ({','.join('?' * len(counters))})",
                         (node, *counters))


def test_a_relay_carries_the_links_across_a_hole_and_the_importer_proves_the_ops(trio):
    a, b, c = trio
    _hole(c, b.node_id, [5, 6], keep_links=True)
    exported = exchange.export_bundle(c, for_device=identity(a).device_id)
    assert set(chains.parse_links(exported.manifest["links"])[b.node_id]) == {5, 6}
    bundle = exchange.read_bundle(a, exported.data)
    assert bundle.proof.proven == 5 and bundle.proof.unproven == 0  # 1-4 (4 across the hole, by links), 7
    summary = exchange.import_bundle(a, bundle)
    assert summary.new_ops == 2 and chains.list_notes(a) == []
    # A keeps the links and passes them on: a fresh database that knows B proves 4 again.
    (d,) = make_replicas(a.path.parent / "d", ["d"])
    from db.sync.identity import trust_device

    trust_device(d, identity(a).card())
    trust_device(a, identity(d).card())
    trust_device(d, identity(b).card())
    bundle = exchange.read_bundle(d, exchange.export_bundle(a, for_device=identity(d).device_id, full=True).data)
    assert bundle.proof.proven >= 5 and chains.list_notes(d) == []
    d.close()


def test_an_op_made_up_inside_a_hole_is_refused(trio):
    a, b, c = trio
    # The relay holds 4 and 7 and the links of 5 and 6; it puts a change of its own making at 5.
    _hole(c, b.node_id, [5, 6], keep_links=True)
    _invent(c, b.node_id, 5)
    before = content(a)
    with pytest.raises(SyncError) as exc:
        exchange.read_bundle(a, exchange.export_bundle(c, for_device=identity(a).device_id).data)
    assert fingerprint(identity(b).device_id) in str(exc.value) and "整批" in str(exc.value)
    assert content(a) == before
    # Links that do not fit (made up as well) are refused the same way.
    c.db.execute_sql("delete from oplog where node = ? and counter = 5", (b.node_id,))
    c.db.execute_sql("delete from sync_chain_link where node = ?", (b.node_id,))
    chains.keep_links(c, {b.node_id: {5: _links_of(b, b.node_id, [5])[5], 6: bytes(32)}})
    with pytest.raises(SyncError, match=f"{b.node_id}:4"):
        exchange.read_bundle(a, exchange.export_bundle(c, for_device=identity(a).device_id).data)
    assert content(a) == before


def test_a_hole_without_links_is_refused_naming_the_device(trio):
    a, b, c = trio
    _hole(c, b.node_id, [5, 6], keep_links=False)
    with pytest.raises(SyncError) as exc:
        exchange.read_bundle(a, exchange.export_bundle(c, for_device=identity(a).device_id).data)
    assert f"{b.node_id}:4" in str(exc.value) and fingerprint(identity(b).device_id) in str(exc.value)
    assert "缺口" in str(exc.value)


def _rechain(store, node) -> None:
    """Compute prev again for every op of `node` (after a test changed their content)."""
    top = store.db.execute_sql("select max(counter) from oplog where node = ?", (node,)).fetchone()[0]
    prev = chains.ZERO
    for counter in range(1, top + 1):
        store.db.execute_sql("update oplog set prev = ? where node = ? and counter = ?", (prev, node, counter))
        prev = chains.tip(store.db, node, counter)


def test_a_hole_in_an_older_versions_history_is_detected_and_reported(tmp_path):
    """Ops written before links (schema < 18) have none: a hole after them is kept and noted as before."""
    a, b, c = make_replicas(tmp_path, ["a", "b", "c"])
    try:
        _grids(b, 3)
        # B's changes as an older version wrote them (schema 15, chained the old way).
        b.db.execute_sql("update oplog set schema = 15 where node = ?", (b.node_id,))
        b.db.execute_sql("delete from sync_chain_head where node = ?", (b.node_id,))
        _rechain(b, b.node_id)
        _move(b, a)
        _grids(b, 4, start=3)
        b.db.execute_sql("update oplog set schema = 15 where node = ?", (b.node_id,))
        b.db.execute_sql("delete from sync_chain_head where node = ? and counter > 3", (b.node_id,))
        _rechain(b, b.node_id)
        _move(b, c)
        c.db.execute_sql("delete from oplog where node = ? and counter in (5, 6)", (b.node_id,))
        summary = _move(c, a)
        assert summary.new_ops == 2
        notes = chains.list_notes(a)
        assert [(n["node"], n["first"], n["kind"]) for n in notes] == [(b.node_id, 5, "hole")]
        report = run_check(a)
        assert any("缺口" in line for line in report.lines), report.lines
    finally:
        for s in (a, b, c):
            s.close()


def test_bundles_of_an_older_version_are_accepted_as_unproven(trio):
    a, b, c = trio
    # An older version has no chains: its ops carry no prev and its bundles no heads.
    old = make_replicas(a.path.parent / "old", ["old"])[0]
    from db.sync.identity import trust_device

    trust_device(old, identity(a).card())
    trust_device(a, identity(old).card())
    _grids(old, 2, start=20)
    old.db.execute_sql("update oplog set prev = null, schema = 14")
    old.db.execute_sql("delete from sync_chain_head")
    exported = exchange.export_bundle(old, for_device=identity(a).device_id)
    manifest, rows = exported.manifest, None
    assert manifest["heads"] == []  # nothing to sign without chains
    bundle = exchange.read_bundle(a, exported.data)
    assert bundle.proof.unproven == 2
    exchange.import_bundle(a, bundle)
    assert [(n["node"], n["first"], n["last"], n["kind"]) for n in chains.list_notes(a)] == [
        (old.node_id, 1, 2, "unproven")]
    del rows
    old.close()


def test_the_migration_chains_the_existing_log(tmp_path):
    from db import migrations

    (store,) = make_replicas(tmp_path, ["m"])
    _grids(store, 5)
    expected = _stored_digests(store, store.node_id)
    store.db.execute_sql("update oplog set prev = null")
    assert chains.fill_log(store.db) == 5
    assert _stored_digests(store, store.node_id) == expected
    assert migrations.MIGRATIONS[15].__name__ == "_v15"
    store.close()


# -- the hub --------------------------------------------------------------------------------------

@pytest.fixture
def office_world(hub, hub_cert, laptops):
    return make_world(hub, hub_cert[2], laptops)


def _push(laptop, rows, heads):
    link = hub_client.link(laptop.store)
    t = hub_client.Transport(laptop.store, link["url"], link["cert_pem"])
    hello = t.call("/api/hello", {"nodes": [], "cursor": None})
    try:
        return t.call("/api/push", {"epoch": hello["epoch"], "ops": rows, "heads": heads})
    finally:
        t.close()


def _rows(store, node, above=0):
    return [list(r) for r in opfields.wire_rows(store.db, store.db.execute_sql(
        f"select {oplog._OP_COLUMNS}, lower(hex(prev)) from oplog where node = ? and counter > ? order by counter",
        (node, above)))]


def test_hub_keeps_and_passes_on_the_proof(office_world):
    office, a, hub = office_world["office"], office_world["a"], office_world["hub"]
    add_household(a, office_world["g1"])
    a.sync()
    office.sync()
    assert office.ids("household")
    _stored_digests(office.store, a.store.node_id)
    top = office.store.db.execute_sql("select max(counter) from oplog where node = ?", (a.store.node_id,)).fetchone()[0]
    assert office.store.db.execute_sql("select max(counter) from sync_chain_head where node = ?",
                                       (a.store.node_id,)).fetchone()[0] == top
    with hub.service.storage.read() as conn:
        assert hub.service.storage.fetchone(conn, "select count(*) from hub_op where prev is null")[0] == 0


def test_hub_refuses_a_push_with_an_altered_op_whole(office_world):
    a, hub = office_world["a"], office_world["hub"]
    add_household(a, office_world["g1"], number="2-201")
    acked = hub_client.link(a.store)["acked"].get(a.store.node_id, 0)
    rows = _rows(a.store, a.store.node_id, acked)
    heads = chains.heads_for(a.store, {a.store.node_id: [rows[0][1], rows[-1][1]]})
    fields = orjson.loads(rows[0][4])
    fields["address"] = "篡改路1号"
    rows[0][4] = orjson.dumps(fields).decode()
    before = hub.service.stats()["ops"]
    with pytest.raises(hub_client.HubRefused) as exc:
        _push(a, rows, heads)
    assert exc.value.status == 422 and fingerprint(identity(a.store).device_id) in str(exc.value)
    assert hub.service.stats()["ops"] == before
    a.sync()  # the honest push of the same changes passes
    assert hub.service.stats()["ops"] == before + len(rows)


def test_hub_refuses_an_op_invented_under_another_devices_id(office_world):
    office, a, hub = office_world["office"], office_world["a"], office_world["hub"]
    node = office.store.node_id
    top = office.store.db.execute_sql("select max(counter) from oplog where node = ?", (node,)).fetchone()[0]
    prev = chains.tip(office.store.db, node, top)
    invented = [node, top + 1, "household", "0190ffff-0000-7000-8000-000000000002",
                orjson.dumps({"grid_id": office_world["g1"], "number": "9-9", "deleted": 0}).decode(), "{}",
                f"{1800000000000000:016d}-000000-{node}", "office", 15, "edit", prev.hex()]
    before = hub.service.stats()["ops"]
    for heads in ([], [chains.sign_head(identity(a.store), node, top + 1,
                                        chains.op_digest(hub_client._parse_item(["op", *invented]), prev)).as_list()]):
        with pytest.raises(hub_client.HubRefused) as exc:
            _push(a, [invented], heads)
        assert exc.value.status == 422 and fingerprint(identity(office.store).device_id) in str(exc.value)
    assert hub.service.stats()["ops"] == before


def test_hub_passes_an_honest_relay_of_usb_changes(office_world, tmp_path):
    office, a = office_world["office"], office_world["a"]
    # A colleague's laptop that is not enrolled hands its changes to A by USB stick; A pushes them.
    (usb,) = make_replicas(tmp_path / "usb", ["usb"])
    from db.sync.identity import trust_device

    trust_device(usb, identity(a.store).card())
    trust_device(a.store, identity(usb).card())
    _move(a.store, usb, full=True)  # the grid, and the office's proof of it, relayed by A
    oplog.write(usb, Household, [{"grid": office_world["g1"], "number": "3-301"}])
    _move(usb, a.store)
    result = a.sync()
    assert result.pushed >= 1
    office.sync()
    assert any(r["number"] == "3-301" for r in office.rows("household").values())
    usb.close()


@pytest.mark.parametrize("altered", [None, 2, 5, 11])
def test_origins_are_checked_batch_by_batch_in_the_streaming_first_pass(tmp_path, monkeypatch, altered):
    """The import's first pass reads a bundle in batches: each node's ops are checked up to the last
    signed head of a batch and the rest waits for the next one (chains.StreamVerifier). Batches of 2
    ops and heads every 3: an op altered anywhere, early, in the middle or in the last batch, refuses
    the bundle; an honest relay is proven op by op across the batch boundaries."""
    monkeypatch.setattr(chains, "CHECKPOINT", 3)
    monkeypatch.setattr(exchange, "OPS_PER_BATCH", 2)
    a, b, c = make_replicas(tmp_path, ["a", "b", "c"])
    try:
        _grids(b, 1)
        _move(b, a)  # A knows B
        _grids(b, 11, start=1)
        _move(b, c)
        heads = [r[0] for r in c.db.execute_sql("select counter from sync_chain_head where node = ? order by counter",
                                                (b.node_id,))]
        assert {3, 6, 9, 12} <= set(heads)
        if altered is not None:
            c.db.execute_sql("update oplog set fields = ? where node = ? and counter = ?",
                             (orjson.dumps({"name": "假网格", "code": "G0", "deleted": 0}).decode(), b.node_id,
                              altered))
        before = content(a)
        data = exchange.export_bundle(c, for_device=identity(a).device_id, full=True).data
        if altered is None:
            bundle = exchange.read_bundle(a, data)
            assert bundle.proof.proven >= 11 and chains.list_notes(a) == []
            exchange.import_bundle(a, bundle)
            _stored_digests(a, b.node_id)
        else:
            with pytest.raises(SyncError) as exc:
                exchange.read_bundle(a, data)
            assert f"{b.node_id}:{altered}" in str(exc.value) or fingerprint(identity(b).device_id) in str(exc.value)
            assert content(a) == before
    finally:
        for s in (a, b, c):
            s.close()
