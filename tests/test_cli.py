"""The griddesk command line, run as a real process on real database files."""

from __future__ import annotations

import os
import re
import sqlite3 as std_sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def griddesk(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "desktop", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_then_check_info_backup_restore(tmp_path):
    db = tmp_path / "demo.sqlite"
    r = griddesk("demo", "--db", str(db), "--households", "300", "--seed", "7")
    assert r.returncode == 0, r.stderr
    assert "演示社区已生成" in r.stdout
    r = griddesk("check", "--db", str(db))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "检查通过" in r.stdout
    r = griddesk("info", "--db", str(db))
    assert r.returncode == 0 and "数据版本" in r.stdout and "户数：300 条" in r.stdout
    # Every table is named in words, the meetings' and volunteers' too (never a raw table name).
    assert not re.search(r"^\s+[a-z_]+：", r.stdout, re.M), r.stdout
    assert "议程事项：" in r.stdout and "服务记录：" in r.stdout
    r = griddesk("backup", "--db", str(db))
    assert r.returncode == 0 and "备份已写入" in r.stdout
    backup_file = r.stdout.split("：", 1)[1].strip()
    con = std_sqlite3.connect(db)
    con.execute("update household set deleted = 1")
    con.commit()
    con.close()
    r = griddesk("check", "--db", str(db))
    assert r.returncode == 1
    assert "不一致" in r.stdout and "deleted" in r.stdout
    r = griddesk("restore", "--db", str(db), backup_file)
    assert r.returncode == 0, r.stderr
    assert griddesk("check", "--db", str(db)).returncode == 0


def test_demo_is_reproducible_and_valid(tmp_path):
    from db.store import Store
    from db.validation import parse_id_number

    names = []
    for n in (1, 2):
        path = tmp_path / f"d{n}.sqlite"
        assert griddesk("demo", "--db", str(path), "--households", "120", "--seed", "3").returncode == 0
        s = Store(path)
        rows = s.db.execute_sql("select name, id_number, sex, birth_date from person order by id").fetchall()
        names.append([r[:2] for r in rows])
        for _name, number, sex, birth in rows:
            info = parse_id_number(number)
            assert info.sex == sex and info.birth_date.isoformat() == birth
        s.close()
    assert names[0] == names[1] and len(names[0]) > 200


def test_cli_refuses_a_file_that_is_not_a_database(tmp_path):
    f = tmp_path / "x.sqlite"
    f.write_bytes(b"PK\x03\x04 not a database")
    r = griddesk("check", "--db", str(f))
    assert r.returncode == 2
    assert "不是网格台账数据库" in r.stderr
    assert f.read_bytes() == b"PK\x03\x04 not a database"


def test_english_is_selectable(tmp_path):
    db = tmp_path / "e.sqlite"
    griddesk("demo", "--db", str(db), "--households", "10")
    r = griddesk("--lang", "en", "check", "--db", str(db))
    assert "Check passed" in r.stdout


def test_the_sqlite_in_use_handles_short_trigram_patterns(tmp_path):
    """The system SQLite 3.40 returns nothing for 2-character LIKE on trigram FTS5; ours must not."""
    from db.store import Store

    s = Store(tmp_path / "t.sqlite")
    s.db.execute_sql("create virtual table t using fts5(name, tokenize='trigram')")
    s.db.execute_sql("insert into t(name) values ('张三丰'), ('李四')")
    found = s.db.execute_sql("select name from t where name like '%张三%'").fetchall()
    assert found == [("张三丰",)]
    s.close()


def test_demo_refuses_to_mix_into_a_database_with_households(tmp_path):
    db = tmp_path / "real.sqlite"
    assert griddesk("demo", "--db", str(db), "--households", "20").returncode == 0
    before = griddesk("info", "--db", str(db)).stdout
    r = griddesk("demo", "--db", str(db), "--households", "10")
    assert r.returncode == 2 and "已有住户" in r.stderr
    assert "户数：20 条" in before and "户数：20 条" in griddesk("info", "--db", str(db)).stdout
    assert griddesk("demo", "--db", str(db), "--households", "10", "--add").returncode == 0
    assert "户数：30 条" in griddesk("info", "--db", str(db)).stdout


def test_output_into_a_closed_pipe_is_not_an_error(tmp_path):
    db = tmp_path / "p.sqlite"
    griddesk("demo", "--db", str(db), "--households", "10")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(f"{sys.executable} -m desktop info --db {db} | head -1", shell=True, cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr
