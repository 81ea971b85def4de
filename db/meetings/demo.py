"""Demo meetings and matters: a year of meetings of every kind with attendance, agenda, votes and
resolutions, partner organisations, and residents' matters through their whole life. Scales with
the register: about one meeting per 10 households and two matters per 5 households."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from db import oplog
from db.ids import new_id
from db.meetings.kinds import PRESETS, ensure_default_kinds, standard_kind_id
from db.meetings.matters import CATEGORIES, CHANNELS
from db.meetings.meetings import invitee_id, vote_id
from db.models.meetings import (
    AgendaItem,
    Evaluation,
    Invitee,
    Matter,
    Meeting,
    Motion,
    MotionOption,
    PartnerContact,
    PartnerOrg,
    ProgressEntry,
    Resolution,
    Vote,
)

PLANS = ["方案一：由物业统一实施", "方案二：居民自筹自建", "方案三：申请专项资金", "方案四：暂缓实施"]
TOPICS = {
    "环境": ("楼道堆放杂物", "垃圾分类点异味", "绿化带缺损", "楼顶积水"),
    "治安": ("单元门禁损坏", "夜间电动车被盗", "外来人员频繁出入"),
    "物业": ("物业费收支公开", "电梯维保不到位", "保洁频次不够"),
    "帮困": ("独居老人送餐", "困难家庭临时救助", "残疾人出行帮扶"),
    "设施": ("加装电梯", "楼道灯损坏", "健身器材老化", "充电桩安装"),
    "其他": ("广场舞噪音", "宠物管理", "停车难"),
}
ORGS = (("幸福里业主委员会", "业委会"), ("安居物业服务有限公司", "物业"), ("社区卫生服务站", "辖区单位"),
        ("百步亭小学", "辖区单位"), ("邻里守望社工站", "社会组织"))
PLACES = ("社区党群服务中心", "社区活动室", "小区议事亭", "物业办公室", "社区会议室")
OFFICIALS = ("刘书记", "陈主任", "王委员", "张网格员", "李网格员")
# Kinds by share of the meetings held: building leaders and councils meet most often.
KIND_WEIGHTS = {"居民会议": 3, "居民代表会议": 10, "党员大会": 12, "业主大会/三方联动会议": 8, "楼栋长会议": 30,
                "居民议事会": 30, "三社联动会议": 7}
BATCH = 5000


def _people(store) -> tuple[list[tuple], dict[str, list[int]]]:
    """(person id, name, address, building id, party member, head) of residents living here."""
    rows = store.db.execute_sql(
        "select p.id, p.name, h.address, u.building_id, p.political_status = '中共党员', m.relation = '户主', "
        "p.phone from membership m join person p on p.id = m.person_id join household h on h.id = m.household_id "
        "join unit u on u.id = h.unit_id where m.deleted = 0 and m.until is null and p.death_date is null "
        "and p.move_out_date is null and p.birth_date <= '2008-01-01' order by h.number, m.relation != '户主'"
    ).fetchall()
    by_building: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_building.setdefault(r[3], []).append(i)
    return rows, by_building


def generate(store, *, seed: int = 1, today: dt.date | None = None, households: int | None = None,
             progress: Callable[[int, int], bool] | None = None) -> dict[str, int]:
    rng = random.Random(seed * 104729 + 12)
    option_rng = random.Random(seed * 7919 + 5)  # its own stream: the rest of the demo stays as it was
    today = today or dt.date(2026, 11, 1)
    ensure_default_kinds(store)
    people, by_building = _people(store)
    if not people:
        return {"meetings": 0, "matters": 0}
    n_households = households or store.db.execute_sql("select count(*) from household").fetchone()[0]
    n_meetings = max(12, n_households // 10)
    n_matters = max(20, n_households * 2 // 5)
    buildings = [b for b in by_building if b]
    party = [i for i, r in enumerate(people) if r[4]]
    pending: dict[type, list[dict]] = {m: [] for m in (PartnerOrg, PartnerContact, Meeting, Invitee, AgendaItem,
                                                      Motion, MotionOption, Vote, Matter, Resolution, ProgressEntry,
                                                      Evaluation)}
    counts = {"meetings": 0, "matters": 0, "invitees": 0}

    def flush() -> None:
        with store.db.atomic():
            for model, rows in pending.items():
                if rows:
                    oplog.write(store, model, rows)
                    rows.clear()

    org_ids = []
    for name, kind in ORGS:
        oid = new_id()
        org_ids.append(oid)
        pending[PartnerOrg].append({"id": oid, "name": name, "kind": kind, "phone": "027-8555" + f"{rng.randrange(10**4):04d}"})
        pending[PartnerContact].append({"org_id": oid, "name": rng.choice("王李张刘陈") + rng.choice("建国丽华明军"),
                                        "role": "负责人", "phone": f"139{rng.randrange(10**8):08d}"})
    start = today - dt.timedelta(days=365)
    kind_names = list(KIND_WEIGHTS)
    weights = [KIND_WEIGHTS[k] for k in kind_names]
    presets = {p[0]: p for p in PRESETS}
    meetings_made: list[tuple[str, str, list[str]]] = []  # (id, date, invitee ids present)
    for n in range(n_meetings):
        kind = rng.choices(kind_names, weights)[0]
        day = start + dt.timedelta(days=rng.randrange(0, 365 + 45))
        when = dt.datetime.combine(day, dt.time(rng.choice((9, 14, 15, 19)), rng.choice((0, 30))))
        building = rng.choice(buildings)
        if kind == "党员大会":
            pool = rng.sample(party, min(len(party), rng.randrange(15, 45))) if party else []
        elif kind in ("居民会议", "业主大会/三方联动会议"):
            pool = [i for i in by_building[building] if people[i][5]] or by_building[building]
            pool = pool[:300]
        else:
            pool = rng.sample(by_building[building], min(len(by_building[building]), rng.randrange(8, 25)))
        mid = new_id()
        held = day < today
        status = "held" if held else "planned"
        if held and rng.random() < 0.03:
            status = "cancelled"
        bname = people[pool[0]][2][:people[pool[0]][2].find("栋") + 1] if pool else ""
        title = f"{bname}{kind}" if kind not in ("党员大会",) else f"第{n % 4 + 1}党支部党员大会"
        double = presets[kind][7]
        pending[Meeting].append({"id": mid, "title": title, "kind_id": standard_kind_id(kind),
                                 "starts_at": when.isoformat(timespec="minutes"),
                                 "ends_at": (when + dt.timedelta(minutes=90)).isoformat(timespec="minutes"),
                                 "place": rng.choice(PLACES), "chair": OFFICIALS[0] if kind == "党员大会" else rng.choice(OFFICIALS),
                                 "recorder": rng.choice(OFFICIALS[3:]), "status": status, "building_id": building,
                                 "voting_method": rng.choice(("举手表决", "投票表决")),
                                 "summary": "会议听取了情况通报，与会人员充分讨论并形成决议。" if held else None})
        turnout = rng.uniform(0.55, 0.95)
        present: list[tuple[str, float]] = []
        for no, i in enumerate(pool, 1):
            pid, name, address, _b, _party, _head, phone = people[i]
            iid = invitee_id(mid, "p:" + pid)
            area = round(rng.uniform(55, 140), 1) if double else None
            row = {"id": iid, "meeting_id": mid, "person_id": pid, "name": name, "unit": address, "phone": phone,
                   "sort_no": no, "area": area, "status": "invited"}
            if held and status == "held":
                r = rng.random()
                if r < turnout:
                    row["status"] = "present"
                    present.append((iid, area or 0.0))
                elif r < turnout + 0.05 and present and kind not in ("党员大会",):
                    row["status"] = "proxy"
                    row["proxy_holder"] = present[-1][0]
                    present.append((iid, area or 0.0))
                else:
                    row["status"] = "absent"
                    row["absence_reason"] = rng.choice(("出差", "身体不适", "工作冲突", "外出", None))
            pending[Invitee].append(row)
            counts["invitees"] += 1
        if status == "held":
            topic_cat = rng.choice(CATEGORIES)
            topic = rng.choice(TOPICS[topic_cat])
            aid = new_id()
            pending[AgendaItem].append({"id": aid, "meeting_id": mid, "position": 1, "title": f"关于{topic}的议题",
                                        "notes": "与会人员逐一发言，提出意见建议。"})
            motion = {"id": new_id(), "meeting_id": mid, "agenda_item_id": aid, "title": f"{topic}处理方案",
                      "major": int(double and rng.random() < 0.3)}
            n_present = len(present)
            if double and n_present <= 60:
                motion["mode"] = "per_person"
                for iid, _area in present:
                    pending[Vote].append({"id": vote_id(motion["id"], iid), "motion_id": motion["id"],
                                          "invitee_id": iid,
                                          "choice": rng.choices(("for", "against", "abstain"), (80, 12, 8))[0]})
            else:
                yes = int(n_present * rng.uniform(0.55, 0.95))
                no = rng.randrange(0, max(1, n_present - yes + 1))
                motion.update(mode="tally", votes_for=yes, votes_against=no, votes_abstain=n_present - yes - no)
                if double:
                    total = sum(a for _i, a in present)
                    motion.update(area_for=round(total * yes / max(1, n_present), 2),
                                  area_against=round(total * no / max(1, n_present), 2),
                                  area_abstain=round(total * (n_present - yes - no) / max(1, n_present), 2))
            pending[Motion].append(motion)
            if not double and n_present >= 3 and option_rng.random() < 0.15:
                # A choice between plans typed from paper: one is adopted (or none, or a tie).
                plans = option_rng.sample(PLANS, option_rng.choice((2, 3)))
                choice = {"id": new_id(), "meeting_id": mid, "agenda_item_id": aid, "title": f"{topic}实施方案选择",
                          "major": 0, "mode": "tally", "pick_one": 1}
                pending[Motion].append(choice)
                left = n_present
                for position, plan in enumerate(plans, 1):
                    yes = option_rng.randrange(0, left + 1) if position < len(plans) else left
                    left -= yes
                    pending[MotionOption].append({"motion_id": choice["id"], "position": position, "label": plan,
                                                  "votes_for": yes, "votes_against": n_present - yes,
                                                  "votes_abstain": 0})
            deadline = day + dt.timedelta(days=rng.randrange(14, 60))
            done = deadline < today and rng.random() < 0.8
            pending[Resolution].append({"meeting_id": mid, "motion_id": motion["id"], "text": f"{topic}：按方案落实",
                                        "owner": rng.choice(OFFICIALS[1:]), "deadline": deadline.isoformat(),
                                        "progress": 100 if done else rng.choice((0, 30, 60)),
                                        "done_on": (deadline - dt.timedelta(days=3)).isoformat() if done else None})
            meetings_made.append((mid, day.isoformat(), aid))
        counts["meetings"] += 1
        if len(pending[Invitee]) >= BATCH:
            flush()
            if progress and progress(n, n_meetings + n_matters) is False:
                break
    flush()
    held_meetings = [m for m in meetings_made if m[1] < today.isoformat()]
    positions: dict[str, int] = {}
    for n in range(n_matters):
        cat = rng.choice(CATEGORIES)
        raised = start + dt.timedelta(days=rng.randrange(0, 365))
        i = rng.randrange(len(people))
        pid, name, _address, building, *_rest = people[i]
        mid = new_id()
        row = {"id": mid, "title": rng.choice(TOPICS[cat]), "description": "居民反映情况，希望尽快解决。",
               "raised_by": name, "person_id": pid, "raised_on": raised.isoformat(), "channel": rng.choice(CHANNELS),
               "category": cat, "building_id": building}
        life = rng.random()
        age = (today - raised).days
        later = [m for m in held_meetings if m[1] >= raised.isoformat()][:20]
        if life > 0.15 and later:
            meeting = rng.choice(later)
            positions[meeting[0]] = positions.get(meeting[0], 1) + 1
            pending[AgendaItem].append({"meeting_id": meeting[0], "position": positions[meeting[0]],
                                        "title": row["title"], "matter": mid})
        if life > 0.25:
            decided = raised + dt.timedelta(days=rng.randrange(3, 15))
            row.update(decided_on=decided.isoformat(), decided_by=rng.choice(("vote", "committee")),
                       decision="同意按方案办理")
            deadline = decided + dt.timedelta(days=rng.randrange(10, 45))
            if rng.random() < 0.5:
                row.update(owner=rng.choice(OFFICIALS[1:]), deadline=deadline.isoformat())
            else:
                row.update(partner_org_id=rng.choice(org_ids), deadline=deadline.isoformat())
            pending[ProgressEntry].append({"matter_id": mid, "on_date": (decided + dt.timedelta(days=5)).isoformat(),
                                           "text": "已现场查看，制定方案", "by": rng.choice(OFFICIALS[3:]), "percent": 30})
            if life > 0.4 and age > 40:
                done_on = deadline - dt.timedelta(days=rng.randrange(0, 8))
                if rng.random() < 0.15:
                    done_on = deadline + dt.timedelta(days=rng.randrange(1, 20))
                if done_on < today:
                    row.update(done_on=done_on.isoformat(), result="已办结，居民确认")
                    if life > 0.5 and done_on + dt.timedelta(days=2) < today:
                        posted = done_on + dt.timedelta(days=2)
                        row.update(posted_on=posted.isoformat(), posting_days=7)
                        if life > 0.6 and posted + dt.timedelta(days=7) < today:
                            for _k in range(rng.randrange(1, 4)):
                                j = rng.choice(by_building.get(building) or [i])
                                pending[Evaluation].append({
                                    "matter_id": mid, "person_id": people[j][0], "name": people[j][1],
                                    "rating": rng.choices(("满意", "基本满意", "不满意"), (70, 22, 8))[0],
                                    "on_date": (posted + dt.timedelta(days=8)).isoformat()})
        pending[Matter].append(row)
        counts["matters"] += 1
        if len(pending[Matter]) >= BATCH:
            flush()
            if progress and progress(n_meetings + n, n_meetings + n_matters) is False:
                break
    flush()
    return counts
