"""Backups compressed and encrypted (db/backup_container.py): nothing readable by grep in any
backup, plain or encrypted database; restores through the recovery key; older versions' backups
still restore; damaged or foreign files are refused and change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from db import backup, backup_container, backup_incremental
from db.accounts import cipher, service
from db.errors import DatabaseOpenError
from db.models.register import Person
from db.store import Store
from tests.leak_helpers import leaks as _leaks
from tests.leak_helpers import resident_secrets

PASSWORD = "correct horse 1"
DAY = dt.datetime(2026, 11, 25, 8, 0)


@pytest.fixture
def demo(tmp_path):
    from db.demo import generate

    path = tmp_path / "gd.sqlite"
    store = Store(path, user="setup")
    generate(store, households=30, seed=5)
    secrets = resident_secrets(store, 5)
    store.close()
    return path, secrets


def _state(path):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.parent.rglob("*")) if p.is_file()}


def _persons(path) -> int:
    store = Store(path)
    try:
        return store.db.execute_sql("select count(*) from person").fetchone()[0]
    finally:
        store.close()


def _edit_an_address(store, secrets, suffix: str) -> str:
    from db.register.households import update_household

    home = store.db.execute_sql("select id from household order by id limit 1").fetchone()[0]
    update_household(store, household_id=home, values={"address": secrets[1][2] + suffix})
    return home


def test_grep_finds_nothing_in_the_backups_of_a_plain_database_and_they_restore(demo):
    path, secrets = demo
    assert secrets and _leaks([path], secrets)  # the test can see plain text (the database is plain)
    store = Store(path, user="setup")
    full = backup.make_backup(store, "daily", now=DAY, incremental=False)
    home = _edit_an_address(store, secrets, "西侧")
    incremental = backup.make_backup(store, "import", now=DAY.replace(hour=9))
    store.close()
    assert full.suffix == ".gdbk" and "-incr-" in incremental.name
    assert _leaks([full, incremental], secrets) == []
    # Compressed: well under the 40 % of the file that was the target.
    assert full.stat().st_size < 0.4 * path.stat().st_size
    # Its key is beside the database, readable by this user only, not in the backups folder.
    key_file = backup_container.local_key_path(path)
    assert key_file.stat().st_size == 32 and (key_file.stat().st_mode & 0o077) == 0
    assert not any(p.name.endswith(".backup-key") for p in backup.backup_dir(path).rglob("*"))

    backup.restore(path, incremental)
    store = Store(path)
    assert store.db.execute_sql("select address from household where id = ?", (home,)).fetchone()[0] == \
        secrets[1][2] + "西侧"
    store.close()
    n = _persons(path)
    backup.restore(path, full)
    store = Store(path)
    try:
        assert store.db.execute_sql("select address from household where id = ?", (home,)).fetchone()[0] != \
            secrets[1][2] + "西侧"
        assert store.db.execute_sql("select count(*) from person").fetchone()[0] == n
        # The search index came back with the rows (the full-text tables' own check passes).
        store.db.execute_sql("insert into register_fts(register_fts) values('integrity-check')")
        from db import oplog

        assert oplog.compare_with_log(store) == []
    finally:
        store.close()


def test_an_encrypted_databases_backups_open_with_the_recovery_key_only(demo):
    path, secrets = demo
    store = Store(path, user="setup")
    plain_era = backup.make_backup(store, "manual", now=DAY, incremental=False)
    store, recovery = service.create_first_admin(store, login="admin", password=PASSWORD)
    # The plain era's backup now opens with the database's key; the local key is kept only wrapped.
    assert backup_container.read_header(plain_era).wrap["kek"] == "db"
    assert not backup_container.local_key_path(path).read_bytes().startswith(b"\0") and \
        backup_container.local_key_path(path).stat().st_size != 32
    full = backup.make_backup(store, "daily", now=DAY.replace(hour=9), incremental=False)
    home = _edit_an_address(store, secrets, "东侧")
    incremental = backup.make_backup(store, "import", now=DAY.replace(hour=10))
    assert backup.describe(incremental).base == full
    store.close()
    assert _leaks(backup.list_backups(path), secrets) == []
    assert _leaks([path], secrets) == []

    # Every password forgotten, a new process: without a key nothing opens, and nothing changes.
    cipher.forget_key(path)
    before = _state(path)
    with pytest.raises(DatabaseOpenError):
        backup.restore(path, incremental)
    assert _state(path) == before
    # The office recovery key unlocks the database, and with it its backups.
    store = service.recover(path, recovery_key=recovery, login="admin", new_password=PASSWORD + "x")
    store.close()
    backup.restore(path, incremental, user="admin")
    assert cipher.is_encrypted_file(path)
    store = Store(path)
    assert store.db.execute_sql("select address from household where id = ?", (home,)).fetchone()[0] == \
        secrets[1][2] + "东侧"
    store.close()
    backup.restore(path, plain_era, user="admin")  # a backup of the plain database: converted
    assert cipher.is_encrypted_file(path)
    cipher.forget_key(path)
    store = service.open_store(path, login="admin", password=PASSWORD + "x")
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] > 0
    store.close()


def _old_full(store, path, when):
    """A full backup as older versions wrote it: SQLite's online backup copy of the file."""
    folder = backup.backup_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}-{when:%Y%m%d-%H%M%S}-daily.sqlite"
    from pysqlite3 import dbapi2 as pysqlite3

    dest = pysqlite3.connect(str(target))
    store.db.connection().backup(dest)
    dest.close()
    return target


def test_backups_of_older_versions_still_restore_and_are_listed(demo):
    path, secrets = demo
    store = Store(path, user="setup")
    old = _old_full(store, path, DAY)
    base = backup_incremental.read_base(old)
    oplog_write(store, "旧版增量")
    conn, _values = backup_incremental.scratch_incremental(store, base, reason="import", now=DAY)
    old_inc = old.with_name(f"{path.stem}-{DAY.replace(hour=9):%Y%m%d-%H%M%S}-import-incr-"
                            f"{old.name[len(path.stem) + 1:-len('.sqlite')]}.sqlite")
    from pysqlite3 import dbapi2 as pysqlite3

    dest = pysqlite3.connect(str(old_inc))  # an older version wrote it as an SQLite file
    conn.backup(dest)
    dest.close()
    conn.close()
    oplog_write(store, "之后")
    store.close()
    listed = backup.list_backups(path)
    assert old in listed and old_inc in listed and backup.describe(old_inc).base == old
    backup.restore(path, old_inc)
    store = Store(path)
    names = {r[0] for r in store.db.execute_sql("select name from person")}
    store.close()
    assert "旧版增量" in names and "之后" not in names
    backup.restore(path, old)
    store = Store(path)
    names = {r[0] for r in store.db.execute_sql("select name from person")}
    store.close()
    assert "旧版增量" not in names
    # An older version's plain backup into an encrypted database: converted, never downgraded.
    store, _recovery = service.create_first_admin(Store(path), login="admin", password=PASSWORD)
    store.close()
    assert cipher.is_encrypted_file(old)  # (encrypted in place when the accounts were made)
    backup.restore(path, old, user="admin")
    assert cipher.is_encrypted_file(path) and _leaks([path], secrets) == []


def oplog_write(store, name: str) -> None:
    from db import oplog

    oplog.write(store, Person, [{"name": name}])


@pytest.mark.parametrize("damage", ["last part missing", "a byte changed", "header changed", "empty"])
def test_a_damaged_backup_is_refused_in_chinese_and_changes_nothing(demo, damage):
    path, _secrets = demo
    store = Store(path, user="setup")
    made = backup.make_backup(store, "manual", incremental=False)
    store.close()
    data = made.read_bytes()
    header = backup_container.read_header(made)
    if damage == "last part missing":
        # Cut exactly at a frame boundary: what is left authenticates, but the flagged last frame is gone.
        start = len(backup_container.MAGIC) + 4 + int.from_bytes(data[8:12], "big")
        ends = []
        at = start
        while at < len(data):
            at += 4 + int.from_bytes(data[at:at + 4], "big")
            ends.append(at)
        assert len(ends) >= 1
        made.write_bytes(data[:ends[-2]] if len(ends) > 1 else data[:start])
    elif damage == "a byte changed":
        at = len(data) // 2
        made.write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:])
    elif damage == "header changed":
        made.write_bytes(data.replace(header.info["node_id"].encode(), b"0" * len(header.info["node_id"]), 1))
    else:
        made.write_bytes(b"")
    before = _state(path)
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, made)
    assert "没有做任何更改" in err.value.message or "不是" in err.value.message, err.value.message
    assert _state(path) == before
    assert not path.with_name(path.name + ".restoring").exists()


def test_a_backup_of_another_database_says_whose_key_it_needs(demo, tmp_path):
    path, _secrets = demo
    other = tmp_path / "other" / "gd.sqlite"
    other.parent.mkdir()
    store = Store(other, user="setup")
    made = backup.make_backup(store, "manual")
    store.close()
    # Copied from another laptop (a stick) into this database's backups folder, without its key.
    backup.backup_dir(path).mkdir(parents=True, exist_ok=True)
    foreign = backup.backup_dir(path) / made.name
    foreign.write_bytes(made.read_bytes())
    Store(path).close()
    before = _state(path)
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, foreign)
    assert "另一台电脑" in err.value.message and "没有做任何更改" in err.value.message
    assert _state(path) == before


def test_a_backup_is_written_in_bounded_frames(demo, monkeypatch):
    """The stream goes to disk frame by frame (the writer never holds more than one frame)."""
    path, _secrets = demo
    monkeypatch.setattr(backup_container, "FRAME", 4096)
    seen = []
    real = backup_container._FrameWriter._frame

    def frame(self, plain, *, last):
        seen.append(len(plain))
        assert len(self.buf) <= 2 * 4096 + (1 << 17)
        return real(self, plain, last=last)

    monkeypatch.setattr(backup_container._FrameWriter, "_frame", frame)
    store = Store(path, user="setup")
    made = backup.make_backup(store, "manual")
    store.close()
    assert len(seen) > 10 and max(seen) == 4096 and os.path.getsize(made) > 10 * 4096
    backup.restore(path, made)
