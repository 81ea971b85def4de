"""Backups you can trust (DESIGN.md "Sync invariants"): a backup exists before a migration touches
the file, and a failing migration leaves that backup and the file unchanged; every backup is
checked (quick_check) and synced before it counts; a restore refuses while another GridDesk has
the database open; the read-back after writing a USB stick reads the stick, not the page cache."""

from __future__ import annotations

import hashlib
import os
import sqlite3 as std_sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db import backup, backup_files, durable, migrations, oplog
from db.errors import DatabaseOpenError
from db.models.register import Person
from db.store import Store
from db.sync import usb
from tests.test_cli import ROOT


def _state(path: Path) -> dict:
    """What a migration could change: schema version, table definitions, every row."""
    conn = std_sqlite3.connect(path)
    try:
        state = {"version": conn.execute("pragma user_version").fetchone()[0],
                 "schema": sorted(conn.execute("select type, name, sql from sqlite_master").fetchall(), key=repr)}
        for (name,) in conn.execute("select name from sqlite_master where type = 'table' and name not like "
                                    "'register_%' and name not like 'sqlite_%'").fetchall():
            state[name] = sorted(conn.execute(f'select * from "{name}"').fetchall(), key=repr)
    finally:
        conn.close()
    return state


def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    store = Store(path, user="甲")
    oplog.write(store, Person, [{"name": "王五"}, {"name": "赵六"}])
    store.db.execute_sql("pragma wal_checkpoint(truncate)")
    store.close()
    return path


def test_a_migration_failing_half_way_leaves_the_backup_and_an_unchanged_file(tmp_path, monkeypatch):
    path = _ledger(tmp_path)
    before = _state(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    latest = max(migrations.MIGRATIONS)

    def adds_a_column(db):
        migrations.add_column(db, "person", "nickname")

    def fails(db):
        db.execute_sql("create table half_way (x)")
        raise RuntimeError("disk quota")

    monkeypatch.setitem(migrations.MIGRATIONS, latest + 1, adds_a_column)
    monkeypatch.setitem(migrations.MIGRATIONS, latest + 2, fails)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", latest + 2)
    with pytest.raises(DatabaseOpenError) as err:
        Store(path, user="甲")
    assert "文件保持原样未变" in str(err.value) and "premigrate" in str(err.value)
    # Not half-way: the step that worked is rolled back with the one that failed.
    assert _state(path) == before
    monkeypatch.undo()
    (made,) = [p for p in backup.list_backups(path) if "-premigrate" in p.name]
    assert made.suffix == ".gdbk" and "王五".encode() not in made.read_bytes()  # compressed and encrypted
    opened = tmp_path / "opened.sqlite"
    backup_files.materialize(made, opened, db_path=path, key=None)
    conn = std_sqlite3.connect(f"file:{opened}?mode=ro&immutable=1", uri=True)
    try:
        assert conn.execute("pragma quick_check").fetchone() == ("ok",)
        assert sorted(conn.execute("select name from person")) == [("王五",), ("赵六",)]
    finally:
        conn.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # not a byte changed
    store = Store(path, user="甲")  # the real version still opens it
    store.close()


def test_the_backup_before_a_migration_is_made_before_any_step_runs(tmp_path, monkeypatch):
    path = _ledger(tmp_path)
    latest = max(migrations.MIGRATIONS)
    seen = []

    def step(db):
        seen.append([p.name for p in backup.list_backups(path)])

    monkeypatch.setitem(migrations.MIGRATIONS, latest + 1, step)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", latest + 1)
    Store(path, user="甲").close()
    assert len(seen) == 1 and any("-premigrate" in name for name in seen[0])


def test_every_backup_is_durable_checked_and_synced_before_it_counts(tmp_path, monkeypatch):
    path = _ledger(tmp_path)
    store = Store(path, user="甲")
    events = []
    real_make_durable, real_fsync, real_check = durable.make_durable, durable.fsync_file, backup_files._check_written
    monkeypatch.setattr(durable, "make_durable", lambda s: (events.append("durable"), real_make_durable(s)))
    monkeypatch.setattr(durable, "fsync_file", lambda p: (events.append(("fsync", Path(p).suffix)), real_fsync(p)))
    monkeypatch.setattr(backup_files, "_check_written",
                        lambda t, d, c: (events.append("read back"), real_check(t, d, c)))
    first = backup.make_backup(store, "manual")
    # The database is made durable first (a backup must not hold what a power cut could take
    # back), then the copy is read back whole and synced under its temporary name, then renamed.
    assert events[0] == "durable" and events[-2:] == ["read back", ("fsync", ".part")]
    assert first.exists() and not first.with_name(first.name + ".part").exists()

    def damaged(tmp, db_path, counts):
        raise DatabaseOpenError("part 3 does not match its checksum")

    monkeypatch.setattr(backup_files, "_check_written", damaged)
    oplog.write(store, Person, [{"name": "孙七"}])
    with pytest.raises(DatabaseOpenError):
        backup.make_backup(store, "manual")
    assert backup.list_backups(path) == [first]  # the failed copy does not count, the older one stays
    assert not list(backup.backup_dir(path).glob("*.part*"))
    store.close()


def test_an_incremental_backup_is_checked_too(tmp_path, monkeypatch):
    path = _ledger(tmp_path)
    store = Store(path, user="甲")
    backup.make_backup(store, "manual")
    oplog.write(store, Person, [{"name": "孙七"}])
    checks = []
    real_load = backup.incr.load_scratch

    def load_scratch(path, **kwargs):
        checks.append(Path(path).name)
        return real_load(path, **kwargs)

    monkeypatch.setattr(backup.incr, "load_scratch", load_scratch)
    made = backup.make_backup(store, "import")
    assert "-incr-" in made.name and checks == [made.name + ".part"]  # read back whole before it counts
    store.close()


_HOLD_OPEN = """
import sys, time
from db.store import Store
store = Store(sys.argv[1])
store.db.execute_sql("select count(*) from person").fetchone()
print("OPEN", flush=True)
time.sleep(120)
"""


def test_restore_refuses_while_another_griddesk_has_the_database_open(tmp_path):
    path = _ledger(tmp_path)
    store = Store(path, user="甲")
    old = backup.make_backup(store, "manual")
    oplog.write(store, Person, [{"name": "孙七"}])
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_OPEN, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True)
    try:
        assert proc.stdout.readline().strip() == "OPEN"
        assert backup.database_in_use(path)
        with pytest.raises(DatabaseOpenError) as err:
            backup.restore(path, old, user="甲")
        assert "正在另一个 GridDesk 窗口或程序中打开" in str(err.value) and "没有做任何更改" in str(err.value)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    store = Store(path, user="甲")
    assert store.db.execute_sql("select count(*) from person").fetchone() == (3,)  # unchanged
    store.close()
    assert not backup.database_in_use(path)
    backup.restore(path, old, user="甲")  # once it is closed there, the restore goes ahead
    store = Store(path, user="甲")
    assert store.db.execute_sql("select count(*) from person").fetchone() == (2,)
    store.close()


def test_the_usb_read_back_reads_the_stick_not_the_page_cache(tmp_path, monkeypatch):
    calls = []
    real_read = usb.read_from_device

    def advise(fd, offset, length, advice):
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), offset, length, advice))

    monkeypatch.setattr(os, "posix_fadvise", advise)
    monkeypatch.setattr(usb, "read_from_device", lambda p: (calls.append("read"), real_read(p))[1])
    target = usb.safe_write(tmp_path / "GD1203A.GDB", b"bundle" * 1000)
    assert target.read_bytes() == b"bundle" * 1000
    assert calls[0] == "read"
    assert calls[1] == (str(target), 0, 0, os.POSIX_FADV_DONTNEED)  # cached pages dropped, then read
    # A stick that gives back something else is caught.
    monkeypatch.setattr(usb, "read_from_device", lambda p: b"garbled")
    with pytest.raises(usb.SyncError) as err:
        usb.safe_write(tmp_path / "GD1203B.GDB", b"bundle")
    assert "读回" in str(err.value)


def test_a_damaged_full_backup_is_refused_before_the_swap(tmp_path):
    path = _ledger(tmp_path)
    store = Store(path, user="甲")
    made = backup.make_backup(store, "manual")
    store.close()
    data = bytearray(made.read_bytes())
    for i in range(len(data) - 40, len(data) - 28):  # garble the end of the last part
        data[i] ^= 0x5A
    made.write_bytes(bytes(data))
    before = _state(path)
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, made, user="甲")
    assert "已损坏" in str(err.value) and "没有做任何更改" in str(err.value)  # its checksum does not match
    assert _state(path) == before
    assert not path.with_name(path.name + ".restoring").exists()
