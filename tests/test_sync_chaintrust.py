# ruff: noqa: F811 - the fixtures imported from tests.hub_helpers are used as arguments
"""Origin proofs, the gaps closed (issue 18 part 4): a laptop checks what it pulls from the hub like a
bundle (heads and links served with every page and snapshot part); a real hub on loopback, both backends."""

from __future__ import annotations

import orjson
import pytest

from db.sync import chains
from db.sync.identity import SyncError, fingerprint, identity
from tests.hub_helpers import (  # noqa: F401 - fixtures
    add_household,
    hub,
    hub_cert,
    hub_data,
    laptops,
    office_with_grids,
)
from tests.sync_helpers import content


@pytest.fixture
def world(hub, hub_cert, laptops):
    """The office (every grid) and 张 (grid 1 only: the office's changes reach it with holes)."""
    pin = hub_cert[2]
    office = laptops("office").enrol(hub, pin, None)
    g1, g2 = office_with_grids(office)
    office.sync()
    a = laptops("zhang").enrol(hub, pin, [g1])
    a.sync()
    return {"hub": hub, "office": office, "a": a, "g1": g1, "g2": g2, "pin": pin, "laptops": laptops}


def _hub_sql(hub, sql, params=()):
    s = hub.service.storage
    with s.write() as conn:
        s.execute(conn, sql, params)


def _last_household_op(hub, node):
    s = hub.service.storage
    with s.read() as conn:
        return s.fetchone(conn, "select counter, row_id, fields from hub_op where node = ? and tbl = 'household' "
                                "order by counter desc limit 1", (node,))


def test_a_scoped_pull_is_proven_across_the_other_grids_changes(world):
    office, a = world["office"], world["a"]
    add_household(office, world["g1"], number="1-102")
    add_household(office, world["g2"], number="2-201")  # a hole for 张 up to the office's signed head
    office.sync()
    a.sync()
    node = office.store.node_id
    assert any(r["number"] == "1-102" for r in a.rows("household").values())
    assert not any(r["number"] == "2-201" for r in a.rows("household").values())
    # 张 keeps the links of the changes it was not sent, to pass them on.
    held = {c for (c,) in a.store.db.execute_sql("select counter from oplog where node = ?", (node,))}
    linked = {first + i for first, data in a.store.db.execute_sql(
        "select first, data from sync_chain_link where node = ?", (node,)) for i in range(len(data) // 32)}
    assert linked and not (held & linked)


@pytest.mark.parametrize("how", ["altered", "invented"])
def test_a_laptop_refuses_an_op_the_hub_altered_or_made_up(world, how):
    office, a, hub, g1 = world["office"], world["a"], world["hub"], world["g1"]
    add_household(office, world["g2"], number="2-201")
    hh, _persons = add_household(office, g1, number="1-103")
    office.sync()
    node = office.store.node_id
    counter, row_id, fields = _last_household_op(hub, node)
    if how == "altered":
        # The hub's store is changed behind the office's back: one household op's address.
        changed = orjson.loads(fields)
        changed["address"] = "篡改路9号"
        _hub_sql(hub, "update hub_op set fields = ? where node = ? and counter = ?",
                 (orjson.dumps(changed).decode(), node, counter))
    else:
        # The hub makes up an op under the office's id, chained correctly onto its history.
        s = hub.service.storage
        with s.read() as conn:
            top = int(s.fetchone(conn, "select max(counter) from hub_op where node = ?", (node,))[0])
            seq = int(s.meta(conn)["committed_seq"])
        prev = chains.tip(office.store.db, node, top)
        row = [node, top + 1, "household", hh, orjson.dumps({"number": "9-999"}).decode(), "{}",
               f"{1900000000000000:016d}-000000-{node}", "office", 18, "edit"]
        _hub_sql(hub, "insert into hub_op (node, counter, tbl, row_id, fields, supersedes, hlc, usr, schema, kind, "
                      "device, received_at, prev) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 (*row, identity(office.store).device_id, 0, prev.hex()))
        _hub_sql(hub, "insert into hub_feed (seq, grid, kind, tbl, row_id, node, counter) values (?,?,?,?,?,?,?)",
                 (seq + 1, g1, "op", "household", hh, node, top + 1))
        _hub_sql(hub, "update hub_meta set value = ? where key = 'committed_seq'", (str(seq + 1),))
    before = content(a.store)
    with pytest.raises(SyncError) as exc:
        a.sync()
    assert fingerprint(identity(office.store).device_id) in str(exc.value), str(exc.value)
    assert "整批" in str(exc.value)
    assert content(a.store) == before
    if how == "altered":  # put back as the office wrote it: the same pull passes
        _hub_sql(hub, "update hub_op set fields = ? where node = ? and counter = ?", (fields, node, counter))
        a.sync()
        assert any(r["number"] == "1-103" for r in a.rows("household").values())


def test_a_first_sync_from_the_snapshot_is_checked_too(world):
    office, hub, g1 = world["office"], world["hub"], world["g1"]
    add_household(office, world["g2"], number="2-202")
    add_household(office, g1, number="1-104")
    office.sync()
    node = office.store.node_id
    counter, _row_id, fields = _last_household_op(hub, node)
    changed = orjson.loads(fields)
    changed["address"] = "篡改路10号"
    _hub_sql(hub, "update hub_op set fields = ? where node = ? and counter = ?",
             (orjson.dumps(changed).decode(), node, counter))
    b = world["laptops"]("li").enrol(hub, world["pin"], [g1])
    with pytest.raises(SyncError, match=fingerprint(identity(office.store).device_id)):
        b.sync()
    assert not b.ids("household")
    _hub_sql(hub, "update hub_op set fields = ? where node = ? and counter = ?", (fields, node, counter))
    snapshots = hub.server.config.app.state.snapshots
    assert snapshots._current  # the refused first read came from the scope snapshot
    snapshots._current.clear()  # built again from the store as the office wrote it
    b.sync()
    assert any(r["number"] == "1-104" for r in b.rows("household").values())


# -- holes and forks the hub sees ------------------------------------------------------------------

def test_the_hub_records_a_hole_in_a_devices_history_and_shows_it(world, hub_data, capsys):
    from db.models.register import Household
    from db.sync import exchange
    from db.sync.identity import trust_device
    from hub import cli
    from hub.app import status_page
    from tests.test_sync_chains import _hole

    hub, a, g1 = world["hub"], world["a"], world["g1"]
    li = world["laptops"]("li").enrol(hub, world["pin"], [g1])
    li.sync()
    for i in range(6):
        li.write(Household, [{"grid": g1, "number": f"7-{i}"}])
    # 李 hands its changes to 张 by USB stick; 张 keeps only some of them (and the links of the rest).
    trust_device(li.store, identity(a.store).card())
    trust_device(a.store, identity(li.store).card())
    bundle = exchange.read_bundle(a.store, exchange.export_bundle(li.store, for_device=identity(a.store).device_id).data)
    exchange.import_bundle(a.store, bundle)
    node = li.store.node_id
    top = a.store.db.execute_sql("select max(counter) from oplog where node = ?", (node,)).fetchone()[0]
    _hole(a.store, node, [top - 3, top - 2], keep_links=True)
    a.sync()  # pushes 李's changes past the hole, with the links: proven, and the hole recorded
    devices = {d["device_id"]: d for d in hub.service.devices()}
    li_id = identity(li.store).device_id
    assert devices[li_id]["holes"] == 1 and devices[li_id]["forks"] == 0
    (note,) = hub.service.chain_notes()
    assert (note["node"], note["first"], note["kind"], note["missing"]) == (node, top - 3, "hole", 2)
    assert note["relay"] == identity(a.store).device_id
    page = status_page(hub.service)
    assert "各设备历史中的缺口与分叉" in page and "中心仍缺 2 条更改" in page
    capsys.readouterr()
    assert cli.main(["--data", hub_data, "devices"]) == 0
    assert "历史：缺口 1 处，分叉 0 处" in capsys.readouterr().out
    assert cli.main(["--data", hub_data, "stats"]) == 0
    assert "未补齐的缺口 1 处" in capsys.readouterr().out
    # 李 syncs itself: the hub holds the missing changes now; the hole is shown as filled.
    li.sync()
    assert {d["device_id"]: d for d in hub.service.devices()}[li_id]["holes"] == 0
    assert hub.service.chain_notes()[0]["missing"] == 0 and "现已补齐" in status_page(hub.service)


# -- no more trust on first sight: device keys come vouched for ------------------------------------

def _stranger_relayed(tmp_path):
    """X's changes reach relay C (which then forgets X: no trust, no voucher); D trusts only C."""
    from db.models.register import Grid
    from db.sync import exchange
    from db.sync.identity import trust_device
    from tests.sync_helpers import make_replicas

    c, d, x = make_replicas(tmp_path, ["c", "d", "x"])
    d.db.execute_sql("delete from sync_trusted_device where device_id = ?", (identity(x).device_id,))
    from db import oplog

    oplog.write(x, Grid, [{"name": "九网格", "code": "G9"}])
    exchange.import_bundle(c, exchange.read_bundle(c, exchange.export_bundle(x, for_device=identity(c).device_id).data))
    trust_device(d, identity(c).card())
    return c, d, x


def test_a_relay_vouches_for_the_keys_it_trusts(tmp_path):
    from db.sync import exchange

    c, d, x = _stranger_relayed(tmp_path)
    try:
        exported = exchange.export_bundle(c, for_device=identity(d).device_id)
        vouchers = [chains.Voucher.from_list(v) for v in exported.manifest["vouchers"]]
        assert [(v.device_id, v.by) for v in vouchers] == [(identity(x).device_id, identity(c).device_id)]
        exchange.import_bundle(d, exchange.read_bundle(d, exported.data))
        assert d.db.execute_sql("select by from sync_chain_voucher where device_id = ?",
                                (identity(x).device_id,)).fetchall() == [(identity(c).device_id,)]
    finally:
        for s in (c, d, x):
            s.close()


def test_changes_of_a_device_no_one_vouches_for_are_refused(tmp_path, monkeypatch):
    from db.sync import exchange

    c, d, x = _stranger_relayed(tmp_path)
    try:
        c.db.execute_sql("delete from sync_trusted_device where device_id = ?", (identity(x).device_id,))
        before = content(d)
        data = exchange.export_bundle(c, for_device=identity(d).device_id).data
        with pytest.raises(SyncError) as exc:
            exchange.read_bundle(d, data)
        assert fingerprint(identity(x).device_id) in str(exc.value) and "担保" in str(exc.value)
        assert content(d) == before
        # A bundle of a version before vouchers carries none: the key is trusted on first sight, noted.
        monkeypatch.setattr(chains, "vouchers_for", lambda store, heads: None)
        exchange.import_bundle(d, exchange.read_bundle(d, exchange.export_bundle(
            c, for_device=identity(d).device_id).data))
        assert [n["kind"] for n in chains.list_notes(d)] == ["unvouched"]
    finally:
        for s in (c, d, x):
            s.close()


def test_the_hub_vouches_for_the_devices_it_enrolled(world):
    a, office = world["a"], world["office"]
    office_id = identity(office.store).device_id
    assert a.store.db.execute_sql("select by from sync_chain_voucher where device_id = ?",
                                  (office_id,)).fetchall() == [("hub",)]
    assert a.store.db.execute_sql("select count(*) from sync_trusted_device where device_id = ?",
                                  (office_id,)).fetchone()[0] == 0  # never met by USB


def test_a_voucher_not_signed_by_the_pinned_hub_certificate_is_refused(world, tmp_path):
    from hub.tls import make_certificate

    hub, g1 = world["hub"], world["g1"]
    other_cert, other_key, _pin = make_certificate(tmp_path / "other", ["127.0.0.1"])
    from hub.snapshot import Snapshots

    hub.service.signer = Snapshots(hub.service, other_key).sign  # a key the laptops did not pin
    hub.service._signed.clear()
    hub.server.config.app.state.snapshots._current.clear()
    b = world["laptops"]("li").enrol(hub, world["pin"], [g1])
    with pytest.raises(SyncError) as exc:
        b.sync()
    assert fingerprint(identity(world["office"].store).device_id) in str(exc.value) and "担保" in str(exc.value)
    assert not b.ids("grid")


def test_the_hub_refuses_changes_of_a_device_no_enrolled_one_vouches_for(world, tmp_path):
    from db import oplog
    from db.models.register import Household
    from db.sync import exchange, hub_client
    from db.sync.identity import trust_device
    from tests.sync_helpers import make_replicas
    from tests.test_sync_chains import _rows

    a, hub, g1 = world["a"], world["hub"], world["g1"]
    (usb,) = make_replicas(tmp_path / "usb", ["usb"])
    try:
        trust_device(usb, identity(a.store).card())
        trust_device(a.store, identity(usb).card())
        exchange.import_bundle(usb, exchange.read_bundle(usb, exchange.export_bundle(
            a.store, for_device=identity(usb).device_id, full=True).data))
        oplog.write(usb, Household, [{"grid": g1, "number": "3-302"}])
        exchange.import_bundle(a.store, exchange.read_bundle(a.store, exchange.export_bundle(
            usb, for_device=identity(a.store).device_id).data))
        rows = _rows(a.store, usb.node_id)
        heads = chains.heads_for(a.store, {usb.node_id: [rows[0][1], rows[-1][1]]})
        link = hub_client.link(a.store)
        t = hub_client.Transport(a.store, link["url"], link["cert_pem"])
        try:
            hello = t.call("/api/hello", {"nodes": [], "cursor": None})
            with pytest.raises(hub_client.HubRefused) as exc:
                t.call("/api/push", {"epoch": hello["epoch"], "ops": rows, "heads": heads, "vouchers": []})
        finally:
            t.close()
        assert exc.value.status == 422 and fingerprint(identity(usb).device_id) in str(exc.value)
        a.sync()  # 张 vouches for the key it trusts: the hub takes the changes
        with hub.service.storage.read() as conn:
            assert hub.service.storage.fetchone(conn, "select by from hub_voucher where device_id = ?",
                                                (identity(usb).device_id,))[0] == identity(a.store).device_id
        world["office"].sync()  # the office accepts them: the hub vouches for 张, 张 for the stick's laptop
        assert any(r["number"] == "3-302" for r in world["office"].rows("household").values())
    finally:
        usb.close()
