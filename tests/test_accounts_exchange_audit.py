"""Exchanges as synced audit entries (issue 18 part 3): the trail travels to the office; it only grows."""

from __future__ import annotations

import orjson
import pytest

from db import oplog
from db.accounts import audit, service
from db.models.register import AuditEntry, Grid
from db.store import Store
from db.sync import chains, exchange
from db.sync.identity import SyncError, identity, trust_device

PASSWORD = "correct horse 1"


@pytest.fixture
def pair(tmp_path):
    """A grid worker's laptop and the office, both with accounts (encrypted), trusting each other."""
    made = []
    for name in ("zhang", "office"):
        plain = Store(tmp_path / f"{name}.sqlite", user=name)
        store, _recovery = service.create_first_admin(plain, login=name, password=PASSWORD)
        made.append(store)
    laptop, office = made
    trust_device(laptop, identity(office).card())
    trust_device(office, identity(laptop).card())
    yield laptop, office
    for s in made:
        s.close()


def _send(src, dst):
    bundle = exchange.read_bundle(dst, exchange.export_bundle(src, for_device=identity(dst).device_id).data)
    exchange.import_bundle(dst, bundle)
    exchange.import_bundle(src, exchange.read_bundle(src, exchange.make_receipt(dst, bundle).data))


def test_exchanges_are_audit_entries_that_reach_the_office(pair, tmp_path):
    laptop, office = pair
    oplog.write(laptop, Grid, [{"name": "一网格", "code": "G1"}])
    exchange.export_to_file(laptop, tmp_path / "first.gdb", for_device=identity(office).device_id)
    _send(laptop, office)  # carries the laptop's entry about the first export
    mine = [e for e in audit.search(office, action="exchange") if e.user == "zhang"]
    assert mine and any(e.detail.startswith("export changes") for e in mine), mine
    assert all(e.source == "audit" for e in mine)
    # The office's own import is one entry (not listed twice from its exchange history too).
    own = [e for e in audit.search(office, action="exchange") if e.user == "office"]
    assert len([e for e in own if e.detail.startswith("import")]) == 1, own


def test_an_edited_audit_entry_in_a_bundle_is_refused(pair):
    laptop, office = pair
    entry_id, entry_op = laptop.db.execute_sql(
        "select a.id, o.counter from audit_entry a join oplog o on o.row_id = a.id and o.tbl = 'audit_entry' "
        "where a.action = 'accounts_created'").fetchone()
    # The app refuses to change an entry ...
    with pytest.raises(PermissionError):
        oplog.write(laptop, AuditEntry, [{"id": entry_id, "detail": "nothing happened"}])
    # ... and an entry changed behind the app's back (straight in the file) is refused on import.
    node, counter = laptop.node_id, oplog.last_counter(laptop) + 1
    laptop.db.execute_sql(
        f"insert into oplog ({oplog._OP_COLUMNS}, prev) values (?,?,?,?,?,?,?,?,?,?,?)",
        (node, counter, "audit_entry", entry_id, orjson.dumps({"detail": "什么也没发生"}).decode(),
         orjson.dumps({"detail": [f"{node}:{entry_op}"]}).decode(), laptop.tick_many(1)[0], "zhang", 15, "edit",
         chains.tip(laptop.db, node, counter - 1)))
    laptop.set_meta(op_counter=str(counter))
    with pytest.raises(SyncError, match="审计"):
        exchange.read_bundle(office, exchange.export_bundle(laptop, for_device=identity(office).device_id).data)
