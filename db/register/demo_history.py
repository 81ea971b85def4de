"""Demo history for the register: home visits (some 未遇 with a follow-up) and life events
(moves in and out with destinations, deaths), reproducible from the demo seed."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from db import oplog
from db.ids import new_id
from db.models.register import LifeEvent, Membership, Person, Visit
from db.register import index

PURPOSES = ("常规走访", "政策宣传", "信息核实", "节日慰问", "安全检查", "矛盾调解", "需求了解")
SITUATIONS = ("家中一切正常", "老人身体状况良好", "反映楼道灯损坏", "孩子上学正常", "家庭经济困难，已登记",
              "独居老人，情绪稳定", "租户信息已核实", "反映噪音扰民")
REQUESTS = ("", "", "", "希望加装扶手", "申请临时救助", "咨询医保缴费", "希望疏通下水道")
OUTCOMES = ("已记录", "已转社区处理", "已现场解决", "待跟进")
DESTINATIONS = ("湖北省武汉市洪山区", "湖北省武汉市武昌区", "广东省深圳市南山区", "上海市浦东新区",
                "湖北省孝感市孝南区", "北京市朝阳区", "湖南省长沙市岳麓区")
BATCH = 5000

# roster entry: (household id, grid worker, [(person id, name, birth ISO, relation, membership id)], tagged)
Roster = list[tuple[str, str, list[tuple[str, str, str, str, str]], bool]]


def add_history(store, roster: Roster, *, seed: int, today: dt.date,
                progress: Callable[[int, int], bool] | None = None) -> dict[str, int]:
    rng = random.Random(seed * 7919 + 3)
    counts = {"visits": 0, "moved_out": 0, "deaths": 0, "life_events": 0}
    visits: list[dict] = []
    people: list[dict] = []
    memberships: list[dict] = []
    events: list[dict] = []

    def flush() -> None:
        with store.db.atomic(), index.deferred(store):
            for model, rows in ((Person, people), (Membership, memberships), (LifeEvent, events), (Visit, visits)):
                if rows:
                    oplog.write(store, model, rows)
                    rows.clear()

    for n, (hid, worker, members, tagged) in enumerate(roster, start=1):
        if not members:
            continue
        head = members[0][1]
        n_visits = rng.choice((0, 1, 1, 2)) + (rng.randrange(3, 8) if tagged else 0)
        horizon = 90 if tagged else 330
        for _ in range(n_visits):
            day = today - dt.timedelta(days=rng.randrange(1, horizon))
            not_home = rng.random() < 0.12
            visits.append({
                "household_id": hid, "visitor": worker, "visit_date": day.isoformat(),
                "met": None if not_home else rng.choice((head, head, members[-1][1])),
                "not_home": int(not_home), "purpose": rng.choice(PURPOSES),
                "situation": None if not_home else rng.choice(SITUATIONS),
                "requests": None if not_home else (rng.choice(REQUESTS) or None),
                "outcome": None if not_home else rng.choice(OUTCOMES),
                "follow_up_date": (day + dt.timedelta(days=7)).isoformat() if not_home else None})
            counts["visits"] += 1
        for pid, _name, birth, relation, mid in members:
            age = today.year - int(birth[:4])
            roll = rng.random()
            if age >= 75 and roll < 0.01:
                day = (today - dt.timedelta(days=rng.randrange(5, 700))).isoformat()
                people.append({"id": pid, "death_date": day})
                memberships.append({"id": mid, "until": day})
                events.append({"person_id": pid, "household_id": hid, "kind": "death", "event_date": day})
                counts["deaths"] += 1
            elif relation != "户主" and roll < 0.012:
                day = (today - dt.timedelta(days=rng.randrange(5, 900))).isoformat()
                destination = rng.choice(DESTINATIONS)
                people.append({"id": pid, "move_out_date": day, "move_out_to": destination})
                memberships.append({"id": mid, "until": day})
                events.append({"person_id": pid, "household_id": hid, "kind": "move_out", "event_date": day,
                               "detail": destination})
                counts["moved_out"] += 1
            elif roll > 0.97:
                events.append({"person_id": pid, "household_id": hid, "kind": "move_in",
                               "event_date": (today - dt.timedelta(days=rng.randrange(30, 700))).isoformat(),
                               "detail": rng.choice(DESTINATIONS)})
        if len(visits) >= BATCH:
            flush()
            if progress and progress(n, len(roster)) is False:
                break
    flush()
    counts["duplicates"] = _duplicates(store, roster, rng)
    counts["life_events"] = store.db.execute_sql("select count(*) from life_event").fetchone()[0]
    return counts


def _duplicates(store, roster: Roster, rng: random.Random) -> int:
    """A few persons registered twice (same ID number typed on another laptop, in another
    household): what the duplicates review is for."""
    lived = [r for r in roster if r[2]]
    n = max(1, len(lived) // 1000)
    people, memberships = [], []
    for _ in range(n):
        source = rng.choice(lived)
        target = rng.choice(lived)
        pid = rng.choice(source[2])[0]
        row = store.db.execute_sql("select name, sex, birth_date, id_type, id_number, residence_status, person_type "
                                   "from person where id = ?", (pid,)).fetchone()
        copy_id = new_id()
        people.append({"id": copy_id, "name": row[0], "sex": row[1], "birth_date": row[2], "id_type": row[3],
                       "id_number": row[4], "residence_status": row[5], "person_type": row[6]})
        memberships.append({"household_id": target[0], "person_id": copy_id, "relation": "其他"})
    with store.db.atomic(), index.deferred(store):
        oplog.write(store, Person, people)
        oplog.write(store, Membership, memberships)
    return n
