"""Bundles are streamed: written as the ops are read, verified whole in a first pass, applied batch
by batch in a second; damage anywhere (the last chunk too) refuses the bundle with nothing applied,
old one-line bundles still import, and an import stays within a memory limit the old code exceeded."""

from __future__ import annotations

import os
import re
import secrets
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from db import oplog
from db.models.register import Household, Person
from db.register import index
from db.store import Store
from db.sync import bundle as container
from db.sync import exchange, identity
from db.sync.identity import SyncError
from tests.sync_helpers import content, make_replicas

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sync"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def pair(tmp_path, monkeypatch):
    # Small chunks and batches, so that a bundle of a few hundred persons has many of each.
    monkeypatch.setattr(container, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(exchange, "OPS_PER_BATCH", 100)
    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}", "phone": f"1380000{i:04d}", "notes": "备注" + secrets.token_hex(40)}
                                for i in range(600)])
        oplog.write(a, Household, [{"address": f"幸福路{i}号"} for i in range(20)])
    with b.activated():
        oplog.write(b, Person, [{"name": "乙的居民"}])
    yield a, b
    a.close()
    b.close()


def _chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every chunk after the header."""
    (length,) = struct.unpack_from(">I", data, len(container.MAGIC))
    pos = len(container.MAGIC) + 4 + length + 32
    found = []
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        found.append((pos + 4, n))
        pos += 4 + n
    return found


def _export(a, b, tmp_path) -> Path:
    path = tmp_path / "GD0101A.GDB"
    with a.activated():
        exported = exchange.export_to_file(a, path, for_device=identity.identity(b).device_id)
    assert exported.size == path.stat().st_size and exported.ops == 620
    return path


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def _backups(store) -> list[Path]:
    return sorted(Path(store.path).parent.rglob("*backup*"))


@pytest.mark.parametrize("which", ["last data chunk", "signature chunk"])
def test_a_bundle_damaged_in_its_last_chunk_is_refused_before_anything_is_applied(pair, tmp_path, which):
    a, b = pair
    path = _export(a, b, tmp_path)
    chunks = _chunks(path.read_bytes())
    assert len(chunks) > 5  # many chunks: the damage is far from the start
    offset, length = chunks[-2] if which == "last data chunk" else chunks[-1]
    _flip(path, offset + length // 2)
    before = content(b)
    backups = _backups(b)
    with b.activated(), pytest.raises(SyncError) as info:
        exchange.import_bundle(b, exchange.read_bundle_file(b, path))
    message = info.value.message
    assert CHINESE.search(message) and "损坏" in message, message
    if which == "last data chunk":
        assert f"第 {len(chunks) - 1} 段" in message, message
    assert content(b) == before
    assert _backups(b) == backups  # refused in the first pass: not even a backup was made
    assert exchange.exchange_history(b) == []


def test_a_file_changed_after_verification_is_refused_and_the_merged_batches_roll_back(pair, tmp_path):
    a, b = pair
    path = _export(a, b, tmp_path)
    before = content(b)
    with b.activated():
        bundle = exchange.read_bundle_file(b, path)  # verified whole
        offset, length = _chunks(path.read_bytes())[-2]
        _flip(path, offset + 1)  # now the stick gives back something else at its end
        seen = []
        with pytest.raises(SyncError) as info:
            exchange.import_bundle(b, bundle, progress=lambda done, total: seen.append(done))
    assert seen and "导入" in info.value.message and CHINESE.search(info.value.message)
    assert content(b) == before  # the batches merged before the damaged end were rolled back
    assert exchange.exchange_history(b) == []


def test_a_streamed_bundle_imports_batch_by_batch_like_a_whole_one(pair, tmp_path):
    a, b = pair
    path = _export(a, b, tmp_path)
    with b.activated():
        bundle = exchange.read_bundle_file(b, path)
        assert bundle.op_count == 620 and len(list(bundle.op_batches())) == 7
        preview = exchange.preview(b, bundle)
        summary = exchange.import_bundle(b, bundle)
        assert (preview.new_rows, preview.new_ops) == (summary.new_rows, summary.new_ops)
        assert summary.new_ops == 620 and summary.new_rows == {"person": 600, "household": 20}
        assert len(summary.changes) == 620
        assert oplog.compare_with_log(b) == []
        # Searchable after the import (the index followed the batches).
        assert b.db.execute_sql("select count(*) from register_search").fetchone()[0] == 601
        again = exchange.import_bundle(b, exchange.read_bundle_file(b, path))
        assert again.new_ops == 0 and again.duplicate_ops == 620 and again.already_imported


def test_a_bundle_written_by_the_previous_version_still_imports(tmp_path):
    # Written by the code before streaming (the ops as one JSON line): 40 persons and a household,
    # a full handover under a passphrase from device 95AC-49AB-AD7D-40C3.
    store = Store(tmp_path / "new.sqlite", user="乙")
    try:
        with store.activated():
            bundle = exchange.read_bundle_file(store, FIXTURES / "OLD0101A.GDB", passphrase="旧版本交接口令",
                                               trust_sender="95AC-49AB-AD7D-40C3")
            summary = exchange.import_bundle(store, bundle)
        assert summary.new_ops == 41 and summary.new_rows == {"person": 40, "household": 1}
        names = {n for (n,) in store.db.execute_sql("select name from person")}
        assert names == {f"旧居民{i}" for i in range(40)}
        assert oplog.compare_with_log(store) == []
    finally:
        store.close()


def test_the_search_index_built_block_by_block_equals_one_pass(tmp_path, monkeypatch):
    store = Store(tmp_path / "a.sqlite", user="甲")
    try:
        with store.activated():
            oplog.write(store, Person, [{"name": f"{'张王李'[i % 3]}{i}", "id_number": f"4201{i:06d}"}
                                        for i in range(250)])
            oplog.write(store, Person, [{"name": "已删除", "deleted": True}])

        def snapshot():
            return store.db.execute_sql(f"select {','.join(index._COLUMNS)} from register_search "
                                        "order by rowid").fetchall()

        def hits(term):
            return store.db.execute_sql("select s.person_id from register_fts f join register_search s "
                                        "on s.rowid = f.rowid where f.haystack like ? order by s.rowid",
                                        (f"%{term}%",)).fetchall()

        index.rebuild_index(store)
        whole = snapshot(), hits("4201000"), hits("zhang")
        monkeypatch.setattr(index, "EVERYONE_BLOCK", 7)
        index.rebuild_index(store)  # from empty, 7 persons at a time
        assert (snapshot(), hits("4201000"), hits("zhang")) == whole
        assert len(whole[0]) == 250 and whole[1]
        index.refresh_everyone(store)  # over a full index, block by block: nothing changes
        assert (snapshot(), hits("4201000"), hits("zhang")) == whole
    finally:
        store.close()


# -- a large import under a memory limit ----------------------------------------------------------

MEMORY_CHILD = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, {code!r})
    from pathlib import Path
    from db.store import Store
    from db.sync import exchange
    # Small batches and a small page cache for the bulk merge (the code before streaming has
    # neither: ignored there).
    exchange.OPS_PER_BATCH = 2000
    exchange.BULK_CACHE_KIB = 16000
    store = Store(Path({db!r}), user="乙")

    def data_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmData:"):
                return int(line.split()[1])

    # From what the process uses now (code loaded, database open): {budget_mb} MB more at most.
    limit = (data_kib() + {budget_mb} * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    bundle = exchange.read_bundle_file(store, Path({bundle!r}), passphrase="内存限制口令",
                                       trust_sender={fingerprint!r})
    summary = exchange.import_bundle(store, bundle)
    print("imported", summary.new_ops, flush=True)
    store.close()
""")

BUDGET_MB = 130
LARGE_OPS = 30_000


def test_a_large_import_stays_within_a_memory_limit_the_old_code_exceeded(tmp_path):
    """30,000 ops: the code before streaming parsed them all at once (about 190 MB more than the
    process already used: MemoryError under this limit); imported in batches they need about 80 MB.
    GRIDDESK_MEMORY_TEST_CODE=/path/to/a/checkout runs the import with that checkout's code."""
    source = Store(tmp_path / "a.sqlite", user="甲")
    try:
        with source.activated():
            oplog.write(source, Person, [{"name": f"居民{i}", "phone": f"13{i:09d}", "id_number": f"420102{i:012d}",
                                          "notes": "住户信息备注" * 3} for i in range(LARGE_OPS)])
            exchange.export_to_file(source, tmp_path / "BIG.GDB", full=True, passphrase="内存限制口令")
        fingerprint = identity.identity(source).fingerprint
    finally:
        source.close()
    target = tmp_path / "b.sqlite"
    Store(target, user="乙").close()
    code = os.environ.get("GRIDDESK_MEMORY_TEST_CODE", str(ROOT))
    child = MEMORY_CHILD.format(code=code, db=str(target), bundle=str(tmp_path / "BIG.GDB"),
                                fingerprint=fingerprint, budget_mb=BUDGET_MB)
    env = dict(os.environ, PYTHONPATH=code, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", child], cwd=code, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"imported {LARGE_OPS}" in done.stdout
    check = Store(target, user="乙")
    try:
        assert check.db.execute_sql("select count(*) from person").fetchone()[0] == LARGE_OPS
        assert check.db.execute_sql("select count(*) from register_search").fetchone()[0] == LARGE_OPS
    finally:
        check.close()
