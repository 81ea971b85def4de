"""Full backups at page level (db/backup_pages.py): the snapshot is the file as one read transaction
sees it, WAL included; writers that keep the WAL busy get a row backup instead; SQLCipher pages are
decrypted into the backup and encrypted again on restore; deleted data does not travel; the b-tree
reader gives exactly the rows SQLite gives; a restore killed half way changes nothing."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pysqlite3 import dbapi2 as sqlite3

from db import backup, backup_container, backup_files, backup_pages, oplog
from db.accounts import cipher, service
from db.models.register import Person
from db.store import Store
from tests.test_cli import ROOT

PASSWORD = "correct horse 1"


@pytest.fixture
def demo(tmp_path):
    from db.demo import generate

    path = tmp_path / "gd.sqlite"
    store = Store(path, user="setup")
    generate(store, households=30, seed=7)
    store.close()
    return path


def _rows(path: Path, key: bytes | None = None) -> dict:
    conn = backup_files.read_connection(path, key)
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table' "
                                            "and sql not like 'create virtual%' collate nocase")]
        return {n: sorted(conn.execute(f'select * from "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def _names(path: Path, key: bytes | None = None) -> set[str]:
    conn = backup_files.read_connection(path, key)
    try:
        return {r[0] for r in conn.execute("select name from person")}
    finally:
        conn.close()


def _pages_of(made: Path, db_path: Path) -> bytes:
    with backup_container.open_stream(made, db_path=db_path) as (header, stream, frames):
        data = stream.read()
        backup_container.finish_stream(frames)
    assert header.format == backup_container.PAGES
    return data


def test_a_full_backup_holds_the_pages_with_what_is_still_in_the_wal(demo):
    store = Store(demo, user="setup")
    store.db.execute_sql("pragma wal_autocheckpoint = 0")
    oplog.write(store, Person, [{"name": "只在日志里"}])  # in the WAL only, not yet in the file
    assert os.path.getsize(str(demo) + "-wal") > 0
    made = backup.make_backup(store, "manual", incremental=False)
    expected = _rows(demo)
    store.close()
    header = backup_container.read_header(made)
    assert header.format == backup_container.PAGES and header.info["layout"] == "pages"
    assert made.stat().st_size < 0.4 * demo.stat().st_size
    backup.restore(demo, made)
    got = _rows(demo)
    assert "只在日志里" in _names(demo)
    got.pop("meta"), expected.pop("meta")  # the restored file has a new node id
    assert got == expected


def test_a_wal_kept_busy_by_an_old_reader_gets_a_row_backup_that_is_just_as_whole(demo):
    store = Store(demo, user="setup")
    old_reader = sqlite3.connect(str(demo), isolation_level=None)
    old_reader.execute("begin")
    old_reader.execute("select count(*) from person").fetchone()  # holds a snapshot: no whole checkpoint
    oplog.write(store, Person, [{"name": "读者之后"}])
    try:
        made = backup.make_backup(store, "manual", incremental=False)
    finally:
        old_reader.close()
    expected = _rows(demo)
    store.close()
    assert backup_container.read_header(made).format == backup_container.RECORDS
    backup.restore(demo, made)
    got = _rows(demo)
    got.pop("meta"), expected.pop("meta")
    assert got == expected and "读者之后" in _names(demo)


def test_deleted_data_does_not_travel_into_a_page_backup(demo):
    secret = "已删除的秘密地址一二三四五六七八九十"
    conn = sqlite3.connect(str(demo), isolation_level=None)
    conn.execute("create table scratch_notes (body)")
    conn.executemany("insert into scratch_notes values (?)", [(f"{secret}{i}" * 20,) for i in range(400)])
    conn.execute("delete from scratch_notes where rowid % 2 = 0")  # freeblocks inside pages
    conn.execute("insert into person (id, name) select 'x' || rowid, 'y' from scratch_notes where 0")
    conn.execute("drop table scratch_notes")  # free-list pages
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    assert secret.encode() in demo.read_bytes()  # the file still has it (the test can see it)
    store = Store(demo, user="setup")
    made = backup.make_backup(store, "manual", incremental=False)
    store.close()
    pages = _pages_of(made, demo)
    assert secret.encode() not in pages
    backup.restore(demo, made)
    conn = sqlite3.connect(str(demo))
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_the_b_tree_reader_gives_the_rows_sqlite_gives(demo, tmp_path):
    conn = sqlite3.connect(str(demo), isolation_level=None)
    conn.execute("create table wide (id integer primary key, body text, data blob)")
    conn.executemany("insert into wide values (?, ?, ?)",
                     [(i, "长" * (i * 997 % 20000), os.urandom(i * 131 % 9000)) for i in range(1, 300)])
    conn.execute("insert into wide values (-5, 'negative rowid', x'00')")
    conn.execute("create table pairs (a, b, c, primary key (b, a)) without rowid")
    conn.executemany("insert into pairs values (?, ?, ?)", [(i, f"k{i % 7}" * 300, i * 1.5) for i in range(500)])
    conn.execute("alter table pairs add column d default 'later'")
    conn.execute("alter table wide add column e default 42")
    conn.execute("insert into wide (id, body, e) values (100000, 'after', 7)")
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    reader = sqlite3.connect(f"{demo.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    reader.execute("begin")
    expected = list(backup_container.dump(reader))
    reader.close()
    spool = backup_pages.Spool(tmp_path / "pages.spool", 4096)
    try:
        spool.add([demo.read_bytes()])
        got = list(backup_pages.read_rows(spool, 4096, 0))
    finally:
        spool.close()
    assert not (tmp_path / "pages.spool").exists()

    def tables(records):
        out, name = {}, None
        for r in records:
            if r[0] == "table":
                name = r[1]
                out[name] = [r[2], r[3], []]
            elif r[0] == "rows":
                out[name][2].extend(tuple(x) for x in r[1])
        return out

    want, have = tables(expected), tables(got)
    assert set(have) == set(want)
    for name in want:
        assert have[name][:2] == want[name][:2], name
        assert sorted(have[name][2], key=repr) == sorted(want[name][2], key=repr), name
    assert got[-1] == expected[-1]  # the row counts
    assert got[0][1]["user_version"] == expected[0][1]["user_version"]


def test_the_spool_of_a_plain_backup_holds_nothing_readable(demo, tmp_path):
    name = sqlite3.connect(str(demo)).execute("select name from person where length(name) >= 2").fetchone()[0]
    spool = backup_pages.Spool(tmp_path / "x.spool", 4096)
    try:
        data = demo.read_bytes()
        spool.add([data[:5 * 4096], data[5 * 4096:]])
        assert name.encode() not in (tmp_path / "x.spool").read_bytes()
        assert spool.page(3) == data[2 * 4096:3 * 4096]
    finally:
        spool.close()


def test_sqlcipher_pages_are_decrypted_into_the_backup_and_encrypted_again(demo):
    store = Store(demo, user="setup")
    store, _recovery = service.create_first_admin(store, login="admin", password=PASSWORD)
    key = cipher.key_for(demo)
    made = backup.make_backup(store, "manual", incremental=False)
    store.close()
    expected = _rows(demo, key)
    header = backup_container.read_header(made)
    assert header.format == backup_container.PAGES and header.info["cipher"] is True
    pages = _pages_of(made, demo)
    assert pages.startswith(backup_pages.SQLITE_MAGIC) and len(pages) == 4096 * header.info["page_count"]
    assert made.stat().st_size < 0.4 * demo.stat().st_size  # decrypted pages compress
    backup.restore(demo, made, user="admin")
    assert cipher.is_encrypted_file(demo)
    got = _rows(demo, key)
    got.pop("meta"), expected.pop("meta")
    assert got == expected
    conn = cipher.connect(demo, key)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("pragma cipher_integrity_check").fetchall() == []
    finally:
        conn.close()
    # A page altered in the database file is refused by its HMAC, naming the page.
    with demo.open("r+b") as fh:
        fh.seek(4096 * 2 + 100)
        byte = fh.read(1)
        fh.seek(4096 * 2 + 100)
        fh.write(bytes([byte[0] ^ 1]))
    fd = os.open(demo, os.O_RDONLY)
    try:
        codec = backup_pages.CipherPages.of_file(fd, key)
        with pytest.raises(backup_pages.PageError, match="page 3"):
            codec.decrypt(3, os.pread(fd, 4096, 2 * 4096))
    finally:
        os.close(fd)


_SLOW_RESTORE = """
import sys, time
from db import backup, backup_pages
real = backup_pages.write_pages

def slow(target, chunks, info, key):
    def paced():
        for chunk in chunks:
            yield chunk
            time.sleep(0.5)
    return real(target, paced(), info, key)

backup_pages.write_pages = slow
backup.restore(backup.Path(sys.argv[1]), backup.Path(sys.argv[2]))
"""


def test_a_restore_killed_half_way_leaves_the_database_as_it_was(demo):
    store = Store(demo, user="setup")
    made = backup.make_backup(store, "manual", incremental=False)
    oplog.write(store, Person, [{"name": "备份之后"}])
    store.db.execute_sql("pragma wal_checkpoint(truncate)")
    store.close()
    digest = hashlib.sha256(demo.read_bytes()).hexdigest()
    restoring = demo.with_name(demo.name + ".restoring")
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-c", _SLOW_RESTORE, str(demo), str(made)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (restoring.exists() and restoring.stat().st_size > 0):
            assert child.poll() is None and time.monotonic() < deadline, "the restore did not start writing"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert hashlib.sha256(demo.read_bytes()).hexdigest() == digest
    store = Store(demo)
    try:
        assert "备份之后" in {r[0] for r in store.db.execute_sql("select name from person")}
    finally:
        store.close()
    backup.restore(demo, made)  # the half-written file left behind does not stand in the way
    assert not restoring.exists()
    store = Store(demo)
    try:
        assert "备份之后" not in {r[0] for r in store.db.execute_sql("select name from person")}
    finally:
        store.close()
