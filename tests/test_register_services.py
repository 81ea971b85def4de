"""Register services on a real database: households, search (pinyin, initials), duplicates, merge,
life events, visits due, undo, and the tables and index agreeing with a rebuild."""

import datetime as dt

import pytest

from db import oplog
from db.errors import GridDeskError, ValidationErrors
from db.register import households, index, persons, places, search, stats, tags, undo, visits
from db.register.audit import reveal
from db.register.search import Filters, search_ids
from tests.register_helpers import first_unit


@pytest.fixture
def unit(store):
    return first_unit(store)


def register(store, unit, door, members):
    changes = households.register_household(store, household={"unit_id": unit, "door": door, "house_use": "自住"},
                                            members=members)
    hid = next(c.row_id for c in changes if c.table == "household")
    pids = [c.row_id for c in changes if c.table == "person"]
    return hid, pids


def names(store, text, **kw):
    rows = search.fetch_rows(store, search_ids(store, Filters(text=text, **kw)).ids)
    return sorted(r["name"] for r in rows.values())


def index_snapshot(store):
    cols = "person_id, household_id, name, status, tags, due_date, address, haystack, short_key, sort_key"
    return store.db.execute_sql(f"select {cols} from register_search order by person_id").fetchall()


def test_register_household_and_search_by_pinyin_initials_id_phone_address(store, unit):
    register(store, unit, "101", [
        {"relation": "户主", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"},
        {"relation": "配偶", "name": "李四", "birth_date": "1950-02-03", "sex": "女"}])
    register(store, unit, "102", [{"relation": "户主", "name": "曾国藩", "birth_date": "1960-01-01"},
                                  {"relation": "子女", "name": "李张山", "birth_date": "1990-01-01"}])
    assert names(store, "zs") == ["张三"]  # initials at the start, not 李张山 (lzs)
    assert names(store, "z") == ["张三", "曾国藩"]
    assert names(store, "zhangsan") == ["张三"]
    assert names(store, "zhang") == ["张三"]
    assert names(store, "ceng") == names(store, "zeng") == ["曾国藩"]  # polyphonic surname
    assert names(store, "张") == ["张三", "李张山"]
    assert names(store, "国藩") == ["曾国藩"]
    assert names(store, "1231002") == ["张三"]  # ID fragment
    assert names(store, "1949123100") == ["张三"]  # long ID fragment (windowed probe)
    assert names(store, "5678") == ["张三"]  # phone fragment
    assert names(store, "3栋1单元102") == ["曾国藩", "李张山"]  # address
    assert names(store, "zs 101") == ["张三"]  # several terms: all must match
    assert names(store, "wangwu") == []
    row = search.fetch_rows(store, search_ids(store, Filters(text="zs")).ids)
    (only,) = row.values()
    assert only["address"] == "幸福小区3栋1单元101" and only["relation"] == "户主"


def test_bad_members_change_nothing_and_name_the_row(store, unit):
    before = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    with pytest.raises(ValidationErrors) as exc:
        households.register_household(store, household={"unit_id": unit, "door": "201"}, members=[
            {"relation": "户主", "name": "王五"}, {"relation": "子女", "name": "", "phone": "123"}])
    assert {(e.row, e.field) for e in exc.value.errors} == {(2, "name"), (2, "phone")}
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == before


def test_duplicates_offered_then_reviewed_and_merged(store, unit):
    _hid, (a,) = register(store, unit, "101", [{"relation": "户主", "name": "张三", "id_number": "11010519491231002X"}])
    with pytest.raises(persons.DuplicatePersonError) as exc:
        persons.save_person(store, values={"name": "张叁", "id_number": "11010519491231002x"})
    assert [c["id"] for c in exc.value.candidates] == [a]
    with pytest.raises(persons.DuplicatePersonError):
        persons.save_person(store, values={"name": "张三", "birth_date": "1949-12-31"})
    b = persons.save_person(store, values={"name": "张三", "birth_date": "1949-12-31", "phone": "13900001111"},
                            allow_duplicate=True)[0].row_id
    pairs = persons.duplicate_pairs(store)
    assert [(p["a"], p["b"]) for p in pairs] == [tuple(sorted((a, b)))]
    assert pairs[0]["reasons"] == ["name_birth"]
    persons.merge_persons(store, keep_id=a, duplicate_id=b)
    kept = persons.get_person(store, a)
    assert kept["phone"] == "13900001111"  # empty field filled from the duplicate
    assert persons.get_person(store, b)["merged_into"] == a  # nothing deleted
    assert store.db.execute_sql("select deleted from person where id = ?", (b,)).fetchone()[0] == 0
    assert persons.duplicate_pairs(store) == []
    assert names(store, "zs") == ["张三"]
    assert persons.merged_ids(store, a) == [a, b]


def test_life_events_keep_history(store, unit):
    hid, (head, child) = register(store, unit, "101", [{"relation": "户主", "name": "王大"},
                                                       {"relation": "子女", "name": "王小"}])
    with pytest.raises(ValidationErrors):
        persons.move_out(store, person_id=child, date="2026-01-01", destination=" ")
    persons.move_out(store, person_id=child, date="2026-01-01", destination="上海市浦东新区")
    persons.record_death(store, person_id=head, date="2026-02-01")
    events = persons.life_events(store, child)
    assert [(e["kind"], e["detail"]) for e in events] == [("move_out", "上海市浦东新区")]
    assert households.household_members(store, hid) == []
    assert len(households.household_members(store, hid, include_past=True)) == 2
    assert names(store, "wang") == []
    assert names(store, "wang", status="all") == ["王大", "王小"]
    assert names(store, "wang", status="moved_out") == ["王小"]


def test_visits_due_from_tag_frequencies(store, unit):
    tags.ensure_default_tags(store)
    tag_ids = {t["name"]: t["id"] for t in tags.list_tags(store)}
    h1, (old,) = register(store, unit, "101", [{"relation": "户主", "name": "孤老"}])
    h2, _ = register(store, unit, "102", [{"relation": "户主", "name": "普通"}])
    h3, _ = register(store, unit, "103", [{"relation": "户主", "name": "从未"}])
    tags.tag_person(store, person_id=old, tag_id=tag_ids["独居老人"], start_date="2026-01-01", reason="独居")
    visits.record_visit(store, household_id=h1, visit_date="2026-10-01", visitor="网格员", met="孤老")
    visits.record_visit(store, household_id=h2, visit_date="2026-10-01", visitor="网格员", met="普通")
    on = dt.date(2026, 11, 10)
    due = visits.compute_due(store, on=on)
    assert due[h1]["due_date"] == "2026-10-31" and due[h1]["interval_days"] == 30
    assert due[h2]["due_date"] == "2027-04-01" and due[h2]["interval_days"] == 182
    assert due[h3]["due_date"] == ""  # never visited
    listed = [d["household_id"] for d in visits.visits_due(store, on=on)]
    assert listed == [h3, h1]
    # 未遇 does not count as a visit, but its follow-up date makes the household due earlier.
    visits.record_visit(store, household_id=h2, visit_date="2026-11-05", visitor="网格员", not_home=True)
    assert visits.compute_due(store, on=on)[h2]["due_date"] == "2026-11-12"
    assert [d["household_id"] for d in visits.visits_due(store, on=on, within_days=3)] == [h3, h1, h2]
    with pytest.raises(ValidationErrors) as exc:
        visits.record_visit(store, household_id=h1, visit_date="2026-11-01", visitor="网格员")
    assert exc.value.errors[0].field == "met"
    # Ending the tag falls back to the ordinary interval; the period stays in the history.
    (period,) = tags.person_tags(store, old)
    tags.end_tag(store, person_tag_id=period["id"], end_date="2026-11-01")
    assert visits.compute_due(store, on=on)[h1]["interval_days"] == 182
    assert len(tags.person_tags(store, old)) == 1
    overdue = names(store, "", overdue=True)
    assert "从未" in overdue and "孤老" not in overdue


def test_undo_restores_previous_values_with_new_ops(store, unit):
    hid, (pid,) = register(store, unit, "101", [{"relation": "户主", "name": "张三", "phone": "13812345678"}])
    persons.save_person(store, person_id=pid, values={"phone": "13900000000", "name": "张叁"})
    ops_before = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    assert undo.last_edit(store)["label"] == "Edit person"
    undo.undo_last_edit(store)
    p = persons.get_person(store, pid)
    assert (p["name"], p["phone"]) == ("张三", "13812345678")
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == ops_before + 1
    assert names(store, "zs") == ["张三"]
    undo.undo_last_edit(store)  # undo the registration itself: tombstones, nothing removed
    assert store.db.execute_sql("select deleted from household where id = ?", (hid,)).fetchone()[0] == 1
    assert names(store, "zs") == []
    assert undo.last_edit(store)["label"] == "New place"  # next in line: the unit made by the fixture
    assert oplog.compare_with_log(store) == []


def test_undo_refuses_when_the_row_changed_since(store, unit):
    _hid, (pid,) = register(store, unit, "101", [{"relation": "户主", "name": "张三"}])
    # Another computer renames the person (an op merged from elsewhere, not an edit made here).
    store_user = store.user
    store.user = "另一台电脑"
    persons.save_person(store, person_id=pid, values={"name": "张叁"})
    store.user = store_user
    # The registration is still this user's newest edit, but what it wrote changed since.
    with pytest.raises(GridDeskError):
        undo.undo_last_edit(store)


def test_reveal_writes_an_audit_entry(store, unit):
    _hid, (pid,) = register(store, unit, "101", [{"relation": "户主", "name": "张三", "id_number": "11010519491231002X"}])
    assert reveal(store, table="person", row_id=pid, field="id_number") == "11010519491231002X"
    user, action, target, detail = store.db.execute_sql(
        "select user, action, target_id, detail from audit_entry").fetchone()
    assert (user, action, target, detail) == ("测试员", "reveal", pid, "id_number")


def test_statistics(store, unit):
    tags.ensure_default_tags(store)
    tag_ids = {t["name"]: t["id"] for t in tags.list_tags(store)}
    hid, (a, b) = register(store, unit, "101", [
        {"relation": "户主", "name": "甲", "birth_date": "1940-01-01", "sex": "男", "residence_status": "人户一致"},
        {"relation": "配偶", "name": "乙", "birth_date": "1945-01-01", "sex": "女", "residence_status": "人在户不在"}])
    tags.tag_person(store, person_id=a, tag_id=tag_ids["低保"])
    assert dict(stats.by_tag(store))["低保"] == 1
    assert dict(stats.by_residence_status(store)) == {"人户一致": 1, "人在户不在": 1}
    pyramid = {r["band"]: (r["男"], r["女"]) for r in stats.age_pyramid(store, on=dt.date(2026, 11, 25))}
    assert pyramid["80-89"] == (1, 1)
    assert stats.by_place(store)[0]["households"] == 1
    visits.record_visit(store, household_id=hid, visit_date=dt.date.today().isoformat(), visitor="x", met="甲")
    (cov,) = stats.visit_coverage(store)
    assert (cov["households"], cov["visited"], cov["coverage"]) == (1, 1, 1.0)


def test_tables_and_index_agree_with_a_rebuild(store, unit):
    tags.ensure_default_tags(store)
    tag_id = tags.list_tags(store)[0]["id"]
    hid, (a, b) = register(store, unit, "101", [{"relation": "户主", "name": "张三"},
                                                {"relation": "子女", "name": "张小"}])
    households.add_member(store, household_id=hid, relation="父母", person={"name": "张老", "birth_date": "1930-05-05"})
    households.update_household(store, household_id=hid, values={"door": "1101"})
    tags.tag_person(store, person_id=a, tag_id=tag_id)
    visits.record_visit(store, household_id=hid, visit_date="2026-11-01", visitor="x", not_home=True)
    persons.move_out(store, person_id=b, date="2026-11-02", destination="北京")
    places.save_place(store, level="compound", name="幸福家园", place_id=store.db.execute_sql(
        "select id from compound").fetchone()[0])
    assert names(store, "幸福家园") == ["张三", "张老"]
    assert oplog.compare_with_log(store) == []
    before = index_snapshot(store)
    oplog.rebuild(store)  # the row hooks rebuild the index from the rebuilt tables
    assert oplog.compare_with_log(store) == []
    assert index_snapshot(store) == before
    index.rebuild_index(store)
    assert index_snapshot(store) == before
    order = [r[0] for r in store.db.execute_sql("select sort_key from register_search order by rowid")]
    assert order == sorted(order)  # rowid order is display order


def test_short_address_pieces_and_room_suffix_find_people(store, unit):
    """A building number (3栋), a compound piece (幸福), 单元, one character, and a door typed
    with 室 all find the residents; names still match their characters."""
    register(store, unit, "101", [{"relation": "户主", "name": "张三", "birth_date": "1950-01-01"}])
    register(store, unit, "102", [{"relation": "户主", "name": "王五", "birth_date": "1960-01-01"}])
    both = ["张三", "王五"]
    for text in ("3栋", "栋", "幸福", "单元", "小区", "1单", "幸"):
        assert names(store, text) == both, text
    assert names(store, "101室") == ["张三"]
    assert names(store, "3栋1单元102室") == ["王五"]
    assert names(store, "4栋") == []
    assert names(store, "张三") == ["张三"]
    assert names(store, "三") == ["张三"]
    assert names(store, "3栋 王") == ["王五"]
    assert names(store, "栋", place_level="unit", place_id=unit) == both
    # A rebuilt index answers the same.
    index.rebuild_index(store)
    assert names(store, "3栋") == both and names(store, "单元") == both


def test_print_lookup_by_address_tolerates_room_suffix(store, unit):
    from db import printing_data

    changes = households.register_household(
        store, household={"unit_id": unit, "door": "101", "address": "幸福小区3栋1单元101室", "house_use": "自住"},
        members=[{"relation": "户主", "name": "张三", "birth_date": "1950-01-01"}])
    hid = next(c.row_id for c in changes if c.table == "household")
    assert printing_data.resolve_household(store, "幸福小区3栋1单元101室") == hid
    assert printing_data.resolve_household(store, "幸福小区3栋1单元101") == hid


def test_statistics_by_place_name_the_compound(store, unit):
    """Two compounds of one grid both have a 1栋: the rows say which compound."""
    grid = store.db.execute_sql("select id from grid").fetchone()[0]
    other = places.save_place(store, level="compound", name="和平小区", parent_id=grid)[0].row_id
    building = places.save_place(store, level="building", name="3栋", parent_id=other)[0].row_id
    other_unit = places.save_place(store, level="unit", name="1单元", parent_id=building)[0].row_id
    register(store, unit, "101", [{"relation": "户主", "name": "张三"}])
    register(store, other_unit, "101", [{"relation": "户主", "name": "李四"}])
    rows = stats.by_place(store)
    assert [(r["compound"], r["building"], r["persons"]) for r in rows] == [("和平小区", "3栋", 1), ("幸福小区", "3栋", 1)]


def test_an_index_built_by_older_code_is_rebuilt_once(store, unit):
    register(store, unit, "101", [{"relation": "户主", "name": "张三"}])
    index.ensure_index(store)  # kept by the hooks since the database was made: no rebuild needed
    assert store.get_meta("register_index") == index.INDEX_VERSION
    assert names(store, "3栋") == ["张三"]
    # An index written by older code (its postings are not there), marked with its version.
    store.db.execute_sql("insert into register_tok(register_tok) values ('delete-all')")
    store.set_meta(register_index="v2")
    assert names(store, "3栋") == []
    index.ensure_index(store)
    assert store.get_meta("register_index") == index.INDEX_VERSION
    assert names(store, "3栋") == ["张三"] and names(store, "zs") == ["张三"]


def test_the_upgrade_to_fts_postings_keeps_a_register_searchable(tmp_path):
    """A database of schema 6 (postings in a plain table) is upgraded: the old table goes, the
    index is marked stale and rebuilt on first use, and short terms are found again."""
    from db import migrations
    from db.store import Store

    path = tmp_path / "old.sqlite"
    old = Store(path)
    places_ = places.save_place(old, level="grid", name="一网格")
    grid = places_[0].row_id
    compound = places.save_place(old, level="compound", name="幸福小区", parent_id=grid)[0].row_id
    building = places.save_place(old, level="building", name="3栋", parent_id=compound)[0].row_id
    unit_id = places.save_place(old, level="unit", name="1单元", parent_id=building)[0].row_id
    register(old, unit_id, "101", [{"relation": "户主", "name": "张三"}])
    old.close()
    # Make it look like schema 6: the old postings table, no register_tok.
    import pysqlite3.dbapi2 as sqlite3

    con = sqlite3.connect(path)
    con.execute("drop table register_tok")
    con.execute("create table register_chars (token text not null, row integer not null, "
                "primary key (token, row)) without rowid")
    con.execute("pragma user_version = 6")
    con.commit()
    con.close()
    assert migrations.SCHEMA_VERSION >= 7
    store = Store(path)
    try:
        tables = {r[0] for r in store.db.execute_sql("select name from sqlite_master")}
        assert "register_chars" not in tables and "register_tok" in tables
        assert store.get_meta("register_index") == "stale"
        index.ensure_index(store)
        assert names(store, "3栋") == ["张三"] and names(store, "张") == ["张三"]
    finally:
        store.close()


def _postings(db, person):
    """(token, person) pairs of register_tok, read back through an fts5vocab table."""
    db.execute_sql("create virtual table if not exists temp.register_tok_terms using fts5vocab(main, register_tok, "
                   "'instance')")
    return sorted((t, person[r]) for t, r in db.execute_sql("select term, doc from temp.register_tok_terms"))


def _full_index(store):
    """Every index table keyed by person (rowids differ between incremental upkeep and a rebuild)."""
    db = store.db
    person = dict(db.execute_sql("select rowid, person_id from register_search").fetchall())
    return {
        "rows": db.execute_sql(f"select {', '.join(index._COLUMNS)} from register_search "
                               f"order by person_id").fetchall(),
        "order": [r[0] for r in db.execute_sql("select person_id from register_search order by rowid")],
        "postings": _postings(db, person),
        "short": sorted((person[r], k) for r, k in db.execute_sql("select rowid, key from register_short")),
        "fts": sorted((person[r], h) for r, h in db.execute_sql("select rowid, haystack from register_fts")),
    }


def test_bulk_written_community_index_equals_a_rebuild(store):
    """Bulk writes (deferred refreshes, visits, moves, merges of a generated community) leave
    every index table (rows, display order, postings, FTS, short keys) as a full rebuild makes it."""
    from db import demo

    demo.generate(store, households=120, seed=3)
    before = _full_index(store)
    assert before["rows"] and before["postings"] and before["fts"]
    persons_of = {p for _, p in before["postings"]}
    assert persons_of == {p for p, _ in before["short"]}
    index.rebuild_index(store)
    after = _full_index(store)
    for part in before:
        assert after[part] == before[part], part
    assert names(store, before["rows"][0][index._COLUMNS.index("name")])  # a rebuilt index finds people


@pytest.mark.parametrize("office_has_people", [False, True])
def test_index_after_a_full_handover_equals_a_rebuild(tmp_path, office_has_people):
    """A full bundle merged into an empty register (everyone indexed in one pass at the end) or
    into one with people of its own (refreshes worked out per written row): same index as a rebuild."""
    from db import demo
    from db.store import Store
    from db.sync import exchange, identity

    source, office = Store(tmp_path / "source.sqlite", user="甲"), Store(tmp_path / "office.sqlite", user="乙")
    try:
        with source.activated():
            demo.generate(source, households=40, seed=5)
        if office_has_people:
            with office.activated():
                demo.generate(office, households=10, seed=6)
        identity.trust_device(source, identity.identity(office).card())
        identity.trust_device(office, identity.identity(source).card())
        with source.activated():
            data = exchange.export_bundle(source, full=True, for_device=identity.identity(office).device_id).data
        with office.activated():
            exchange.import_bundle(office, exchange.read_bundle(office, data))
            merged = _full_index(office)
            persons = office.db.execute_sql("select count(*) from person where deleted = 0 and merged_into is null")
            assert len(merged["rows"]) == persons.fetchone()[0] > 0
            index.rebuild_index(office)
            rebuilt = _full_index(office)
        for part in merged:
            assert rebuilt[part] == merged[part], part
    finally:
        source.close()
        office.close()


def test_a_bulk_change_to_most_of_the_register_indexes_everyone_afresh(store, monkeypatch):
    """Undoing a first import or a big update touches most persons: the index is wiped and
    written in one pass, and equals a rebuild (with some persons deleted, others renamed)."""
    from db import demo
    from db.models.register import Person

    demo.generate(store, households=40, seed=4)
    monkeypatch.setattr(index, "BULK_REFRESH", 1)
    ids = [r[0] for r in store.db.execute_sql("select id from person where deleted = 0 and merged_into is null")]
    with store.db.atomic(), index.deferred(store):
        oplog.write(store, Person, [{"id": pid, "name": "改名" + pid[-4:]} for pid in ids[: len(ids) * 2 // 3]])
        oplog.delete(store, Person, ids[len(ids) * 2 // 3:])
    bulk = _full_index(store)
    assert len(bulk["rows"]) == len(ids) * 2 // 3 and names(store, "改名")
    index.rebuild_index(store)
    rebuilt = _full_index(store)
    for part in bulk:
        assert rebuilt[part] == bulk[part], part
