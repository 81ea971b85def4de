"""The demo volunteers: sizes, the hours rule, a clean op log, and `griddesk volunteers`."""

from __future__ import annotations

import datetime as dt

from db import oplog
from db.demo import generate
from db.volunteers import service, stars
from tests.test_cli import griddesk


def test_demo_volunteers_follow_the_rules(store):
    counts = generate(store, households=80, seed=2)
    assert counts["volunteers"] > 20 and counts["teams"] >= 3
    assert counts["service_records"] > 15 * counts["volunteers"]
    db = store.db
    rows = db.execute_sql("select s.sign_in, s.sign_out, s.minutes, s.counted, a.start, a.end, a.set_minutes from "
                          "vol_service s join vol_activity a on a.id = s.activity_id limit 400").fetchall()
    for sign_in, sign_out, minutes, counted, start, end, set_minutes in rows:
        hours = service.service_minutes(sign_in=dt.datetime.fromisoformat(sign_in),
                                        sign_out=dt.datetime.fromisoformat(sign_out),
                                        start=dt.datetime.fromisoformat(start), end=dt.datetime.fromisoformat(end),
                                        set_minutes=set_minutes)
        assert (hours.minutes, int(hours.counted)) == (minutes, counted)
    overlaps = db.execute_sql(
        "select count(*) from vol_service a join vol_service b on a.volunteer_id = b.volunteer_id and a.id < b.id "
        "and a.sign_in < b.sign_out and b.sign_in < a.sign_out").fetchone()[0]
    assert overlaps == 0
    leaders = db.execute_sql("select count(*) from vol_team where leader is null").fetchone()[0]
    assert leaders == 0
    assert stars.star_levels(store)  # a year of service reaches the demo's (small-town) stars
    assert oplog.compare_with_log(store) == []


def test_volunteers_command(tmp_path):
    db = tmp_path / "demo.sqlite"
    r = griddesk("demo", "--db", str(db), "--households", "60", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "志愿者" in r.stdout
    r = griddesk("check", "--db", str(db))
    assert r.returncode == 0, r.stdout + r.stderr
    r = griddesk("volunteers", "teams", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "队长" in r.stdout and "支队伍" in r.stdout
    r = griddesk("volunteers", "hours", "--db", str(db), "--top", "3")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3 and "小时" in r.stdout
    r = griddesk("volunteers", "stars", "--db", str(db), "--preset", "national")
    assert "★★★★★（1500 小时起）" in r.stdout
    r = griddesk("volunteers", "hours", "--db", str(db), "--volunteer", "V999999")
    assert r.returncode == 2 and "没有志愿者" in r.stderr
