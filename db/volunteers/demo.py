"""Demo volunteers for `griddesk demo`: 0.8 volunteers per household, from the residents aged 18-75
(百步亭: 40,000 volunteers among 150,000 residents), in teams of ~235, with a year of activities (~25 service records each), time-bank
deposits for the time-bank members, four weeks of rotas and residents' needs matched to helpers.

Written in bulk: rows are built in memory and go through oplog.write in large batches (one op per
row, as every write), with the automatic checkpoint and the garbage collector held off.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable

from db import oplog
from db.bulk import bulk_gc, checkpoint_deferred
from db.ids import new_id
from db.models.volunteers import (
    Activity,
    Need,
    NeedMatch,
    Rota,
    ServiceRecord,
    TeamMember,
    TimeBankEntry,
    Volunteer,
    VolunteerAvailability,
    VolunteerSkill,
    VolunteerTeam,
)
from db.volunteers.common import SKILLS, TEAM_KINDS, derived_id
from db.volunteers.rotas import RotaPlan, generate
from db.volunteers.service import totals_suspended

PER_HOUSEHOLD = 0.8  # volunteers per household (百步亭: 40,000 among 50,000 households), chosen from those aged 18-75
TEAM_SIZE = 235
BATCH = 20_000
EMPLOYERS = ("江岸区卫健委", "区税务局", "武汉市第一医院", "区教育局", "街道办事处", "区市场监管局", "国网武汉供电公司",
             "武汉地铁集团", "区人民法院", "区城管局")
ACTIVITY_TITLES = {
    "生活帮困": ("助老送餐", "代购代办", "上门探访"), "医疗救助": ("义诊", "健康讲座", "测血压"),
    "应急抢修": ("水电维修", "家电义修", "管道疏通"), "治安巡逻": ("夜间巡逻", "平安巡查", "反诈宣传"),
    "环境保护": ("楼道清理", "垃圾分类督导", "绿地养护"), "文化教育": ("四点半课堂", "读书会", "文艺演出"),
    "法律服务": ("法律咨询", "普法宣传", "调解服务"), "邻里守望": ("邻里守望", "敲门行动", "陪伴聊天"),
}
SLOTS = (("09:00", "11:00"), ("14:30", "16:30"), ("19:00", "21:00"))


def _clock(minute_of_day: int) -> str:
    return _CLOCKS[minute_of_day]


_CLOCKS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]


def _batches(store, model, rows: list[dict], size: int = BATCH) -> None:
    for i in range(0, len(rows), size):
        with store.db.atomic():
            oplog.write(store, model, rows[i:i + size])


@bulk_gc()
def generate_volunteers(store, *, seed: int = 1, today: dt.date | None = None,
                        progress: Callable[[str, int, int], object] | None = None) -> dict[str, int]:
    rng = random.Random(seed * 7919 + 13)
    today = today or dt.date(2026, 11, 1)
    db = store.db
    adults = db.execute_sql(
        "select p.id, p.birth_date, p.political_status, p.employment, p.name from person p where p.deleted = 0 and "
        "p.death_date is null and p.birth_date between ? and ? order by p.id",
        ((today.replace(year=today.year - 75)).isoformat(), (today.replace(year=today.year - 18)).isoformat())
    ).fetchall()
    households = db.execute_sql("select count(*) from household where deleted = 0").fetchone()[0]
    rate = min(0.9, PER_HOUSEHOLD * households / max(1, len(adults)))
    chosen = [p for p in adults if rng.random() < rate]
    if not chosen:
        return {}
    n_teams = max(3, round(len(chosen) / TEAM_SIZE))
    counts: dict[str, int] = {}
    with checkpoint_deferred(store):
        teams = [{"id": new_id(), "name": f"{TEAM_KINDS[i % len(TEAM_KINDS)]}{i // len(TEAM_KINDS) + 1}队",
                  "kind": TEAM_KINDS[i % len(TEAM_KINDS)], "phone": f"027-8{rng.randrange(10**6, 10**7)}"}
                 for i in range(n_teams)]
        volunteers, skills, slots, members = [], [], [], []
        team_of: dict[str, int] = {}
        for i, (pid, _birth, political, employment, _name) in enumerate(chosen):
            vid = new_id()
            party = political == "中共党员" and employment == "在职" and rng.random() < 0.8
            volunteers.append({"id": vid, "person_id": pid, "number": f"V{i + 1:06d}", "status": "active",
                               "party_report": int(party), "employer": rng.choice(EMPLOYERS) if party else None,
                               "joined": (today - dt.timedelta(days=rng.randrange(30, 3000))).isoformat()})
            t = i % n_teams
            team_of[vid] = t
            kind_skills = SKILLS[t % len(SKILLS)]
            for s in dict.fromkeys([kind_skills, *rng.sample(SKILLS, rng.choice((0, 1, 2)))]):
                skills.append({"volunteer_id": vid, "skill": s})
            days = rng.sample(range(1, 8), rng.choice((2, 3, 4)))
            for d in sorted(days):
                start, end = rng.choice((("08:00", "12:00"), ("14:00", "18:00"), ("08:00", "18:00"),
                                         ("18:00", "22:00")))
                slots.append({"volunteer_id": vid, "weekday": d, "start": start, "end": end})
            members.append({"team_id": teams[t]["id"], "volunteer_id": vid, "role": "队员",
                            "since": volunteers[-1]["joined"]})
        by_team: dict[int, list[str]] = defaultdict(list)
        for v in volunteers:
            by_team[team_of[v["id"]]].append(v["id"])
        for t, team in enumerate(teams):
            team["leader"] = by_team[t][0]
        for m in members:
            if m["volunteer_id"] == teams[team_of[m["volunteer_id"]]]["leader"]:
                m["role"] = "队长"
        with store.db.atomic(), oplog.deferred_hooks(store):
            oplog.write(store, VolunteerTeam, teams)
            _batches(store, Volunteer, volunteers)
            _batches(store, VolunteerSkill, skills)
            _batches(store, VolunteerAvailability, slots)
            _batches(store, TeamMember, members)
        counts.update(teams=len(teams), volunteers=len(volunteers))
        if progress:
            progress("volunteers", len(volunteers), len(volunteers))
        # The service records' indexes are built once after the million rows, not row by row.
        from db.models.volunteers import VOLUNTEER_INDEXES

        service_indexes = [sql for sql in VOLUNTEER_INDEXES if '"vol_service"' in sql]
        for sql in service_indexes:
            db.execute_sql("DROP INDEX IF EXISTS " + sql.split('"')[1])
        # The derived per-volunteer totals likewise: rebuilt in one pass when the records are in.
        with totals_suspended(store):
            try:
                counts.update(_activities(store, rng, teams, by_team, today, progress))
            finally:
                for sql in service_indexes:
                    db.execute_sql(sql)
        counts.update(_stars(store, rng, today))
        counts.update(_rotas(store, rng, teams, by_team, today))
        counts.update(_needs(store, rng, volunteers, skills, today))
    return counts


def _activities(store, rng, teams, by_team, today, progress) -> dict[str, int]:
    """A year of activities per team, ~15 volunteers each, one service record per volunteer taking part."""
    first = today - dt.timedelta(days=365)
    total_records = activities = deposits = 0
    share = 0.6
    bank_members = set()
    for t in range(len(teams)):
        for vid in by_team[t]:
            if rng.random() < 0.2:
                bank_members.add(vid)
    for t, team in enumerate(teams):
        people = by_team[t]
        titles = ACTIVITY_TITLES.get(team["kind"], ("志愿服务",))
        per_year = max(12, round(len(people) * 25 / 15))
        acts, records, bank = [], [], []
        day_slots = sorted(rng.sample(range(365 * len(SLOTS)), min(per_year, 365 * len(SLOTS))))
        for k in day_slots:
            day = first + dt.timedelta(days=k // len(SLOTS))
            s, e = SLOTS[k % len(SLOTS)]
            date_text = day.isoformat() + "T"
            base = int(s[:2]) * 60 + int(s[3:])
            length = int(e[:2]) * 60 + int(e[3:]) - base
            aid = new_id()
            acts.append({"id": aid, "team_id": team["id"], "title": rng.choice(titles), "start": date_text + s,
                         "end": date_text + e, "place": "社区党群服务中心", "set_minutes": length,
                         "beneficiaries": "辖区居民", "content": "", "person_in_charge": None, "recorder": "社区"})
            recent = (today - day).days < 14
            need = math.ceil(length * share)
            for vid in rng.sample(people, min(len(people), rng.randrange(10, 21))):
                # The hours rule (service.service_minutes) on minute offsets from the start: a million
                # records are built here, datetimes would be the slow part.
                signed_in = rng.randrange(-15, 40)
                signed_out = length + rng.randrange(-50, 15)
                served = min(signed_out, length) - max(signed_in, 0)
                counted = served >= need
                minutes = served if counted else 0
                sid = new_id()
                status = "pending" if recent else ("rejected" if rng.random() < 0.01 else "approved")
                records.append({"id": sid, "activity_id": aid, "volunteer_id": vid,
                                "sign_in": date_text + _clock(base + signed_in),
                                "sign_out": date_text + _clock(base + signed_out), "minutes": minutes,
                                "counted": int(counted), "status": status,
                                "approved_by": None if status == "pending" else "队长",
                                "approved_at": None if status == "pending" else date_text + e})
                if status == "approved" and minutes and vid in bank_members:
                    bank.append({"id": derived_id("deposit", sid), "kind": "deposit", "target": vid,
                                 "minutes": minutes, "service": sid, "at": date_text + e, "by": "demo"})
        with store.db.atomic():
            oplog.write(store, Activity, acts)
            _batches(store, ServiceRecord, records, size=50_000)
            oplog.write(store, TimeBankEntry, bank)
        activities += len(acts)
        total_records += len(records)
        deposits += len(bank)
        if progress:
            progress("services", t + 1, len(teams))
    return {"activities": activities, "service_records": total_records, "timebank_entries": deposits}


def _stars(store, rng, today) -> dict[str, int]:
    """One year of service reaches the small-town levels (30/60/100/200/300 h): the demo uses that
    preset; most stars are awarded, some are on public notice now."""
    from db.models.volunteers import StarAward
    from db.volunteers.stars import star_levels

    store.set_meta(vol_star_preset="town")
    rows = []
    for vid, (minutes, level) in star_levels(store, "town").items():
        if not level:
            continue
        on_notice = rng.random() < 0.1
        start = today - dt.timedelta(days=2 if on_notice else 40)
        rows.append({"volunteer_id": vid, "level": level, "hours": round(minutes / 60, 1), "preset": "town",
                     "notice_from": start.isoformat(), "notice_until": (start + dt.timedelta(days=7)).isoformat(),
                     "status": "notice" if on_notice else "awarded",
                     "awarded": None if on_notice else (start + dt.timedelta(days=8)).isoformat()})
    _batches(store, StarAward, rows)
    return {"stars": len(rows)}


def _rotas(store, rng, teams, by_team, today) -> dict[str, int]:
    monday = today - dt.timedelta(days=today.weekday())
    rotas, plans = [], []
    for t, team in enumerate(teams):
        kind = "patrol" if team["kind"] == "治安巡逻" else "duty"
        rid = new_id()
        rotas.append({"id": rid, "name": f"{team['name']}{'巡逻表' if kind == 'patrol' else '值班表'}", "kind": kind,
                      "team_id": team["id"], "leader": team["leader"], "place": "社区党群服务中心"})
        plans.append(RotaPlan(rid, by_team[t][:24], monday, weeks=4, per_shift=2, leader_id=team["leader"],
                              place="社区党群服务中心"))
    with store.db.atomic():
        oplog.write(store, Rota, rotas)
    result = generate(store, plans)
    return {"rotas": len(rotas), "shifts": result.shifts}


def _needs(store, rng, volunteers, skills, today) -> dict[str, int]:
    rows = store.db.execute_sql(
        "select pt.person_id, t.name from person_tag pt join tag t on t.id = pt.tag_id where pt.deleted = 0 and "
        "pt.end_date is null and t.name in ('独居老人', '空巢老人', '残疾人', '留守儿童')").fetchall()
    helps = {"独居老人": ("每周代买菜", "购物代办"), "空巢老人": ("陪伴聊天", "陪伴聊天"),
             "残疾人": ("上门理发", "理发"), "留守儿童": ("课业辅导", "课业辅导")}
    with_skill: dict[str, list[str]] = defaultdict(list)
    for s in skills:
        with_skill[s["skill"]].append(s["volunteer_id"])
    needs, matches = [], []
    for pid, tag in rows:
        if rng.random() > 0.3:
            continue
        help_text, skill = helps[tag]
        nid = new_id()
        matched = with_skill[skill] and rng.random() < 0.6
        needs.append({"id": nid, "person_id": pid, "help": help_text, "skill": skill, "frequency": "每周",
                      "weekday": rng.randrange(1, 8), "start": "09:00", "end": "10:00",
                      "status": "matched" if matched else "open"})
        if matched:
            matches.append({"need_id": nid, "volunteer_id": rng.choice(with_skill[skill]),
                            "matched_at": today.isoformat(), "by": "demo", "status": "active"})
    with store.db.atomic():
        oplog.write(store, Need, needs)
        oplog.write(store, NeedMatch, matches)
    return {"needs": len(needs), "need_matches": len(matches)}
