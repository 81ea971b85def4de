"""The bulk paths of a big import (a handover into an empty database) give exactly what the
row-by-row merge gives: same rows, same conflicts, same op log, the same indexes afterwards, and a
cancelled or previewed import leaves everything as it was."""

from __future__ import annotations

import pytest

from db import migrations, oplog
from db.demo import generate
from db.errors import Cancelled
from db.ids import new_id
from db.models.register import Household, Person
from db.store import Store
from db.sync import exchange, identity
from tests.sync_helpers import content, make_replicas


def _schema(store: Store) -> list[tuple]:
    return store.db.execute_sql("select type, name, tbl_name, sql from sqlite_master order by name").fetchall()


def _ids(store: Store, table: str, n: int) -> list[str]:
    return [r for (r,) in store.db.execute_sql(f'select id from "{table}" order by id limit ?', (n,))]


@pytest.fixture(scope="module")
def handover(tmp_path_factory):
    """A full bundle from a laptop whose log holds two nodes, edits, conflicts and a delete."""
    folder = tmp_path_factory.mktemp("bulk")
    a, c = make_replicas(folder, ["a", "c"])
    with a.activated():
        generate(a, households=12, seed=3)
    c_id, a_id = identity.identity(c).device_id, identity.identity(a).device_id
    with c.activated():
        exchange.import_bundle(c, exchange.read_bundle(c, exchange.export_bundle(a, full=True, for_device=c_id).data))
    persons, households = _ids(a, "person", 6), _ids(a, "household", 2)
    with a.activated():
        oplog.write(a, Person, [{"id": pid, "name": "甲改的名字"} for pid in persons[:3]])
        oplog.write(a, Person, [{"id": persons[3], "phone": "13900000001"}])
        oplog.write(a, Person, [{"id": persons[3], "phone": "13900000002"}])  # a row of three ops
        oplog.write(a, Household, [{"id": households[0], "notes": "甲来过"}])
    with c.activated():
        oplog.write(c, Person, [{"id": pid, "name": "丙改的名字"} for pid in persons[:2]])  # concurrent
        oplog.write(c, Person, [{"id": persons[2], "name": "甲改的名字"}])  # concurrent, same value
        oplog.delete(c, Household, [households[0]])  # delete against a's edit
        oplog.write(c, Person, [{"name": f"丙的新居民{i}"} for i in range(5)])
    with c.activated():
        data = exchange.export_bundle(c, for_device=a_id).data
    # Ops of a newer app version: a column and a table this version does not know (kept in the log).
    future = "f" * 16
    newer = [oplog.OpRecord(future, 1, "person", new_id(), {"name": "新版居民", "deleted": 0, "nickname": "小新"},
                            {}, f"0001764070000000-000000-{future}", "未来", migrations.SCHEMA_VERSION + 1),
             oplog.OpRecord(future, 2, "pet", new_id(), {"name": "旺财", "deleted": 0}, {},
                            f"0001764070000001-000000-{future}", "未来", migrations.SCHEMA_VERSION + 1)]
    with a.activated():
        exchange.import_bundle(a, exchange.read_bundle(a, data))
        oplog.apply_ops(a, newer)
        full = exchange.export_bundle(a, full=True, passphrase="交接口令").data
    expected = content(a)
    a.close()
    c.close()
    assert expected["conflict"], "the handover must carry conflicts"
    return full, expected


def _import(path, data: bytes, monkeypatch, *, bulk: bool, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(oplog, "BULK_ROWS", 1 if bulk else 10**9)
        m.setattr(oplog, "MERGE_STEP", 7 if bulk else 20_000)
        m.setattr(exchange, "BULK_OPS", 1 if bulk else 10**9)
        store = Store(path, user="新")
        with store.activated():
            bundle = exchange.read_bundle(store, data, passphrase="交接口令", allow_unknown=True)
            bundle.needs_trust = False
            summary = exchange.import_bundle(store, bundle, **kwargs)
    return store, summary


def test_bulk_import_into_an_empty_database_equals_the_row_by_row_merge(tmp_path, monkeypatch, handover):
    data, expected = handover
    fast, fast_summary = _import(tmp_path / "fast.sqlite", data, monkeypatch, bulk=True)
    slow, slow_summary = _import(tmp_path / "slow.sqlite", data, monkeypatch, bulk=False)
    got = content(fast)
    assert got == content(slow)
    assert {k: v for k, v in got.items() if k != "conflict"} == {k: v for k, v in expected.items() if k != "conflict"}
    assert got["conflict"] == expected["conflict"]
    assert fast_summary.new_conflicts == slow_summary.new_conflicts == len(expected["conflict"])
    assert fast_summary.new_rows == slow_summary.new_rows
    assert fast_summary.newer_schema_ops == slow_summary.newer_schema_ops == 2
    assert ("pet", 2) in {(op.tbl, op.counter) for op in oplog.load_ops(fast.db)}
    # The indexes built after the load are the ones an empty database has.
    assert _schema(fast) == _schema(slow)
    assert fast.db.execute_sql("pragma integrity_check").fetchone()[0] == "ok"
    # The tables and the conflict queue equal a rebuild from the log.
    assert oplog.compare_with_log(fast) == []
    with fast.activated():
        oplog.rebuild(fast)
    assert content(fast) == got
    fast.close()
    slow.close()


def test_a_cancelled_or_previewed_bulk_import_leaves_the_database_as_it_was(tmp_path, monkeypatch, handover):
    data, _expected = handover
    store = Store(tmp_path / "empty.sqlite", user="新")
    before, schema = content(store), _schema(store)
    store.close()
    calls = []

    def cancel_later() -> bool:
        calls.append(1)
        return len(calls) > 3  # after some ops and rows were written

    with pytest.raises(Cancelled):
        _import(tmp_path / "empty.sqlite", data, monkeypatch, bulk=True, cancelled=cancel_later)
    store = Store(tmp_path / "empty.sqlite", user="新")
    assert content(store) == before and _schema(store) == schema
    with monkeypatch.context() as m:
        m.setattr(oplog, "BULK_ROWS", 1)
        m.setattr(exchange, "BULK_OPS", 1)
        with store.activated():
            bundle = exchange.read_bundle(store, data, passphrase="交接口令", allow_unknown=True)
            summary = exchange.preview(store, bundle)
    assert summary.new_conflicts > 0 and summary.total_new_rows > 0
    assert content(store) == before and _schema(store) == schema
    store.close()


def test_fresh_ops_drops_ops_already_here_and_repeats_within_a_bundle(tmp_path):
    a, b, c = make_replicas(tmp_path, ["a", "b", "c"])
    with a.activated():
        oplog.write(a, Person, [{"name": f"甲{i}"} for i in range(3)])
    with c.activated():
        oplog.write(c, Person, [{"name": f"丙{i}"} for i in range(3)])  # the same counters, another node
    ops_a, ops_c = list(oplog.load_ops(a.db)), list(oplog.load_ops(c.db))
    keys = [(o.node, o.counter) for o in oplog.fresh_ops(b.db, ops_a + ops_a[:1] + ops_c + ops_c[2:])]
    assert keys == [(o.node, o.counter) for o in ops_a + ops_c]
    with b.activated():
        result = oplog.apply_ops(b, ops_a[:2] + ops_a[:1])
    assert (result.new_ops, result.duplicate_ops) == (2, 1)
    assert [(o.node, o.counter) for o in oplog.fresh_ops(b.db, ops_a)] == [(ops_a[2].node, 3)]
    assert oplog.fresh_ops(b.db, ops_a[:2]) == []
    for s in (a, b, c):
        s.close()


def test_bulk_gc_pauses_the_collector_and_freezes_only_after_success(monkeypatch):
    import gc

    from db import bulk as bulkgc

    monkeypatch.setattr(bulkgc, "FREEZE_FROM", 0)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with pytest.raises(RuntimeError), bulkgc.bulk_gc():
            assert not gc.isenabled()
            raise RuntimeError
        assert gc.isenabled() and gc.get_freeze_count() == frozen
        with bulkgc.bulk_gc():
            with bulkgc.bulk_gc():
                kept = [[i] for i in range(1000)]
            assert not gc.isenabled()  # the outer one still runs
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(kept)
    finally:
        gc.unfreeze()


def test_a_bulk_import_leaves_the_checkpoint_to_the_background_step(tmp_path, monkeypatch, handover):
    """The commit of a big import skips the automatic checkpoint (db.bulk); another reader sees the
    data all the same, the setting comes back, and settle() then folds the log into the file."""
    import pysqlite3.dbapi2 as sqlite3

    from db.bulk import settle

    data, expected = handover
    monkeypatch.setattr(exchange, "BULK_OPS", 1)
    store = Store(tmp_path / "office.sqlite", user="新")
    store.db.execute_sql("pragma wal_autocheckpoint = 1")  # else a checkpoint at every commit
    with store.activated():
        bundle = exchange.read_bundle(store, data, passphrase="交接口令", allow_unknown=True)
        bundle.needs_trust = False
        summary = exchange.import_bundle(store, bundle)
    assert summary.new_ops == len(expected["oplog"])
    assert store.db.execute_sql("pragma wal_autocheckpoint").fetchone() == (1,)
    after = store.path.read_bytes()
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("select count(*) from oplog").fetchone()[0] == len(expected["oplog"])
    finally:
        other.close()
    frames, copied = settle(store)  # the import's pages were still only in the log
    assert frames > 0 and copied == frames and store.path.read_bytes() != after
    store.close()
