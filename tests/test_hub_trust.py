"""Trust at the office hub, on both backends: enrolment codes, signed requests, revocation, scope, bad input."""

from __future__ import annotations

import re

import orjson
import pytest

from db import opfields
from db.models.register import Household
from db.sync import hub_client
from db.sync import hub_protocol as proto
from db.sync.identity import SyncError, identity
from tests.hub_helpers import (
    add_household,
    enrol_code,
    make_world,
)


@pytest.fixture
def world(hub, hub_cert, laptops):
    return make_world(hub, hub_cert[2], laptops)


def _transport(laptop):
    link = hub_client.link(laptop.store)
    return hub_client.Transport(laptop.store, link["url"], link["cert_pem"])


def test_unsigned_and_replayed_requests_are_refused(world):
    a, hub = world["a"], world["hub"]
    add_household(a, world["g1"])
    t = _transport(a)
    ops = [list(r) for r in opfields.wire_rows(a.store.db, a.store.db.execute_sql(
        "select node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind from oplog "
        "where node = ?", (a.store.node_id,)))]
    body = orjson.dumps({"ops": ops})
    before = hub.service.stats()["ops"]
    r = t.client.post("/api/push", content=body)
    assert r.status_code == 401 and hub.service.stats()["ops"] == before
    me = identity(a.store)
    headers = proto.sign_headers(me.sign_private, me.device_id, "POST", "/api/push", body)
    forged = dict(headers, **{proto.H_SIG: proto.sign_headers(me.sign_private, me.device_id, "POST", "/api/pull",
                                                              body)[proto.H_SIG]})
    assert t.client.post("/api/push", content=body, headers=forged).status_code == 401
    assert hub.service.stats()["ops"] == before
    assert t.client.post("/api/push", content=body, headers=headers).status_code == 200
    after = hub.service.stats()["ops"]
    assert after == before + len(ops)
    replay = t.client.post("/api/push", content=body, headers=headers)
    assert replay.status_code == 401 and re.search("replay|重放", replay.json()["error"])
    t.close()


def test_revoked_device_is_refused_at_its_next_request(world):
    a, hub = world["a"], world["hub"]
    hub.service.revoke(identity(a.store).device_id)
    add_household(a, world["g1"])
    with pytest.raises(hub_client.HubRefused) as err:
        a.sync()
    assert err.value.status == 403 and re.search("撤销|revoked", str(err.value))
    assert hub_client.status(a.store)["failures"] == 1  # backs off


def test_op_for_a_grid_not_enrolled_is_refused_and_nothing_stored(world):
    a, hub = world["a"], world["hub"]
    before = hub.service.stats()["ops"]
    add_household(a, world["g1"], number="1-1")
    a.write(Household, [{"grid": world["g2"], "number": "2-1"}])
    with pytest.raises(hub_client.HubRefused) as err:
        a.sync()
    assert err.value.status == 403 and "household" in str(err.value)
    assert hub.service.stats()["ops"] == before  # the whole batch was refused


def test_wrong_pin_is_an_impersonator(world, laptops):
    hub = world["hub"]
    text = enrol_code(hub, "0" * 64, [world["g1"]])
    c = laptops("wang")
    with pytest.raises(SyncError, match="不是您的办公室|not your office"):
        hub_client.enrol(c.store, text)
    assert hub_client.link(c.store) is None
    assert len(hub.service.devices()) == 2


def test_codes_expire_lock_after_five_tries_and_work_once(world, laptops):
    hub, pin = world["hub"], world["pin"]
    code = hub.service.create_code(grids=frozenset([world["g1"]]))
    wrong = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    c = laptops("wang")
    for _i in range(5):
        with pytest.raises(hub_client.HubRefused, match="错误|wrong"):
            hub_client.enrol(c.store, proto.make_code_text(hub.address, pin, wrong))
    with pytest.raises(hub_client.HubRefused, match="锁定|locked"):
        hub_client.enrol(c.store, proto.make_code_text(hub.address, pin, code))  # even the right one now
    expired = hub.service.create_code(grids=frozenset([world["g1"]]), hours=-1)
    with pytest.raises(hub_client.HubRefused, match="过期|expired"):
        hub_client.enrol(c.store, proto.make_code_text(hub.address, pin, expired))
    good = proto.make_code_text(hub.address, pin, hub.service.create_code(grids=frozenset([world["g1"]])))
    hub_client.enrol(c.store, good)
    d = laptops("zhao")
    with pytest.raises(hub_client.HubRefused, match="已被使用|already used"):
        hub_client.enrol(d.store, good)


def test_malformed_and_oversized_batches_store_nothing(world):
    a, hub = world["a"], world["hub"]
    t = _transport(a)
    before = hub.service.stats()["ops"]
    with pytest.raises(hub_client.HubRefused, match="2"):
        t.call("/api/push", {"ops": [["n", 1, "tag", "r", "{}", "{}", "0001764070000000-000000-n", None, 1, "edit"],
                                     ["n", "x"]]})
    with pytest.raises(hub_client.HubRefused) as err:
        t.call("/api/push", {"ops": [["n", i + 1, "tag", "r", "{}", "{}", "0001764070000000-000000-n", None, 1,
                                      "edit"] for i in range(20_001)]})
    assert err.value.status == 413
    assert hub.service.stats()["ops"] == before
    t.close()


def test_edit_after_the_household_left_goes_to_review(world, laptops):
    a, office, hub = world["a"], world["office"], world["hub"]
    hh, _persons = add_household(a, world["g1"])
    a.sync()
    office.sync()
    office.write(Household, [{"id": hh, "grid": world["g2"]}])
    office.sync()
    # Meanwhile the laptop edits the household, offline.
    a.write(Household, [{"id": hh, "notes": "已搬走？"}])
    result = a.sync()
    assert result.review == 1  # kept at the office for review, not dropped
    assert hub.service.stats()["review"] == 1
    assert hh not in a.ids("household")  # acknowledged, then dropped
    office.sync()
    assert office.rows("household")[hh]["notes"] == "已搬走？"


def test_leave_waits_for_own_changes_to_be_acknowledged(world, monkeypatch):
    a, office = world["a"], world["office"]
    hh, _persons = add_household(a, world["g1"])
    a.sync()
    office.sync()
    office.write(Household, [{"id": hh, "grid": world["g2"]}])
    office.sync()
    # The laptop edits the household after its push and before its pull (simulated: the edit is made
    # during the pull, by pulling in a patched transport).
    real = hub_client.Transport.call
    edited = []

    def call(self, path, data, retry=True):
        if path == "/api/pull" and not edited:
            edited.append(1)
            a.write(Household, [{"id": hh, "notes": "刚改的"}])
        return real(self, path, data, retry=retry)
    monkeypatch.setattr(hub_client.Transport, "call", call)
    result = a.sync()
    assert result.waiting_leaves == 1 and hh in a.ids("household")
    result = a.sync()
    assert result.waiting_leaves == 0 and hh not in a.ids("household")
    office.sync()
    assert office.rows("household")[hh]["notes"] == "刚改的"


def test_rate_limit_per_device(tmp_path, hub_cert, laptops):
    from hub.server import ThreadedHub

    cert, key, pin = hub_cert
    limited = ThreadedHub(str(tmp_path / "limited.sqlite"), cert, key, rate=0.01, burst=4).start()
    try:
        a = laptops("zhang").enrol(limited, pin, None)  # enrolment is the first request
        a.sync()  # hello, pull, hello (with the enrolment: the burst of 4 is used up)
        with pytest.raises(hub_client.HubRefused) as err:
            a.sync()
        assert err.value.status == 429
        other = laptops("li").enrol(limited, pin, None)
        other.sync()  # another device has its own budget
    finally:
        limited.stop()
