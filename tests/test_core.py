"""The data core: clock, op log, rebuild, migrations, node identity, backups, bad files."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3 as std_sqlite3
import sys

import pytest

from db import backup, migrations, oplog
from db.clock import HybridClock, parse_hlc
from db.errors import DatabaseOpenError
from db.models.register import Household, Person
from db.store import Store


def test_clock_is_monotonic_even_when_the_wall_clock_jumps_back():
    wall = [1_000.0]
    clock = HybridClock("n1", wall=lambda: wall[0])
    stamps = [clock.now()]
    for step in (0.5, -30.0, 0.0, -3600.0, 10.0):
        wall[0] += step
        stamps.append(clock.now())
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_clock_never_goes_backwards_across_restarts(tmp_path):
    path = tmp_path / "a.sqlite"
    s = Store(path)
    oplog.write(s, Person, [{"name": "甲"}])
    last = s.get_meta("hlc")
    s.close()
    s2 = Store(path)
    s2.clock._wall = lambda: 10.0  # the machine's clock went back to 1970
    oplog.write(s2, Person, [{"name": "乙"}])
    hlcs = [r[0] for r in s2.db.execute_sql("select hlc from oplog order by counter")]
    assert hlcs == sorted(hlcs) and hlcs[-1] > last
    s2.close()


def test_observing_a_skewed_clock_is_flagged_not_refused():
    clock = HybridClock("n1", wall=lambda: 1_000.0)
    far = f"{(1_000 + 3600) * 1000:016d}-000000-other"
    assert clock.observe(far) is True
    assert parse_hlc(clock.now())[0] >= parse_hlc(far)[0]


def test_every_change_has_its_op_in_the_same_transaction(store):
    changes = oplog.write(store, Person, [{"name": "张三"}, {"name": "李四"}])
    assert [c.created for c in changes] == [True, True]
    ops = store.db.execute_sql("select row_id, fields from oplog").fetchall()
    assert {r for r, _ in ops} == {c.row_id for c in changes}
    # A failing transaction leaves neither the row nor its op.
    with pytest.raises(RuntimeError):
        with store.db.atomic():
            oplog.write(store, Person, [{"name": "王五"}])
            raise RuntimeError("boom")
    assert Person.select().count() == 2
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == 2
    # The counter did not advance for the rolled-back op: counters stay gap-free.
    oplog.write(store, Person, [{"name": "赵六"}])
    assert oplog.version_vector(store.db) == {store.node_id: 3}


def test_update_supersedes_what_the_writer_saw_one_op_per_row(store):
    [c] = oplog.write(store, Person, [{"name": "张三", "phone": "13800000000"}])
    [u] = oplog.write(store, Person, [{"id": c.row_id, "phone": "13900000000"}])
    assert not u.created
    row = store.db.execute_sql("select supersedes from oplog where counter = 2").fetchone()[0]
    assert f'"phone":["{c.op}"]' in row
    p = Person.get_by_id(c.row_id)
    assert (p.name, p.phone) == ("张三", "13900000000")
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == 2


def test_rebuild_from_the_log_equals_the_tables(store):
    hh = oplog.write(store, Household, [{"address": f"幸福里{i}栋"} for i in range(30)])
    people = oplog.write(store, Person, [{"name": f"居民{i}", "sex": "男"} for i in range(50)])
    oplog.write(store, Person, [{"id": p.row_id, "sex": "女"} for p in people[::3]])
    oplog.delete(store, Household, [hh[0].row_id])
    before = {p.id: (p.name, p.sex, p.deleted) for p in Person.select()}
    assert oplog.compare_with_log(store) == []
    oplog.rebuild(store)
    after = {p.id: (p.name, p.sex, p.deleted) for p in Person.select()}
    assert before == after
    assert Household.get_by_id(hh[0].row_id).deleted == 1


def test_check_finds_a_table_that_drifted_from_the_log(store):
    [c] = oplog.write(store, Person, [{"name": "张三"}])
    store.db.execute_sql("update person set name = '篡改' where id = ?", (c.row_id,))
    problems = oplog.compare_with_log(store)
    assert problems and problems[0]["column"] == "name" and problems[0]["log_value"] == "张三"
    oplog.rebuild(store)
    assert Person.get_by_id(c.row_id).name == "张三"


def test_migration_from_the_previous_version_keeps_data(tmp_path):
    from peewee import SqliteDatabase

    path = tmp_path / "old.sqlite"
    db = SqliteDatabase(str(path))
    previous = max(v for v in migrations.MIGRATIONS if v < migrations.SCHEMA_VERSION)
    migrations.upgrade(db, 0x47524444, target=previous)
    db.execute_sql("insert into person (id, deleted, name) values ('p1', 0, '老数据')")
    db.close()
    s = Store(path)
    assert s.schema_version() == migrations.SCHEMA_VERSION
    assert Person.get_by_id("p1").name == "老数据"
    assert "wechat" in {c.name for c in s.db.get_columns("person")}
    s.close()


def test_migrations_give_the_schema_the_models_declare(store):
    from db.models import LOCAL_MODELS, SYNCED_MODELS

    for model in LOCAL_MODELS + SYNCED_MODELS:
        declared = {f.column_name for f in model._meta.sorted_fields}
        actual = {c.name for c in store.db.get_columns(model._meta.table_name)}
        assert declared == actual, model._meta.table_name


def test_a_copied_file_gets_a_new_node_id(tmp_path):
    a = tmp_path / "a.sqlite"
    s = Store(a)
    oplog.write(s, Person, [{"name": "张三"}])
    node = s.node_id
    s.close()
    b = tmp_path / "copy.sqlite"
    shutil.copyfile(a, b)
    copy = Store(b)
    assert copy.node_id != node and copy.node_rotated
    oplog.write(copy, Person, [{"name": "李四"}])
    nodes = {r[0] for r in copy.db.execute_sql("select node from oplog")}
    assert nodes == {node, copy.node_id}
    copy.close()
    again = Store(a)
    assert again.node_id == node and not again.node_rotated
    again.close()


def test_an_op_with_our_node_id_that_we_never_wrote_rotates_the_node(store):
    foreign = oplog.OpRecord(store.node_id, 99, "person", "x1", {"name": "外来", "deleted": 0}, {},
                             store.tick(), "someone")
    old = store.node_id
    result = oplog.apply_ops(store, [foreign])
    assert result.copied_node_detected and store.node_id != old
    assert Person.get_by_id("x1").name == "外来"


def test_backup_restores_and_the_restored_file_gets_a_new_node(tmp_path):
    path = tmp_path / "g.sqlite"
    s = Store(path)
    oplog.write(s, Person, [{"name": "备份前"}])
    copy = backup.make_backup(s, "manual")
    oplog.write(s, Person, [{"name": "备份后"}])
    node = s.node_id
    s.close()
    safety = backup.restore(path, copy)
    assert safety is not None and safety.exists()
    r = Store(path)
    assert sorted(p.name for p in Person.select()) == ["备份前"]
    assert r.node_id != node
    r.close()
    assert backup.latest_backup(path) is not None


def test_daily_backup_once_per_day(tmp_path):
    import datetime as dt

    path = tmp_path / "g.sqlite"
    Store(path).close()
    s = Store(path)
    day = dt.datetime(2026, 11, 25, 8, 0)
    assert backup.daily_backup(s, now=day) is not None
    assert backup.daily_backup(s, now=day.replace(hour=17)) is None
    assert backup.daily_backup(s, now=day + dt.timedelta(days=1)) is not None
    s.close()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refusal(path) -> str:
    """Opening the file is refused and leaves it byte for byte as it was; the message."""
    before = _digest(path)
    with pytest.raises(DatabaseOpenError) as err:
        Store(path)
    assert _digest(path) == before
    return err.value.message


def test_a_text_file_is_refused_in_chinese_and_left_alone(tmp_path):
    f = tmp_path / "notes.sqlite"
    f.write_text("这不是数据库", encoding="utf-8")
    message = _refusal(f)
    assert "不是" in message and "网格台账" in message


def test_another_programs_sqlite_file_is_refused(tmp_path):
    f = tmp_path / "other.db"
    con = std_sqlite3.connect(f)
    con.execute("create table t(x)")
    con.commit()
    con.close()
    assert "其他程序" in _refusal(f)


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    f = tmp_path / "new.sqlite"
    Store(f).close()
    con = std_sqlite3.connect(f)
    con.execute(f"pragma user_version = {migrations.SCHEMA_VERSION + 5}")
    con.commit()
    con.close()
    assert "更新的版本" in _refusal(f)


def test_a_damaged_database_is_refused(tmp_path):
    f = tmp_path / "bad.sqlite"
    s = Store(f)
    oplog.write(s, Person, [{"name": f"居民{i}"} for i in range(200)])
    s.db.execute_sql("pragma wal_checkpoint(truncate)")
    s.close()
    data = bytearray(f.read_bytes())
    data[40:100] = b"\xff" * 60  # the header fields after the magic string
    f.write_bytes(bytes(data))
    with pytest.raises(DatabaseOpenError) as err:
        Store(f)
    assert err.value.message


def test_standard_tags_set_up_on_two_laptops_merge_into_one_list(tmp_path):
    from db.models.register import Tag
    from db.register.tags import DEFAULT_TAGS, ensure_default_tags

    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    with a.activated():
        ensure_default_tags(a)
    with b.activated():
        ensure_default_tags(b)
        ops = list(oplog.load_ops(b.db))
    with a.activated():
        result = oplog.apply_ops(a, ops)
        assert result.conflicts == 0
        names = [t.name for t in Tag.select().where(Tag.deleted == 0)]
    assert sorted(names) == sorted(n for n, _d, _s in DEFAULT_TAGS)
    a.close()
    b.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_freed_after_bulk_work_goes_back_to_the_system():
    import psutil

    from db.bulk import release_memory

    process = psutil.Process()
    blocks = [("x" * 2000) + str(i) for i in range(100_000)]  # ~200 MB in blocks malloc keeps for reuse
    keep = blocks[::50]  # live objects scattered over the heap, as after an import: no automatic trim
    del blocks
    from db.register import index

    index.name_pinyin("张三")
    before = process.memory_info().rss
    release_memory()
    assert before - process.memory_info().rss > 50_000_000 and keep
    assert index.name_pinyin.cache_info().currsize == 0  # the search index's caches went too
