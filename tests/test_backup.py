"""Incremental backups (db/backup_incremental.py) and their place among the full ones: what they
restore, rotation, damaged or orphaned files, and the backup before an import."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from db import backup, backup_incremental, oplog
from db.demo import generate
from db.errors import DatabaseOpenError
from db.models import SYNCED_MODELS
from db.models.register import Household, Person, Visit
from db.register.households import register_household
from db.register.visits import record_visit
from db.store import Store
from db.sync import exchange, identity
from tests.sync_helpers import make_replicas
from tests.test_cli import griddesk

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.datetime(2026, 11, 25, 8, 0)
# Meta keys a restore changes on purpose: the restored file takes a new node id.
ROTATED = {"node_id", "fingerprint", "op_counter", "previous_node_ids", "hlc"}


def _rows(db, table: str) -> list[tuple]:
    return sorted(db.execute_sql(f'select * from "{table}"').fetchall(), key=repr)


def _index(store: Store) -> dict:
    """The search index by person (rowids differ between builds; the content must not), and what
    1-2 character searches find (the postings tables are contentless)."""
    from db.register.search import Filters, search_ids

    db = store.db
    cols = [r[1] for r in db.execute_sql("pragma table_info(register_search)") if r[1] != "rowid"]
    person_of = {}
    out: dict = {}
    for row in db.execute_sql(f"select rowid, {','.join(cols)} from register_search"):
        person_of[row[0]] = row[1 + cols.index("person_id")]
        out[person_of[row[0]]] = {"row": row[1:]}
    for rowid, haystack in db.execute_sql("select rowid, haystack from register_fts"):
        out[person_of[rowid]]["fts"] = haystack
    for rowid, key in db.execute_sql("select rowid, key from register_short"):
        out[person_of[rowid]]["short"] = key
    names = [r[0] for r in db.execute_sql("select name from person where name is not null order by name")]
    terms = sorted({n[:1] for n in names} | {n[:2] for n in names} | {"栋", "9栋", "改名", "zs"})
    with store.activated():
        found = {t: sorted(person_of[r] for r in search_ids(store, Filters(text=t, status="all"), limit=None).ids)
                 for t in terms}
    assert any(found.values())
    return {"persons": out, "searches": found}


def snapshot(store: Store) -> dict:
    """Every synced table row by row, the op log, the conflicts, every local table that is kept
    (not derived), and the search index content."""
    db = store.db
    snap = {m._meta.table_name: _rows(db, m._meta.table_name) for m in SYNCED_MODELS}
    snap["oplog"] = db.execute_sql("select * from oplog order by rowid").fetchall()  # the view names rowid first
    snap["conflict"] = _rows(db, "conflict")
    for table in backup_incremental.copied_tables(db.connection()):
        snap[table] = _rows(db, table)
    snap["index"] = _index(store)
    return snap


def _without_rotation(snap: dict) -> dict:
    out = dict(snap)
    out["meta"] = sorted(r for r in snap["meta"] if r[0] not in ROTATED)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _names(path: Path) -> list[str]:
    """The residents' names in the database file, sorted."""
    store = Store(path)
    try:
        return sorted(p.name for p in Person.select())
    finally:
        store.close()


def _with_a_full_backup(path: Path, name: str) -> tuple[Store, Path]:
    """The database open with one resident of that name, and its daily full backup."""
    s = Store(path)
    oplog.write(s, Person, [{"name": name}])
    return s, backup.make_backup(s, "daily", now=DAY)


def _full_then_incremental(path: Path, added: str, then: str | None = None) -> tuple[Path, Path]:
    """原有 and a full backup, `added` and an incremental one on it, then (if given) one more name."""
    s, full = _with_a_full_backup(path, "原有")
    try:
        oplog.write(s, Person, [{"name": added}])
        inc = backup.make_backup(s, "import", now=DAY.replace(hour=9))
        if then:
            oplog.write(s, Person, [{"name": then}])
    finally:
        s.close()
    return full, inc


@pytest.fixture
def office(tmp_path):
    """Replica b (the office) with a small demo community and a full backup of it; replica a
    (a grid worker's laptop) holds the same community."""
    a, b = make_replicas(tmp_path, ["a", "b"])
    with b.activated():
        generate(b, households=12, seed=5)
    a_id = identity.identity(a).device_id
    with b.activated():
        handover = exchange.export_bundle(b, for_device=a_id, full=True).data
    with a.activated():
        exchange.import_bundle(a, exchange.read_bundle(a, handover))
    with b.activated():
        full = backup.make_backup(b, "daily", now=DAY)
    yield a, b, full
    a.close()
    b.close()


def _work_on_both(a: Store, b: Store) -> None:
    """Edits, creations, deletes, services with undo entries, and a merged bundle with a conflict."""
    b_id = identity.identity(b).device_id
    with b.activated():
        persons = [r[0] for r in b.db.execute_sql("select id from person order by id limit 4")]
        households = [r[0] for r in b.db.execute_sql("select id from household order by id limit 2")]
    with a.activated():
        oplog.write(a, Person, [{"id": persons[0], "name": "甲改名"}, {"id": persons[1], "phone": "13912345678"}])
        bundle = exchange.export_bundle(a, for_device=b_id).data
    with b.activated():
        oplog.write(b, Person, [{"id": persons[0], "name": "乙改名"}])  # concurrent with a's: a conflict
        oplog.delete(b, Person, [persons[2]])
        oplog.write(b, Household, [{"id": households[0], "owner_phone": "010-12345678", "house_use": "出租"}])
        register_household(b, household={"address": "幸福小区9栋101室", "owner_name": "新户主"},
                           members=[{"relation": "户主", "name": "新户主", "sex": "男", "birth_date": "1970-01-02"}])
        record_visit(b, household_id=households[1], visit_date="2026-11-24", visitor="乙", met="户主")
        visit = b.db.execute_sql("select id from visit order by id limit 1").fetchone()[0]
        oplog.delete(b, Visit, [visit])
        b.db.execute_sql("insert into ledger_import_mapping(name, mapping, created_at) values ('街道表', '{}', 'x')")
        summary = exchange.import_bundle(b, exchange.read_bundle(b, bundle))
    assert b.db.execute_sql("select count(*) from conflict").fetchone()[0] == 1
    return summary


def test_an_incremental_backup_restores_exactly_the_state_at_backup_time(office):
    a, b, full = office
    _work_on_both(a, b)
    with b.activated():
        before = snapshot(b)
        assert before["conflict"] and before["register_undo"] and before["sync_exchange"]
        inc = backup.make_backup(b, "import", now=DAY.replace(hour=10))
        assert "-incr-" in inc.name and backup.describe(inc).base == full
        assert inc.stat().st_size < full.stat().st_size / 4
        # Written after the backup: gone after the restore.
        oplog.write(b, Person, [{"name": "备份后新增"}])
        b.db.execute_sql("insert into ledger_import_mapping(name, mapping) values ('之后', '{}')")
        node = b.node_id
    path = b.path
    b.close()

    # The database the incremental describes, built beside it: equal in every table, meta too.
    built = path.with_name("built.sqlite")
    backup_incremental.build(built, backup_incremental.read_manifest(inc))
    rebuilt = Store(built)  # (a copied file: its node id rotates on open, like any copy)
    try:
        got = snapshot(rebuilt)
    finally:
        rebuilt.close()
    assert _without_rotation(got) == _without_rotation(before)

    safety = backup.restore(path, inc)
    assert safety is not None and "-prerestore" in safety.name
    restored = Store(path)
    try:
        after = snapshot(restored)
        assert restored.node_id != node
        for table in before:
            if table != "meta":
                assert after[table] == before[table], table
        assert _without_rotation(after) == _without_rotation(before)
        assert oplog.compare_with_log(restored) == []
        assert restored.db.execute_sql("select count(*) from person where name = '备份后新增'").fetchone()[0] == 0
    finally:
        restored.close()


def test_the_backup_before_an_import_is_incremental_when_few_ops_were_written(office, monkeypatch):
    a, b, full = office
    summary = _work_on_both(a, b)
    assert summary.backup_made and "-incr-" in summary.backup_file
    assert backup.describe(backup.latest_backup(b.path)).base == full
    with b.activated():
        # The import wrote since: a new one (incremental); nothing written since it: it serves again.
        made, fresh = backup.ensure_backup(b, "import")
        assert fresh and backup.describe(made).base == full
        assert backup.ensure_backup(b, "import") == (made, False)
        oplog.write(b, Person, [{"name": "再写一条"}])
        # More ops since the full backup than an incremental may hold: a full copy instead.
        monkeypatch.setattr(backup, "MAX_DELTA_OPS", 3)
        made, fresh = backup.ensure_backup(b, "import")
        assert fresh and not backup.describe(made).incremental
        # ... which is the base of the next incremental.
        monkeypatch.setattr(backup, "MAX_DELTA_OPS", 20_000)
        oplog.write(b, Person, [{"name": "又一条"}])
        nxt = backup.make_backup(b, "import")
        assert backup.describe(nxt).base == made
        # Daily and hand-made backups stay full.
        assert not backup.describe(backup.make_backup(b, "manual")).incremental
        assert not backup.describe(backup.make_backup(b, "daily")).incremental


def test_after_a_restore_the_next_backup_before_an_import_is_full(tmp_path):
    path = tmp_path / "g.sqlite"
    s, full = _with_a_full_backup(path, "一")
    s.close()
    backup.restore(path, full)  # the restored file has a new node id: no full backup of it yet
    s = Store(path)
    try:
        oplog.write(s, Person, [{"name": "二"}])
        made = backup.make_backup(s, "import")
        assert not backup.describe(made).incremental
        oplog.write(s, Person, [{"name": "三"}])
        assert backup.describe(backup.make_backup(s, "import")).base == made
    finally:
        s.close()


def test_a_full_backup_still_restores_also_the_oldest_kept_one(tmp_path):
    path = tmp_path / "g.sqlite"
    s, oldest = _with_a_full_backup(path, "最早")
    for i in range(backup.KEEP - 1):
        oplog.write(s, Person, [{"name": f"第{i}"}])
        backup.make_backup(s, "manual", now=DAY + dt.timedelta(minutes=i + 1))
    assert backup.list_backups(path)[0] == oldest and len(backup.list_backups(path)) == backup.KEEP
    s.close()
    # The safety copy pushes the oldest out of the rotation: it was read before that.
    backup.restore(path, oldest)
    assert not oldest.exists()
    r = Store(path)
    assert [p.name for p in Person.select()] == ["最早"]
    assert oplog.compare_with_log(r) == []
    r.close()


def test_rotation_keeps_the_full_backups_that_kept_incrementals_need(tmp_path):
    path = tmp_path / "g.sqlite"
    s, first = _with_a_full_backup(path, "起点")
    incrementals = []
    for i in range(backup.KEEP + 2):
        oplog.write(s, Person, [{"name": f"导入{i}"}])
        incrementals.append(backup.make_backup(s, "import", now=DAY + dt.timedelta(minutes=i + 1)))
    assert all(backup.describe(p).base == first for p in incrementals)
    kept = backup.list_backups(path)
    # The newest KEEP (all incremental) and the full backup they need.
    assert kept == [first, *incrementals[-backup.KEEP:]]
    assert not incrementals[0].exists() and not incrementals[1].exists()
    # A new full backup and KEEP incrementals on it: the old base is needed no more.
    second = backup.make_backup(s, "daily", now=DAY + dt.timedelta(days=1))
    newer = []
    for i in range(backup.KEEP - 1):
        oplog.write(s, Person, [{"name": f"次日{i}"}])
        newer.append(backup.make_backup(s, "import", now=DAY + dt.timedelta(days=1, minutes=i + 1)))
    assert backup.list_backups(path) == [second, *newer]
    assert not first.exists()
    assert len(list(backup.backup_dir(path).iterdir())) == backup.KEEP  # no stray files either
    names = sorted(p.name for p in Person.select())
    s.close()
    backup.restore(path, newer[-1])
    assert _names(path) == names


@pytest.mark.parametrize("damage", ["truncated", "byte changed", "not sqlite"])
def test_a_damaged_incremental_is_refused_in_chinese_and_changes_nothing(tmp_path, damage):
    path = tmp_path / "g.sqlite"
    _full, inc = _full_then_incremental(path, "独一无二的名字", then="当前")
    data = inc.read_bytes()
    if damage == "truncated":
        inc.write_bytes(data[: len(data) // 2])
    elif damage == "byte changed":
        assert "独一无二".encode() not in data  # compressed and encrypted: no name in the file
        at = len(data) * 2 // 3
        inc.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])
    else:
        inc.write_bytes(b"\x00" * len(data))
    before = _digest(path)
    files = sorted(backup.backup_dir(path).iterdir())
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, inc)
    assert "增量备份" in err.value.message and "已损坏或不完整" in err.value.message
    assert "未作任何改动" in err.value.message
    if damage == "byte changed":  # a valid SQLite file whose content changed: caught by the digest
        assert "校验值" in err.value.message
    assert _digest(path) == before
    assert sorted(backup.backup_dir(path).iterdir()) == files  # no safety copy, nothing left behind
    assert not list(tmp_path.glob("*.restoring*"))
    assert _names(path) == ["原有", "当前", "独一无二的名字"]


def test_an_incremental_whose_base_is_gone_is_not_offered_and_says_so(tmp_path):
    path = tmp_path / "g.sqlite"
    full, inc = _full_then_incremental(path, "新增")
    before = _digest(path)
    full.unlink()
    assert backup.list_backups(path) == [] and backup.latest_backup(path) is None
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, inc)
    assert full.name in err.value.message and "已不存在" in err.value.message
    assert _digest(path) == before
    # A different file under the base's name is not taken for it either.
    s = Store(tmp_path / "other.sqlite")
    try:
        oplog.write(s, Person, [{"name": "别的库"}])
        other = backup.make_backup(s, "manual", now=DAY)
    finally:
        s.close()
    os.replace(other, full)
    with pytest.raises(DatabaseOpenError) as err:
        backup.restore(path, inc)
    assert "不是增量备份" in err.value.message and "所依据" in err.value.message
    assert _digest(path) == before


def test_cli_lists_incremental_backups_and_restores_one(tmp_path):
    path = tmp_path / "g.sqlite"
    s = Store(path)
    oplog.write(s, Person, [{"name": "原有"}])
    r = griddesk("backup", "--db", str(path), "--incremental")  # no full backup yet: a full one
    assert r.returncode == 0 and "完整备份" in r.stdout, r.stderr
    oplog.write(s, Person, [{"name": "新增"}])
    s.close()
    r = griddesk("backup", "--db", str(path), "--incremental")
    assert r.returncode == 0 and "增量备份，依据" in r.stdout, r.stderr
    r = griddesk("backup", "--db", str(path), "--list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("手动备份") == 2 and "增量备份，依据" in r.stdout and "-incr-" in r.stdout
    inc = backup.latest_backup(path)
    s = Store(path)
    oplog.write(s, Person, [{"name": "之后"}])
    s.close()
    r = griddesk("restore", "--db", str(path), str(inc))
    assert r.returncode == 0 and "增量备份" in r.stdout, r.stderr
    assert _names(path) == ["原有", "新增"]


def test_the_settings_screen_lists_incremental_backups_with_their_base(ctx, qtbot):
    from views.settings import SettingsScreen

    store = ctx.store
    oplog.write(store, Person, [{"name": "原有"}])
    backup.make_backup(store, "daily", now=DAY)
    oplog.write(store, Person, [{"name": "新增"}])
    backup.make_backup(store, "import", now=DAY.replace(hour=10, minute=30))
    screen = SettingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.refresh()
    items = [screen.backup_list.item(i).text() for i in range(screen.backup_list.count())]
    assert len(items) == 2
    assert "2026-11-25 10:30" in items[0] and "导入前备份" in items[0]
    assert "增量备份，依据 2026-11-25 08:00 的完整备份" in items[0]
    assert "每日自动备份" in items[1] and "完整备份" in items[1] and "增量" not in items[1]
    assert "增量备份" in screen.backup_hint.text()


def test_random_work_on_two_laptops_restores_exactly_from_each_incremental(office):
    """Seeded random edits, deletes, redactions, resolutions and exchanges; after every round an
    incremental backup of the office, each built back into a database equal to the office then."""
    import random

    from db.sync.conflicts import resolve_conflict

    a, b, full = office
    rnd = random.Random(11)
    a_id, b_id = identity.identity(a).device_id, identity.identity(b).device_id
    taken = []
    for round_ in range(4):
        for store in (a, b):
            with store.activated():
                ids = [r[0] for r in store.db.execute_sql("select id from person order by id limit 6")]
                for _ in range(rnd.randint(3, 12)):
                    pick = rnd.choice(ids)
                    action = rnd.random()
                    if action < 0.5:
                        oplog.write(store, Person, [{"id": pick, rnd.choice(["name", "phone", "notes"]): f"值{rnd.randint(0, 99)}"}])
                    elif action < 0.65:
                        oplog.delete(store, Person, [pick])
                    elif action < 0.75:
                        oplog.write(store, Person, [{"id": pick, "phone": None}], kind="redact")
                    else:
                        oplog.write(store, Person, [{"name": f"新人{round_}-{rnd.randint(0, 999)}"}])
        with a.activated():
            data = exchange.export_bundle(a, for_device=b_id).data
        with b.activated():
            exchange.import_bundle(b, exchange.read_bundle(b, data))
            for tbl, row_id, field in b.db.execute_sql("select tbl, row_id, field from conflict").fetchall()[:1]:
                resolve_conflict(b, tbl, row_id, field, f"定{round_}")
            data = exchange.export_bundle(b, for_device=a_id).data
        with a.activated():
            exchange.import_bundle(a, exchange.read_bundle(a, data))
        with b.activated():
            inc = backup.make_backup(b, "import", now=DAY.replace(hour=9 + round_))
            assert backup.describe(inc).base == full
            taken.append((inc, _without_rotation(snapshot(b))))
    assert any(snap["conflict"] for _, snap in taken)
    assert any(row[10] == "redact" for row in taken[-1][1]["oplog"]) and any(row[10] == "resolve" for row in taken[-1][1]["oplog"])
    for i, (inc, expected) in enumerate(taken):
        target = b.path.with_name(f"built-{i}.sqlite")
        backup_incremental.build(target, backup_incremental.read_manifest(inc))
        built = Store(target)
        try:
            assert _without_rotation(snapshot(built)) == expected, inc.name
            assert oplog.compare_with_log(built) == []
        finally:
            built.close()


def test_a_database_that_no_longer_opens_can_be_restored_over_and_is_kept(tmp_path):
    path = tmp_path / "g.sqlite"
    s, full = _with_a_full_backup(path, "原有")
    s.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    garbage = b"SQLite format 3\x00" + b"\xff" * 5000
    path.write_bytes(garbage)
    with pytest.raises(DatabaseOpenError):
        Store(path)
    safety = backup.restore(path, full)
    assert safety.name.endswith("-prerestore.damaged") and safety.read_bytes() == garbage
    assert safety not in backup.list_backups(path)
    assert _names(path) == ["原有"]


def test_rotation_drops_half_written_copies_of_interrupted_backups_only(tmp_path):
    path = tmp_path / "g.sqlite"
    s, _full = _with_a_full_backup(path, "原有")
    folder = backup.backup_dir(path)
    old = folder / "g-20261124-080000-daily.part"
    old.write_bytes(b"x" * 100)
    os.utime(old, (1_700_000_000, 1_700_000_000))
    fresh = folder / "g-20261125-090000-import-incr-20261125-080000-daily.sqlite.part"
    fresh.write_bytes(b"y")  # perhaps still being written by another process
    backup.make_backup(s, "import")
    s.close()
    assert not old.exists() and fresh.exists()


def test_a_database_name_with_brackets_and_chinese_keeps_its_incrementals(tmp_path):
    path = tmp_path / "社区[2026]-20261125-080000-daily.sqlite"  # a name that looks like a backup's
    full, inc = _full_then_incremental(path, "新增", then="之后")
    assert backup.list_backups(path) == [full, inc] and backup.describe(inc).base == full
    backup.restore(path, inc)
    assert _names(path) == ["原有", "新增"]


def test_after_a_large_import_a_new_full_backup_keeps_the_next_one_incremental(tmp_path, monkeypatch):
    path = tmp_path / "g.sqlite"
    s = Store(path)
    try:
        oplog.write(s, Person, [{"name": "一"}])
        full = backup.make_backup(s, "daily", now=DAY)
        assert backup.refresh_base(s) is None  # few ops since the full backup: it still serves
        monkeypatch.setattr(backup, "MAX_DELTA_OPS", 4)
        oplog.write(s, Person, [{"name": f"人{i}"} for i in range(10)])  # a large import
        base = backup.refresh_base(s)
        assert base is not None and base != full
        info = backup.describe(base)
        assert not info.incremental and info.reason == "base"
        assert backup.refresh_base(s) is None
        oplog.write(s, Person, [{"name": "再写一条"}])
        assert backup.describe(backup.make_backup(s, "import")).base == base
    finally:
        s.close()
