"""The op log's stored form (db/opstore.py): each conversion exact, SQL and Python the same.

The view `oplog` decodes in SQL what db.oplog encodes in Python (and the view's triggers and
migration 17 encode in SQL): for every kind of value both ways must give the same stored form and
the same text back, or a row id would not be found by its index or an op would read differently.
"""

from __future__ import annotations

import pytest

from db import opfields, oplog, opstore
from db.models.register import Person
from db.store import Store

NODE = "0123456789abcdef"
ROW_IDS = ["01a242b0-7388-7663-a362-e0ab8b0802af", "00000000-0000-0000-0000-000000000000",
           "ffffffff-ffff-ffff-ffff-ffffffffffff", "01A242B0-7388-7663-A362-E0AB8B0802AF",  # upper case: text
           "01a242b0-7388-7663-a362-e0ab8b0802a", "01a242b0-7388-7663-a362-e0ab8b0802afx", "01a242b0_7388-7663-"
           "a362-e0ab8b0802af", "0la242b0-7388-7663-a362-e0ab8b0802af", "p1", "", "张三", "pool",
           "c93ba2b6-ad96-58c8-a0c6-e61a291bad57"]
HLCS = [f"0001796415083301-000000-{NODE}", f"0001796415083301-999999-{NODE}", f"0000000000000000-000000-{NODE}",
        f"0008796093022207-000001-{NODE}", f"0008796093022208-000001-{NODE}",  # past the integer range: text
        f"0001796415083301-1000000-{NODE}", f"0001796415083301-000000-{'f' * 16}", f"0001796415083301-000000-{NODE}x",
        f"000179641508330a-000000-{NODE}", f"0001796415083301-00000-{NODE}0", "2026-01-01T00:00:00", "", f"-{NODE}",
        f"１００1796415083301-000000-{NODE}"]  # full-width digits: text


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "a.sqlite", user="测试")
    yield s
    s.close()


def test_row_ids_convert_exactly_and_the_same_in_sql(store):
    db = store.db
    for value in ROW_IDS:
        stored = opstore.rid(value)
        assert opstore.row_id(stored) == value
        assert (type(stored) is bytes) == (value in (ROW_IDS[:3] + ROW_IDS[-1:])) and len(stored) in (16, len(value))
        sql = db.execute_sql("select " + opstore.RID_SQL.format(x="?1"), (value,)).fetchone()[0]
        assert sql == stored and type(sql) is type(stored)
        back = db.execute_sql("select " + opstore.ROW_ID_SQL.format(x="?1"), (stored,)).fetchone()[0]
        assert back == value


def test_clock_stamps_convert_exactly_and_the_same_in_sql(store):
    db = store.db
    for value in HLCS:
        stored = opstore.stamp(value, NODE)
        assert opstore.hlc(stored, NODE) == value
        sql = db.execute_sql("select " + opstore.STAMP_SQL.format(x="?1", node="?2"), (value, NODE)).fetchone()[0]
        assert sql == stored and type(sql) is type(stored), value
        back = db.execute_sql("select " + opstore.HLC_SQL.format(x="?1", node="?2"), (stored, NODE)).fetchone()[0]
        assert back == value
    assert type(opstore.stamp(HLCS[0], NODE)) is int and type(opstore.stamp(HLCS[4], NODE)) is str
    # Integer stamps of one node sort as their texts do.
    texts = sorted(h for h in HLCS if type(opstore.stamp(h, NODE)) is int)
    assert sorted(texts, key=lambda h: opstore.stamp(h, NODE)) == texts


def test_an_op_written_through_the_view_is_stored_as_db_oplog_stores_it(store):
    db = store.db
    oplog.write(store, Person, [{"name": "张三"}])
    row = db.execute_sql(f"select {oplog._OP_COLUMNS}, prev from oplog").fetchone()
    theirs = ("fedcba9876543210", 1, *row[2:6], row[6][:-16] + "fedcba9876543210", *row[7:])
    odd = ("fedcba9876543210", 2, "person", "P-2", row[4], "{}", "0001796415083301-000000-x", "u", 16, "edit", None)
    db.execute_sql(f"insert into oplog ({oplog._OP_COLUMNS}, prev) values (?,?,?,?,?,?,?,?,?,?,?)", theirs)
    db.execute_sql(f"insert into oplog ({oplog._OP_COLUMNS}, prev) values (?,?,?,?,?,?,?,?,?,?,?)", odd)
    stored = db.execute_sql("select nid, counter, tid, rid, fields, supersedes, stamp, user, schema, kind, prev "
                            "from oplog_store order by rowid").fetchall()
    assert stored[1][3] == stored[0][3] and type(stored[1][3]) is bytes and type(stored[1][6]) is int
    assert stored[2][3] == "P-2" and stored[2][6] == "0001796415083301-000000-x"
    assert [tuple(r) for r in db.execute_sql(f"select {oplog._OP_COLUMNS}, prev from oplog order by rowid")][1:] == \
        [theirs, odd]
    assert oplog.ops_for_rows(db, "person", [row[3]])[row[3]][1].node == "fedcba9876543210"


def test_the_identity_of_an_op_cannot_be_changed_through_the_view(store):
    db = store.db
    oplog.write(store, Person, [{"name": "张三"}])
    for column, value in (("row_id", "x"), ("node", "x"), ("hlc", "x"), ("tbl", "household"), ("counter", 9)):
        with pytest.raises(Exception, match="cannot change"):
            db.execute_sql(f"update oplog set {column} = ?", (value,))
    db.execute_sql("update oplog set user = '李四', prev = null")
    assert db.execute_sql("select user, prev from oplog").fetchone() == ("李四", None)
    db.execute_sql("delete from oplog")
    assert db.execute_sql("select count(*) from oplog_store").fetchone()[0] == 0


def test_look_ups_by_row_id_use_the_index(store):
    db = store.db
    for sql in ("select * from oplog where tbl = ? and rid in (?, ?)", "select * from oplog where tbl = ? order by rid",
                "select * from oplog where node = ? and counter > ?"):
        plan = " ".join(r[-1] for r in db.execute_sql("explain query plan " + sql, ("x",) * sql.count("?")))
        assert "SCAN o" not in plan and "INDEX" in plan, plan


def test_a_new_file_has_the_compact_log(store):
    oplog.write(store, Person, [{"name": "张三"}, {"name": "李四"}])
    db = store.db
    assert db.execute_sql("select group_concat(distinct typeof(rid) || typeof(stamp)) from oplog_store"
                          ).fetchone()[0] == "blobinteger"
    assert [op.fields["name"] for op in oplog.load_ops(db)] == ["张三", "李四"]
    assert opfields.wire_rows(db, db.execute_sql(f"select {oplog._OP_COLUMNS} from oplog"))[0][4] == \
        '{"name":"张三","deleted":0}'
