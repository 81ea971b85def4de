"""Bundles on FAT32 media, a killed import, ops from a newer schema, removable drives."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from db import migrations, oplog
from db.ids import new_id
from db.models.register import Person
from db.store import APPLICATION_ID, Store
from db.sync import exchange, identity, usb
from tests.sync_helpers import content, make_replicas

ROOT = Path(__file__).resolve().parent.parent


def _pair(tmp_path, persons: int = 20):
    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}", "notes": "备注" * 20} for i in range(persons)])
    return a, b


@pytest.mark.skipif(not (shutil.which("mkfs.vfat") and shutil.which("mcopy")), reason="needs dosfstools + mtools")
def test_bundle_through_a_fat32_image(tmp_path):
    a, b = _pair(tmp_path)
    img = tmp_path / "stick.img"
    subprocess.run(["mkfs.vfat", "-F", "32", "-C", str(img), "40000"], check=True, capture_output=True)
    staging = tmp_path / "out"
    staging.mkdir()
    with a.activated():
        exported = exchange.export_to_file(a, staging, for_device=identity.identity(b).device_id)
    name = Path(exported.file_name).name
    assert len(name) <= 12 and name.isascii() and name == name.upper() and "." in name
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-i", str(img), exported.file_name, f"::/{name}"], check=True, env=env)
    listing = subprocess.run(["mdir", "-i", str(img), "::/"], check=True, capture_output=True, text=True,
                             env=env).stdout
    stem, ext = name.split(".")
    assert stem in listing and ext in listing
    back = tmp_path / "back.gdb"
    subprocess.run(["mcopy", "-i", str(img), f"::/{name}", str(back)], check=True, env=env)
    with b.activated():
        summary = exchange.import_bundle(b, exchange.read_bundle_file(b, back))
    assert summary.new_rows == {"person": 20}
    assert oplog.compare_with_log(b) == []
    a.close()
    b.close()


def test_safe_write_reads_back_and_leaves_no_temp(tmp_path):
    target = tmp_path / usb.short_name("gd-ÄÖ-2026 bundle", "gdb")
    assert target.name == "GD2026BU.GDB"
    usb.safe_write(target, b"x" * 5000)
    usb.safe_write(target, b"y" * 10)  # replacing an existing file
    assert target.read_bytes() == b"y" * 10
    assert [p.name for p in tmp_path.iterdir()] == ["GD2026BU.GDB"]
    with pytest.raises(identity.SyncError) as info:
        usb.safe_write(tmp_path / "missing" / "A.GDB", b"1")
    assert "无法写入" in info.value.message


def test_list_removable_drives_returns_mounted_drives():
    drives = usb.list_removable_drives()
    assert all(d.mountpoint not in ("/", "/boot") for d in drives)
    assert all(d.total_bytes >= d.free_bytes for d in drives)


CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from db.store import Store
from db import oplog
from db.sync import exchange
oplog.MERGE_STEP = 50
store = Store({db!r}, user="b")
bundle = exchange.read_bundle_file(store, {bundle!r})
def progress(done, total):
    print("applied", done, flush=True)
    time.sleep(30)
exchange.import_bundle(store, bundle, progress=progress)
print("finished", flush=True)
"""


def test_killed_import_leaves_nothing_half_applied(tmp_path):
    a, b = _pair(tmp_path, persons=400)
    path = tmp_path / "KILL.GDB"
    with a.activated():
        exchange.export_to_file(a, path, for_device=identity.identity(b).device_id)
    before = content(b)
    b_path = b.path
    b.close()
    code = CHILD.format(root=str(ROOT), db=str(b_path), bundle=str(path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = child.stdout.readline()
        assert line.startswith("applied 50"), line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    b = Store(b_path, user="b")
    assert content(b) == before
    assert b.db.execute_sql("pragma integrity_check").fetchone()[0] == "ok"
    with b.activated():
        summary = exchange.import_bundle(b, exchange.read_bundle_file(b, path))
    assert summary.new_ops == 400 and oplog.compare_with_log(b) == []
    a.close()
    b.close()


def test_ops_from_a_newer_schema_are_kept_relayed_and_applied_after_upgrade(tmp_path):
    a, b, c = make_replicas(tmp_path, ["a", "b", "c"])
    pid = new_id()
    future = oplog.OpRecord("f" * 16, 1, "person", pid, {"name": "新版居民", "deleted": 0, "nickname": "小新"},
                            {}, "0001764070000000-000000-" + "f" * 16, "未来", migrations.SCHEMA_VERSION + 1)
    pet = oplog.OpRecord("f" * 16, 2, "pet", new_id(), {"name": "旺财", "deleted": 0}, {},
                         "0001764070000001-000000-" + "f" * 16, "未来", migrations.SCHEMA_VERSION + 1)
    with a.activated():
        oplog.apply_ops(a, [future, pet])
        data = exchange.export_bundle(a, for_device=identity.identity(b).device_id).data
    with b.activated():
        summary = exchange.import_bundle(b, exchange.read_bundle(b, data))
        assert summary.newer_schema_ops == 2
        assert b.db.execute_sql("select name from person where id = ?", (pid,)).fetchone() == ("新版居民",)
        kept = {(op.tbl, op.counter) for op in oplog.load_ops(b.db)}
        assert ("pet", 2) in kept and oplog.compare_with_log(b) == []
        relay = exchange.export_bundle(b, for_device=identity.identity(c).device_id).data
    with c.activated():
        exchange.import_bundle(c, exchange.read_bundle(c, relay))
        assert c.db.execute_sql("select count(*) from oplog where tbl = 'pet'").fetchone() == (1,)
    for s in (a, b, c):
        s.close()


def test_kept_newer_ops_are_applied_when_the_schema_catches_up(tmp_path):
    """An old (schema v1) database kept an op with `wechat`; opening it with this version applies it."""
    from peewee import SqliteDatabase

    path = tmp_path / "old.sqlite"
    db = SqliteDatabase(str(path))
    migrations.upgrade(db, APPLICATION_ID, target=1)
    pid = new_id()
    db.execute_sql("insert into person (id, deleted, name) values (?, 0, '李四')", (pid,))
    db.execute_sql(
        "insert into oplog (node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind) "
        "values ('aaaa', 1, 'person', ?, ?, '{}', '0001764070000000-000000-aaaa', 'x', 2, 'edit')",
        (pid, '{"deleted":0,"name":"李四","wechat":"lisi_wx"}'))
    db.close()
    store = Store(path, user="b")
    assert store.db.execute_sql("select wechat from person where id = ?", (pid,)).fetchone() == ("lisi_wx",)
    assert oplog.compare_with_log(store) == []
    store.close()


def test_copied_node_and_skewed_clock_are_flagged_not_refused(tmp_path):
    import time as _time

    from db.clock import format_hlc

    a, b = make_replicas(tmp_path, ["a", "b"])
    old_node = a.node_id
    far = format_hlc(int((_time.time() + 3 * 86_400) * 1000), 0, old_node)
    # b holds an op under a's node id that a never wrote: someone runs a copy of a's database.
    stray = oplog.OpRecord(old_node, 1, "person", new_id(), {"name": "副本里的人", "deleted": 0}, {}, far, "复制者")
    with b.activated():
        oplog.apply_ops(b, [stray], rotate=False)
        data = exchange.export_bundle(b, for_device=identity.identity(a).device_id).data
    with a.activated():
        summary = exchange.import_bundle(a, exchange.read_bundle(a, data))
    assert summary.copied_node_detected and summary.skewed
    assert a.node_id != old_node and old_node in a.get_meta("previous_node_ids")
    assert a.db.execute_sql("select name from person").fetchall() == [("副本里的人",)]
    with a.activated():
        changes = oplog.write(a, Person, [{"name": "新的"}])
    assert changes[0].op.startswith(a.node_id + ":")
    a.close()
    b.close()


def test_imported_rows_reach_the_register_search_index(tmp_path):
    """Derived data follows merged rows: a person received in a bundle is found by search."""
    import db.register  # noqa: F401 - installs the register's row hooks
    from db.register.search import Filters, search_ids

    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        pid = oplog.write(a, Person, [{"name": "欧阳娜娜"}])[0].row_id
        data = exchange.export_bundle(a, for_device=identity.identity(b).device_id).data
    with b.activated():
        bundle = exchange.read_bundle(b, data)
        exchange.preview(b, bundle)
        assert search_ids(b, Filters(text="欧阳")).ids == []
        exchange.import_bundle(b, bundle)
        found = search_ids(b, Filters(text="oyn")).ids
        assert len(found) == 1
        assert b.db.execute_sql("select person_id from register_search where rowid = ?", (found[0],)).fetchone() == (pid,)
        with a.activated():
            oplog.delete(a, Person, [pid])
            later = exchange.export_bundle(a, for_device=identity.identity(b).device_id).data
        exchange.import_bundle(b, exchange.read_bundle(b, later))
        assert search_ids(b, Filters(text="欧阳")).ids == []
    a.close()
    b.close()
