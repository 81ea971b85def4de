"""Bad bundles give a clear Chinese message and leave the database content unchanged."""

from __future__ import annotations

import re

import pytest

from db import oplog
from db.models.register import Household, Person
from db.sync import bundle as container
from db.sync import exchange, identity
from db.sync.identity import SyncError
from tests.sync_helpers import content, make_replicas

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def trio(tmp_path):
    stores = make_replicas(tmp_path, ["a", "b", "c"])
    a, b, _c = stores
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}", "phone": f"1380000{i:04d}"} for i in range(30)])
        oplog.write(a, Household, [{"address": "幸福路1号"}])
    with b.activated():
        oplog.write(b, Person, [{"name": "乙的居民"}])
    yield stores
    for s in stores:
        s.close()


def _refused(store, data: bytes, **kwargs) -> str:
    before = content(store)
    with store.activated():
        with pytest.raises(SyncError) as info:
            bundle = exchange.read_bundle(store, data, **kwargs)
            exchange.import_bundle(store, bundle)
    assert content(store) == before
    message = info.value.message
    assert CHINESE.search(message), message
    return message


def _bundle_for_b(a, b, **kwargs) -> bytes:
    with a.activated():
        return exchange.export_bundle(a, for_device=identity.identity(b).device_id, **kwargs).data


def test_good_bundle_applies_and_twice_changes_nothing(trio):
    a, b, _ = trio
    data = _bundle_for_b(a, b)
    with b.activated():
        first = exchange.import_bundle(b, exchange.read_bundle(b, data))
        assert first.new_ops == 31 and first.new_rows == {"person": 30, "household": 1}
        after = content(b)
        again = exchange.import_bundle(b, exchange.read_bundle(b, data))
        assert again.new_ops == 0 and again.already_imported
        assert content(b) == after
        assert oplog.compare_with_log(b) == []
        assert len(exchange.exchange_history(b)) == 1


def test_truncated_anywhere(trio):
    a, b, _ = trio
    data = _bundle_for_b(a, b)
    for cut in [0, 5, 20, 100, len(data) // 2, len(data) - 80, len(data) - 1]:
        msg = _refused(b, data[:cut])
        assert "不完整" in msg or "不是" in msg or "损坏" in msg, (cut, msg)
    assert "不完整" in _refused(b, data[:-1])


def test_every_single_bit_flip_is_detected(trio):
    a, b, _ = trio
    data = _bundle_for_b(a, b)
    before = content(b)
    with b.activated():
        for pos in range(len(data)):
            for bit in (0, 5):
                bad = bytearray(data)
                bad[pos] ^= 1 << bit
                with pytest.raises(SyncError) as info:
                    exchange.read_bundle(b, bytes(bad))
                assert CHINESE.search(info.value.message)
    assert content(b) == before
    assert "损坏" in _refused(b, data[:300] + bytes([data[300] ^ 1]) + data[301:])


def test_wrong_passphrase_and_missing_passphrase(trio):
    a, b, _ = trio
    with a.activated():
        data = exchange.export_bundle(a, full=True, passphrase="正确的口令 2026").data
    assert "口令" in _refused(b, data, passphrase="错误的口令")
    assert "口令" in _refused(b, data)
    with b.activated():
        bundle = exchange.read_bundle(b, data, passphrase="正确的口令 2026")
        assert exchange.import_bundle(b, bundle).new_ops == 31


def test_bundle_for_another_device_wrong_key(trio):
    a, b, c = trio
    data = _bundle_for_b(a, c)  # encrypted for c, tried on b
    assert "其他设备" in _refused(b, data)


def test_unknown_and_revoked_sender(tmp_path, trio):
    a, b, _ = trio
    (stranger,) = make_replicas(tmp_path / "x", ["stranger"])
    identity.trust_device(stranger, identity.identity(b).card())
    with stranger.activated():
        oplog.write(stranger, Person, [{"name": "陌生人"}])
        data = exchange.export_bundle(stranger, for_device=identity.identity(b).device_id).data
    assert "未知设备" in _refused(b, data)
    # Trusting on first use needs the fingerprint the person compared.
    with b.activated():
        bundle = exchange.read_bundle(b, data, trust_sender=identity.identity(stranger).fingerprint)
        assert exchange.import_bundle(b, bundle).new_ops == 1
    identity.revoke_device(b, identity.identity(a).device_id)
    assert "吊销" in _refused(b, _bundle_for_b(a, b))
    stranger.close()


def test_forged_key_for_a_trusted_device_id(trio, tmp_path):
    a, b, _ = trio
    data = bytearray(_bundle_for_b(a, b))
    header, header_bytes, _pos = container.read_header(bytes(data))
    # Another key claiming a's device id: the device id no longer matches the key.
    forged = dict(header, sign_public=identity.identity(b).card()["sign_public"])
    assert "损坏" in _refused(b, container.MAGIC + _rebuild(forged, bytes(data), header_bytes))


def _rebuild(header: dict, data: bytes, header_bytes: bytes) -> bytes:
    import hashlib
    import json
    import struct

    new = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    rest = data[len(container.MAGIC) + 4 + len(header_bytes) + 32:]
    return struct.pack(">I", len(new)) + new + hashlib.sha256(new).digest() + rest


@pytest.mark.parametrize("junk", [b"", b"hello", b"%PDF-1.7\n" + b"x" * 500, b"SQLite format 3\x00" + bytes(2000),
                                  bytes(range(256)) * 10])
def test_not_a_bundle(trio, junk):
    _a, b, _ = trio
    assert "不是" in _refused(b, junk)


def test_newer_app_version(trio, monkeypatch):
    a, b, _ = trio
    monkeypatch.setattr(container, "FORMAT_VERSION", container.FORMAT_VERSION + 1)
    data = _bundle_for_b(a, b)
    monkeypatch.undo()
    assert "新版本" in _refused(b, data)
    newer_magic = container.MAGIC[:-1] + bytes([container.MAGIC[-1] + 1]) + data[len(container.MAGIC):]
    assert "新版本" in _refused(b, newer_magic)


def test_file_errors(trio, tmp_path):
    _a, b, _ = trio
    with pytest.raises(SyncError) as info:
        exchange.read_bundle_file(b, tmp_path / "NOFILE.GDB")
    assert "不存在" in info.value.message


@pytest.mark.parametrize("bulk", [False, True])
def test_rows_pointing_at_missing_records_are_refused(trio, monkeypatch, bulk):
    from db.ids import new_id
    from db.models.register import Membership

    a, b, _ = trio
    if bulk:
        monkeypatch.setattr(exchange, "BULK_OPS", 1)  # the path big imports take
    # A membership whose person exists only on a third laptop (its ops never came here).
    op = oplog.OpRecord("e" * 16, 1, "membership", new_id(), {"person_id": new_id(), "deleted": 0,
                                                               "relation": "户主"}, {},
                        "0001764070000000-000000-" + "e" * 16, "丙")
    with a.activated():
        with a.db.atomic():
            a.db.execute_sql("pragma defer_foreign_keys = 1")
            oplog.apply_ops(a, [op])
            a.db.execute_sql(f'delete from "{Membership._meta.table_name}"')  # a keeps just the op
    msg = _refused(b, _bundle_for_b(a, b))
    assert "引用了本机没有的" in msg
    assert b.db.execute_sql("pragma foreign_keys").fetchone() == (1,)
