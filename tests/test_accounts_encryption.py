"""Encryption at rest: nothing readable in the database file, its WAL, a backup or a bundle."""

from __future__ import annotations

import pytest

from db.accounts import cipher, service
from db.backup import list_backups, make_backup, restore
from db.errors import DatabaseOpenError
from db.store import Store
from tests.leak_helpers import leaks as _leaks
from tests.leak_helpers import resident_secrets

PASSWORD = "correct horse 1"


@pytest.fixture
def plain(tmp_path):
    from db.demo import generate

    path = tmp_path / "gd.sqlite"
    store = Store(path, user="setup")
    generate(store, households=30, seed=5)
    make_backup(store, "manual")  # a plain backup from before accounts existed
    secrets = resident_secrets(store, 3)
    store.close()
    return path, secrets


def _files(path):
    folder = path.parent
    return [p for p in folder.rglob("*") if p.is_file()]


def test_grep_finds_no_name_id_number_or_address_anywhere(plain, tmp_path):
    from db.register.households import update_household
    from db.sync.exchange import export_to_file

    path, secrets = plain
    assert secrets and _leaks([path] + list_backups(path), secrets)  # the test can see plain text
    store = Store(path, user="setup")
    store, _recovery = service.create_first_admin(store, login="admin", password=PASSWORD)
    # A write that stays in the WAL while we look (the store is open).
    home = store.db.execute_sql("select id from household limit 1").fetchone()[0]
    update_household(store, household_id=home, values={"address": secrets[0][2]})
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    make_backup(store, "manual")
    bundle = tmp_path / "stick" / "handover.gdb"
    bundle.parent.mkdir()
    export_to_file(store, bundle, full=True, passphrase="stick passphrase")
    files = _files(path) + [bundle]
    assert path in files and wal in files and len(list_backups(path)) >= 3
    assert _leaks(files, secrets) == []
    # The search index is inside the encrypted file and still works (FTS5 trigram: 3+ characters).
    from db.register.index import ensure_index
    from db.register.search import Filters, search_ids

    ensure_index(store)
    assert search_ids(store, Filters(text=secrets[0][1][-8:], status="all")).ids
    assert search_ids(store, Filters(text=secrets[0][0], status="all")).ids
    store.close()


def test_encrypted_backup_restores_and_a_plain_backup_is_converted(plain):
    path, _secrets = plain
    old_plain = list_backups(path)[0]
    copy = old_plain.with_name("keep-plain.bin")
    copy.write_bytes(old_plain.read_bytes())  # a plain copy kept elsewhere (e.g. on a stick)
    store, _recovery = service.create_first_admin(Store(path), login="admin", password=PASSWORD)
    n = store.db.execute_sql("select count(*) from person").fetchone()[0]
    backup = make_backup(store, "manual")
    assert cipher.is_encrypted_file(backup)
    store.db.execute_sql("delete from register_search")
    store.close()
    restore(path, backup, user="admin")
    again = Store(path)
    assert again.db.execute_sql("select count(*) from person").fetchone()[0] == n
    again.close()
    # A plain backup restored into an encrypted database: converted, never downgraded.
    plain_backup = old_plain.with_name(old_plain.name.replace("manual", "old"))
    plain_backup.write_bytes(copy.read_bytes())
    copy.unlink()
    restore(path, plain_backup, user="admin")
    assert cipher.is_encrypted_file(path)
    cipher.forget_key(path)
    store = service.open_store(path, login="admin", password=PASSWORD)
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] == n
    store.close()


def test_a_damaged_encrypted_file_gives_a_clear_message(plain):
    path, _secrets = plain
    store, _recovery = service.create_first_admin(Store(path), login="admin", password=PASSWORD)
    store.close()
    data = bytearray(path.read_bytes())
    data[5000:5100] = b"\0" * 100  # page 2
    data[10:30] = b"\xff" * 20  # page 1
    path.write_bytes(bytes(data))
    cipher.forget_key(path)
    with pytest.raises(DatabaseOpenError, match="损坏|备份"):
        service.open_store(path, login="admin", password=PASSWORD)


def test_incremental_backups_of_an_encrypted_database_are_encrypted_and_restore(plain):
    from db.register.households import update_household

    path, secrets = plain
    store, _recovery = service.create_first_admin(Store(path), login="admin", password=PASSWORD)
    make_backup(store, "manual", incremental=False)
    home = store.db.execute_sql("select id from household limit 1").fetchone()[0]
    update_household(store, household_id=home, values={"address": secrets[1][2] + "东侧"})
    incremental = make_backup(store, "import")
    assert "-incr-" in incremental.name and cipher.is_encrypted_file(incremental)
    assert _leaks([incremental], secrets) == []
    store.close()
    restore(path, incremental, user="admin")
    store = Store(path)
    address = store.db.execute_sql("select address from household where id = ?", (home,)).fetchone()[0]
    assert address == secrets[1][2] + "东侧"
    store.close()
