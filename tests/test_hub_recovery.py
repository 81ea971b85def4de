"""The hub's failures on both backends: killed between commit and acknowledgement, restored from an
older backup (new epoch), PostgreSQL restarted during a pull."""

from __future__ import annotations

import os
import subprocess

import pytest

from db.models.register import Household, Person
from db.sync import hub_client
from db.sync.identity import SyncError
from hub import cli
from hub.server import CodeMaker, HubProcess, ThreadedHub
from hub.service import HubService
from hub.storage import open_storage
from tests.hub_helpers import (
    add_household,
    make_world,
    office_with_grids,
)


def _ops(data: str) -> int:
    storage = open_storage(data)
    try:
        return HubService(storage).stats()["ops"]
    finally:
        storage.close()


def test_killed_between_commit_and_ack_no_duplicates_nothing_lost(hub_data, hub_cert, laptops):
    cert, _key, pin = hub_cert
    hub = HubProcess(hub_data, cert.parent)
    maker = CodeMaker(hub_data, hub.address)
    office = laptops("office").enrol(maker, pin, None)
    g1, _g2 = office_with_grids(office)
    office.sync()
    a = laptops("zhang").enrol(maker, pin, [g1])
    a.sync()
    maker.storage.close()
    hub.stop()
    port = hub.port
    before = _ops(hub_data)
    hh, persons = add_household(a, g1)
    hub = HubProcess(hub_data, cert.parent, crash=True, port=port)
    with pytest.raises(SyncError):
        a.sync()  # the hub dies after its commit, before it answers
    hub.proc.wait(10)
    assert hub.proc.returncode == -9
    assert _ops(hub_data) == before + 5  # committed
    assert hub_client.status(a.store)["waiting"] == 5  # but never acknowledged
    hub = HubProcess(hub_data, cert.parent, port=port)
    try:
        result = a.sync()
        assert result.pushed == 0  # all already there: the retry stored nothing twice
        assert hub_client.status(a.store)["waiting"] == 0
        assert _ops(hub_data) == before + 5
        office.sync()
        assert hh in office.ids("household") and set(persons) <= office.ids("person")
        storage = open_storage(hub_data)
        assert HubService(storage).stats()["faults"] == 0
        storage.close()
    finally:
        hub.stop()


def test_restored_from_an_older_backup_gets_everything_back(hub_data, hub_cert, laptops, tmp_path):
    cert, key, pin = hub_cert
    hub = ThreadedHub(hub_data, cert, key).start()
    w = make_world(hub, pin, laptops, with_b=True)
    office, a, b, g1, g2 = w["office"], w["a"], w["b"], w["g1"], w["g2"]
    h1, _p1 = add_household(a, g1, number="1-1")
    a.sync()
    backup = tmp_path / "hub-backup.sqlite"
    assert cli.main(["--data", hub_data, "backup", str(backup)]) == 0
    # After the backup: more work everywhere.
    h2, p2 = add_household(a, g1, number="1-2")
    a.sync()
    h3, _p3 = add_household(b, g2, number="2-1")
    b.sync()
    office.sync()
    office.write(Person, [{"id": p2[0], "notes": "办公室补充"}])
    office.sync()
    a.sync()
    old_epoch = hub.service.epoch
    total = hub.service.stats()["ops"]
    port = hub.port
    hub.stop()
    assert cli.main(["--data", hub_data, "restore", str(backup), "--force"]) == 0
    hub = ThreadedHub(hub_data, cert, key, port=port).start()
    try:
        assert hub.service.epoch != old_epoch
        assert hub.service.stats()["ops"] < total
        for laptop in (a, b, office):
            assert laptop.sync().epoch_changed
        assert hub.service.stats()["ops"] == total  # everything back from the devices
        office.sync()
        assert {h1, h2, h3} <= office.ids("household")
        assert office.rows("person")[p2[0]]["notes"] == "办公室补充"
        assert h3 not in a.ids("household") and h1 not in b.ids("household")
        # A new laptop for grid 1 gets grid 1 from the restored hub, including the office's edit.
        c = laptops("wang").enrol(hub, pin, [g1])
        c.sync()
        assert {h1, h2} <= c.ids("household") and h3 not in c.ids("household")
        assert c.rows("person")[p2[0]]["notes"] == "办公室补充"
    finally:
        hub.stop()


def test_postgresql_restarted_during_a_pull(hub_data, hub_cert, laptops, monkeypatch):
    if not hub_data.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    pgdata = os.environ.get("GRIDDESK_TEST_PG_DATA")
    if not pgdata:
        pytest.skip("GRIDDESK_TEST_PG_DATA (the cluster's data folder, set by .ci/run) is not set")
    cert, key, pin = hub_cert
    hub = ThreadedHub(hub_data, cert, key).start()
    try:
        office = laptops("office").enrol(hub, pin, None)
        g1, _g2 = office_with_grids(office)
        for i in range(30):
            office.write(Household, [{"grid": g1, "number": f"1-{i}"}])
        office.sync()
        a = laptops("zhang").enrol(hub, pin, [g1])
        monkeypatch.setattr(hub_client, "PULL_PAGE", 10)
        real = hub_client.Transport.call
        pages = []

        def call(self, path, data, retry=True):
            if path == "/api/pull":
                pages.append(1)
                if len(pages) == 2:
                    subprocess.run(["runuser", "-u", "postgres", "--", os.environ.get(
                        "GRIDDESK_TEST_PG_CTL", "/usr/lib/postgresql/15/bin/pg_ctl"), "-D", pgdata, "-m", "fast",
                        "-l", os.path.join(pgdata, "restart.log"), "-w", "restart"], check=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            return real(self, path, data, retry=retry)
        monkeypatch.setattr(hub_client.Transport, "call", call)
        try:
            a.sync()
        except SyncError:
            pass  # the page during the restart failed; what was applied before is kept
        a.sync()
        assert len(a.ids("household")) == 30
        assert a.store.db.execute_sql("select count(*) from oplog where tbl = 'household'").fetchone()[0] == 30
    finally:
        hub.stop()
