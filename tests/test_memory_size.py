"""A smaller file (migration 14): packed op fields, no index another index serves.

An older file (its op log as JSON text, the redundant indexes in place, schema 13) is migrated
when opened: the register tables still equal a rebuild from the log, the log still says exactly
what it said (the same ops, the same JSON text), searches give the same rows, and the file is
smaller. A new file is written in the packed form from the start.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from peewee import SqliteDatabase

from db import migrations, opfields, oplog, opstore
from db.backup_files import backup_dir
from db.demo import generate
from db.models import SYNCED_MODELS
from db.models.register import Person
from db.register import search
from db.register.index import ensure_index, rebuild_index
from db.register.search import Filters, search_ids
from db.store import APPLICATION_ID, Store

QUERIES = ("张", "zh", "王秀", "1990", "138", "幸福里", "wjh", "lsm", "栋1单元", "汉族", "x")


def _table_rows(store) -> dict[str, list[tuple]]:
    out = {}
    for model in SYNCED_MODELS:
        table = model._meta.table_name
        out[table] = store.db.execute_sql(f'select * from "{table}" order by id').fetchall()
    return out


def _log(store) -> list[tuple]:
    """The log as bundles and the hub see it: every op's row with its fields as JSON text."""
    rows = store.db.execute_sql(f"select {oplog._OP_COLUMNS} from oplog order by node, counter").fetchall()
    return opfields.wire_rows(store.db, rows)


def _searches(store) -> dict[str, list[dict]]:
    ensure_index(store)
    out = {}
    for text in QUERIES:
        for status in ("active", "all"):
            ids = search_ids(store, Filters(text=text, status=status), limit=None).ids
            rows = search.fetch_rows(store, ids)
            out[f"{text}/{status}"] = [{k: v for k, v in rows[i].items() if k != "rowid"} for i in ids]
    return out


def _v13_index_sql() -> dict[str, str]:
    """The indexes a schema-13 file has (made by migrations 1-13 in memory)."""
    db = SqliteDatabase(":memory:")
    migrations.upgrade(db, APPLICATION_ID, target=13)
    return dict(db.execute_sql("select name, sql from sqlite_master where type = 'index' and sql is not null"))


_V16_OPLOG = ('CREATE TABLE "oplog" ("node" TEXT NOT NULL, "counter" INTEGER NOT NULL, "tbl" TEXT NOT NULL, '
              '"row_id" TEXT NOT NULL, "fields" TEXT NOT NULL, "supersedes" TEXT NOT NULL, "hlc" TEXT NOT NULL, '
              '"user" TEXT, "schema" INTEGER NOT NULL, "kind" TEXT NOT NULL, "prev" BLOB, PRIMARY KEY ("node", "counter"))')


def _unstore_log(conn) -> None:
    """The op log back in its schema-16 table (logical values, rowids kept) instead of db/opstore.py's."""
    cols = ",".join(opstore.COLUMNS)
    conn.execute("create temp table log16 as select rowid as r, " + cols + " from oplog")
    conn.execute("drop view oplog")
    for table in ("oplog_store", "oplog_node", "oplog_table"):
        conn.execute(f"drop table {table}")
    conn.execute(_V16_OPLOG)
    conn.execute(f"insert into oplog (rowid, {cols}) select r, {cols} from temp.log16 order by r")
    conn.execute('CREATE INDEX "oplog_tbl_row_id" ON "oplog" ("tbl", "row_id")')
    conn.execute("drop table temp.log16")


def _make_v16(path: Path) -> None:
    """Turn a current file into what schema 16 wrote: the op log as one table of text keys."""
    db = SqliteDatabase(str(path))
    with db.atomic():
        _unstore_log(db.connection())
        db.execute_sql("pragma user_version = 16")
    db.execute_sql("vacuum")
    db.close()


def _make_v13(path: Path) -> None:
    """Turn a current file into what schema 13 wrote: JSON text fields, every index, no key table."""
    db = SqliteDatabase(str(path))
    conn = db.connection()
    with db.atomic():
        _unstore_log(conn)
    texts = [(opfields.text(db, f), rowid) for rowid, f in conn.execute("select rowid, fields from oplog")]
    with db.atomic():
        conn.executemany("update oplog set fields = ? where rowid = ?", texts)
        conn.execute("drop table oplog_keys")
        here = {n for (n,) in conn.execute("select name from sqlite_master where type = 'index'")}
        for name, sql in _v13_index_sql().items():
            if name not in here:
                conn.execute(sql)
        conn.execute("pragma user_version = 13")
    conn.execute("vacuum")
    db.close()


@pytest.fixture()
def old_file(tmp_path) -> tuple[Path, dict]:
    """A schema-13 file and the searches the register gave on it before it was turned back to 13."""
    path = tmp_path / "office.sqlite"
    store = Store(path, user="测试")
    generate(store, households=40, seed=3)
    people = [r[0] for r in store.db.execute_sql("select id from person order by id limit 6")]
    # Later edits: ops that supersede others, a delete, a column set of its own.
    oplog.write(store, Person, [{"id": people[0], "phone": "13800000001"}, {"id": people[1], "name": "王秀英"}])
    oplog.write(store, Person, [{"id": people[0], "phone": "13800000002", "notes": "搬家"}])
    oplog.delete(store, Person, [people[2]])
    searched = _searches(store)
    store.close()
    _make_v13(path)
    return path, searched


def _raw_state(path: Path) -> tuple[list[tuple], dict[str, list[tuple]]]:
    db = SqliteDatabase(str(path))
    log = db.execute_sql(f"select {oplog._OP_COLUMNS} from oplog order by node, counter").fetchall()
    tables = {m._meta.table_name: db.execute_sql(f'select * from "{m._meta.table_name}" order by id').fetchall()
              for m in SYNCED_MODELS}
    db.close()
    return [tuple(r) for r in log], tables


def test_an_old_file_is_migrated_losing_nothing(old_file):
    path, searched = old_file
    db = SqliteDatabase(str(path))
    assert db.execute_sql("pragma user_version").fetchone()[0] == 13
    assert {t for (t,) in db.execute_sql("select distinct typeof(fields) from oplog")} == {"text"}
    redundant = migrations._redundant_indexes(db)
    assert "visit_household_id" in redundant and "vol_service_activity_id" in redundant
    lookups = {}  # per dropped index: a look-up by its columns, which must still use an index
    for name in redundant:
        table = db.execute_sql("select tbl_name from sqlite_master where name = ?", (name,)).fetchone()[0]
        cols = [r[2] for r in db.execute_sql(f'pragma index_info("{name}")')]
        lookups[name] = (f'select * from "{table}" where ' + " and ".join(f'"{c}" = ?' for c in cols), len(cols))
    db.close()
    old_log, old_tables = _raw_state(path)
    size_before = path.stat().st_size

    store = Store(path, user="测试")
    try:
        assert store.schema_version() >= 14
        assert {t for (t,) in store.db.execute_sql("select distinct typeof(fields) from oplog")} == {"blob"}
        assert _log(store) == old_log  # the same ops, each with the same JSON text
        assert _table_rows(store) == old_tables
        assert oplog.compare_with_log(store) == []
        assert migrations._redundant_indexes(store.db) == []
        for name, (sql, n) in lookups.items():
            plan = " ".join(r[-1] for r in store.db.execute_sql("explain query plan " + sql, ("x",) * n))
            assert "USING" in plan and "INDEX" in plan and name not in plan, (name, plan)
        assert path.stat().st_size < size_before * 0.9
        assert _searches(store) == searched
        assert sum(map(len, searched.values())) > 20
        oplog.rebuild(store)  # rebuild equality: the tables are what the packed log says
        assert _table_rows(store) == old_tables
        rebuild_index(store)
        assert _searches(store) == searched
    finally:
        store.close()
    # The backup made before the migration is the old file as it was.
    backups = sorted(backup_dir(path).glob("*premigrate*"))
    assert len(backups) == 1
    from db.backup_files import materialize

    copy = path.with_name("premigrate-unpacked.sqlite")  # backups are compressed and encrypted: unpack it
    materialize(backups[0], copy, db_path=path, key=None)
    assert _raw_state(copy) == (old_log, old_tables)


def test_migration_reports_progress(old_file):
    path, _searched = old_file
    seen = []
    migrations.add_progress_listener(lambda *a: seen.append(a))
    try:
        Store(path, user="测试").close()
    finally:
        migrations._progress_listeners.clear()
    packing = [x for x in seen if x[0] == 14]
    total = packing[0][2]
    assert total > 0 and {v for v, *_x in seen} <= {14, 15, 17}
    assert (14, total, total) in seen and seen[-1] == (17, -1, -1)  # packed, stored compactly, then compacted
    assert (17, total, total) in seen
    chaining = [x for x in seen if x[0] == 15]  # migration 15 computes each op's chain digest
    assert chaining and chaining[-1][1] == chaining[-1][2] == total


def test_a_new_file_is_written_packed(tmp_path):
    store = Store(tmp_path / "new.sqlite", user="测试")
    try:
        oplog.write(store, Person, [{"name": "张三", "sex": "男"}, {"name": "李四"}])
        assert {t for (t,) in store.db.execute_sql("select distinct typeof(fields) from oplog")} == {"blob"}
        assert migrations._redundant_indexes(store.db) == []
        ops = list(oplog.load_ops(store.db))
        assert [op.fields for op in ops] == [{"name": "张三", "sex": "男", "deleted": 0}, {"name": "李四", "deleted": 0}]
        assert [r[4] for r in _log(store)] == ['{"name":"张三","sex":"男","deleted":0}', '{"name":"李四","deleted":0}']
    finally:
        store.close()


def test_ops_received_in_another_spelling_keep_their_text(tmp_path):
    store = Store(tmp_path / "a.sqlite", user="测试")
    try:
        text = '{"name": "赵六",  "deleted": 0}'  # not orjson's compact form: kept as it came
        op = oplog.OpRecord("0123456789abcdef", 1, "person", "01a24259-0000-7000-8000-000000000001",
                            orjson.loads(text), {}, "0001796409517558-000000-0123456789abcdef", "x",
                            migrations.SCHEMA_VERSION, "edit",
                            ("0123456789abcdef", 1, "person", "01a24259-0000-7000-8000-000000000001", text, "{}",
                             "0001796409517558-000000-0123456789abcdef", "x", migrations.SCHEMA_VERSION, "edit"))
        oplog.apply_ops(store, [op])
        row = store.db.execute_sql("select fields from oplog where node = ?", (op.node,)).fetchone()
        assert row[0] == text
        assert store.db.execute_sql("select name from person where id = ?", (op.row_id,)).fetchone()[0] == "赵六"
    finally:
        store.close()


def test_opening_an_old_file_in_the_app_shows_the_update_in_the_progress_dialog(old_file):
    """The app opens files in a task: its progress text says the file is being updated."""
    from desktop.app import open_store_task
    from desktop.tasks import TaskState

    path, _searched = old_file
    texts: list[str] = []
    state = TaskState(emit=lambda done, total, text: texts.append(text or ""), min_interval=0)
    store = open_store_task(path, create=False, user="测试")(state)
    try:
        assert store.schema_version() >= 14
    finally:
        store.close()
    assert any("正在把数据库文件更新到本版本" in t for t in texts), texts
    assert any("释放不再需要的空间" in t for t in texts), texts
    assert migrations._progress_listeners == []  # nothing left listening after the file opened


# -- migration 17: the op log stored compactly (db/opstore.py) --------------------------------------

ODD_NODE = "0123456789abcdef"


def _odd_ops() -> list[oplog.OpRecord]:
    """Ops whose keys stay text in the compact log: a row id that is no canonical UUID, an upper-case
    UUID, a stamp of another node, a clock counter past six digits."""
    def op(counter, row_id, hlc, fields):
        return oplog.OpRecord(ODD_NODE, counter, "person", row_id, fields, {}, hlc, "x", 16, "edit")

    return [op(1, "p-odd-1", f"0001796409517558-000000-{ODD_NODE}", {"name": "甲", "deleted": 0}),
            op(2, "01A24259-0000-7000-8000-00000000000A", f"0001796409517558-000001-{'f' * 16}",
               {"name": "乙", "deleted": 0}),
            op(3, "01a24259-0000-7000-8000-00000000000b", f"0001796409517558-1234567-{ODD_NODE}",
               {"name": "丙", "deleted": 0})]


@pytest.fixture()
def v16_file(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "office16.sqlite"
    store = Store(path, user="测试")
    generate(store, households=40, seed=5)
    people = [r[0] for r in store.db.execute_sql("select id from person order by id limit 4")]
    oplog.write(store, Person, [{"id": people[0], "phone": "13800000001"}, {"id": people[1], "name": "王秀英"}])
    oplog.delete(store, Person, [people[2]])
    oplog.apply_ops(store, _odd_ops())
    searched = _searches(store)
    store.close()
    _make_v16(path)
    return path, searched


def test_a_schema_16_file_is_stored_compactly_losing_nothing(v16_file):
    path, searched = v16_file
    old_log, old_tables = _raw_state(path)
    assert {r[0] for r in old_log} >= {ODD_NODE}
    db = SqliteDatabase(str(path))
    old_full = [tuple(r) for r in db.execute_sql(f"select {','.join(opstore.COLUMNS)} from oplog order by node, counter")]
    db.close()
    size_before = path.stat().st_size
    seen = []
    migrations.add_progress_listener(lambda *a: seen.append(a))
    try:
        store = Store(path, user="测试")
    finally:
        migrations._progress_listeners.clear()
    try:
        assert store.schema_version() == migrations.SCHEMA_VERSION
        total = len(old_log)
        assert (17, total, total) in seen and seen[-1] == (17, -1, -1)
        db = store.db
        assert db.execute_sql("select type from sqlite_master where name = 'oplog'").fetchone()[0] == "view"
        stored = dict(((t, s), n) for t, s, n in db.execute_sql(
            "select typeof(rid), typeof(stamp), count(*) from oplog_store group by 1, 2"))
        assert stored[("blob", "integer")] == total - 3 and sum(stored.values()) == total
        assert _log(store) == opfields.wire_rows(db, old_log)  # the same ops, each with the same text
        assert [tuple(r) for r in db.execute_sql(f"select {','.join(opstore.COLUMNS)} from oplog "
                                                 "order by node, counter")] == old_full  # prev too
        assert _table_rows(store) == old_tables
        assert oplog.compare_with_log(store) == []
        # Rowids kept (backups name their last op by rowid), the chain digests unchanged.
        assert [r[0] for r in db.execute_sql("select rowid from oplog order by rowid")] == \
            list(range(1, total + 1))
        from db.sync import chains

        node = store.get_meta("node_id")
        top = db.execute_sql("select max(counter) from oplog where node = ?", (node,)).fetchone()[0]
        held, tip, _prev = chains.local_op(db, node, top)
        assert held and tip is not None
        assert path.stat().st_size < size_before * 0.95  # at 40 households; a third less at 50,000
        assert _searches(store) == searched
        oplog.rebuild(store)
        assert _table_rows(store) == old_tables
        rebuild_index(store)
        assert _searches(store) == searched
        # The odd ops are found by their row ids, and new writes to them go on.
        assert {rid: [op.counter for op in ops] for rid, ops in oplog.ops_for_rows(
            db, "person", ["p-odd-1", "01A24259-0000-7000-8000-00000000000A"]).items()} == \
            {"p-odd-1": [1], "01A24259-0000-7000-8000-00000000000A": [2]}
        oplog.write(store, Person, [{"id": "p-odd-1", "name": "甲二"}])
        assert db.execute_sql("select name from person where id = 'p-odd-1'").fetchone()[0] == "甲二"
        assert oplog.compare_with_log(store) == []
    finally:
        store.close()
