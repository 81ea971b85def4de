"""Volunteer services: hours rules, approval and corrections, stars, certificates, time bank, rotas, needs."""

from __future__ import annotations

import datetime as dt

import pytest

from db import oplog
from db.errors import ValidationErrors
from db.models.register import Building, Compound, Grid, Household, Membership, Person, Unit
from db.volunteers import needs, roster, rotas, service, stars, timebank
from db.volunteers.common import POOL


def _place(store, grid=None, compound=None):
    grid = grid or oplog.write(store, Grid, [{"name": "第1网格"}])[0].row_id
    compound = compound or oplog.write(store, Compound, [{"grid": grid, "name": "幸福里"}])[0].row_id
    building = oplog.write(store, Building, [{"compound": compound, "name": "1栋"}])[0].row_id
    unit = oplog.write(store, Unit, [{"building": building, "name": "1单元"}])[0].row_id
    return grid, compound, building, unit


def _household(store, unit, grid, members):
    """members: [(name, relation, birth_date)] -> person ids."""
    hh = oplog.write(store, Household, [{"grid": grid, "unit": unit, "door": "101", "address": "幸福里1栋101"}])[0].row_id
    ids = []
    for name, relation, birth in members:
        pid = oplog.write(store, Person, [{"name": name, "birth_date": birth, "sex": "男",
                                           "current_address": "幸福里1栋101"}])[0].row_id
        oplog.write(store, Membership, [{"household": hh, "person": pid, "relation": relation}])
        ids.append(pid)
    return ids


def _volunteer(store, name="张三", **kw):
    return roster.save_volunteer(store, name=name, **kw)[0].row_id


def _activity(store, team=None, start="2026-11-05 09:00", end="2026-11-05 11:00", **kw):
    return service.save_activity(store, team_id=team, title="关爱走访", start=start, end=end, **kw)[0].row_id


# -- hours rules ----------------------------------------------------------------------------------

def _m(text):
    return dt.datetime.fromisoformat(text)


def test_hours_rule_service_time_only_and_the_share():
    start, end = _m("2026-11-05T09:00"), _m("2026-11-05T11:00")
    full = service.service_minutes(sign_in=_m("2026-11-05T08:30"), sign_out=_m("2026-11-05T11:40"), start=start,
                                   end=end, set_minutes=120)
    assert full == service.Hours(120, 120, True)  # waiting before and after is not service time
    travel = service.service_minutes(sign_in=start, sign_out=end, start=start, end=end, set_minutes=120,
                                     travel_minutes=20)
    assert travel.minutes == 100 and travel.counted  # travel inside the signed span is excluded
    partial = service.service_minutes(sign_in=_m("2026-11-05T09:50"), sign_out=end, start=start, end=end,
                                      set_minutes=120)
    assert partial.served == 70 and not partial.counted and partial.minutes == 0  # 70 < 60 % of 120
    just = service.service_minutes(sign_in=_m("2026-11-05T09:48"), sign_out=end, start=start, end=end,
                                   set_minutes=120)
    assert just.counted and just.minutes == 72  # exactly 60 %
    lenient = service.service_minutes(sign_in=_m("2026-11-05T09:50"), sign_out=end, start=start, end=end,
                                      set_minutes=120, min_share=0.5)
    assert lenient.counted and lenient.minutes == 70


def test_the_share_is_a_setting(store):
    vid = _volunteer(store)
    act = _activity(store)
    store.set_meta(vol_min_share="0.5")
    service.record_service(store, activity_id=act, volunteer_id=vid, sign_in="2026-11-05 09:55",
                           sign_out="2026-11-05 11:00")
    (rec,) = service.activity_records(store, act)
    assert rec["minutes"] == 65 and rec["counted"] == 1


def test_sign_out_before_sign_in_is_refused_and_nothing_saved(store):
    vid = _volunteer(store)
    act = _activity(store)
    sid = service.sign_in(store, activity_id=act, volunteer_id=vid, at="2026-11-05 09:00")[0].row_id
    ops = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    with pytest.raises(ValidationErrors) as err:
        service.sign_out(store, service_id=sid, at="2026-11-05 08:00")
    assert err.value.errors[0].field == "sign_out"
    assert "签退时间" in err.value.message
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == ops
    service.sign_out(store, service_id=sid, at="2026-11-05 11:00")
    assert service.activity_records(store, act)[0]["minutes"] == 120


def test_overlapping_records_for_one_person_are_refused(store):
    vid = _volunteer(store)
    a1 = _activity(store)
    a2 = _activity(store, start="2026-11-05 10:00", end="2026-11-05 12:00")
    service.record_service(store, activity_id=a1, volunteer_id=vid, sign_in="2026-11-05 09:00",
                           sign_out="2026-11-05 11:00")
    with pytest.raises(ValidationErrors) as err:
        service.record_service(store, activity_id=a2, volunteer_id=vid, sign_in="2026-11-05 10:30",
                               sign_out="2026-11-05 12:00")
    assert "重叠" in err.value.message and err.value.errors[0].field == "sign_in"
    assert service.activity_records(store, a2) == []
    other = _volunteer(store, "李四")
    service.record_service(store, activity_id=a2, volunteer_id=other, sign_in="2026-11-05 10:30",
                           sign_out="2026-11-05 12:00")


def test_approval_deposits_once_and_corrections_are_logged(store):
    vid = _volunteer(store)
    act = _activity(store)
    sid = service.record_service(store, activity_id=act, volunteer_id=vid, sign_in="2026-11-05 09:00",
                                 sign_out="2026-11-05 11:00")[0].row_id
    assert service.total_minutes(store, vid) == 0  # not approved yet
    service.approve_services(store, service_ids=[sid], approved_by="王队长")
    service.approve_services(store, service_ids=[sid], approved_by="王队长")
    assert service.total_minutes(store, vid) == 120
    assert timebank.balance(store, vid) == 120
    with pytest.raises(ValidationErrors) as err:
        service.correct_service(store, service_id=sid, sign_out="2026-11-05 10:30", reason="")
    assert err.value.errors[0].field == "reason"
    service.correct_service(store, service_id=sid, sign_out="2026-11-05 10:30", reason="志愿者申请更正：提前离开")
    assert service.total_minutes(store, vid) == 90
    assert timebank.balance(store, vid) == 90
    log = service.corrections(store, sid)
    assert {e["field"] for e in log} == {"sign_out", "minutes"}
    assert all(e["by"] == "测试员" and e["reason"].startswith("志愿者") and e["at"] for e in log)


# -- stars and certificates -----------------------------------------------------------------------

@pytest.mark.parametrize(("preset", "limits"), [("national", (100, 300, 600, 1000, 1500)),
                                                ("beijing", (100, 200, 500, 800, 1000)),
                                                ("town", (30, 60, 100, 200, 300))])
def test_star_thresholds_per_preset(store, preset, limits):
    assert stars.thresholds(store, preset) == limits
    for level, hours in enumerate(limits, start=1):
        assert stars.level_for(hours * 60 - 1, limits) == level - 1
        assert stars.level_for(hours * 60, limits) == level
    assert stars.level_for(10**7, limits) == 5
    assert stars.level_for(0, limits) == 0


def _hours(store, vid, hours, day="2026-10-01"):
    act = service.save_activity(store, team_id=None, title="社区服务", start=f"{day} 00:00",
                                end=f"{day} {hours:02d}:00")[0].row_id
    sid = service.record_service(store, activity_id=act, volunteer_id=vid, sign_in=f"{day} 00:00",
                                 sign_out=f"{day} {hours:02d}:00")[0].row_id
    service.approve_services(store, service_ids=[sid])


def test_public_notice_before_award(store):
    vid = _volunteer(store)
    for d in range(1, 6):
        _hours(store, vid, 12, f"2026-10-{d:02d}")  # 60 hours
    store.set_meta(vol_star_preset="town")
    assert stars.star_levels(store) == {vid: (3600, 2)}
    day = dt.date(2026, 11, 1)
    posted = stars.post_notices(store, on=day)
    assert len(posted) == 1 and stars.notices(store)[0]["level"] == 2
    assert stars.post_notices(store, on=day) == []  # posted once
    assert stars.award_due(store, on=day + dt.timedelta(days=3)) == []  # still on notice
    assert stars.awarded_level(store, vid) == 0
    stars.award_due(store, on=day + dt.timedelta(days=8))
    assert stars.awarded_level(store, vid) == 2


def test_certificates_are_numbered_from_the_register(store):
    a, b = _volunteer(store), _volunteer(store, "李四")
    _hours(store, a, 3)
    _hours(store, b, 2)
    with pytest.raises(ValidationErrors):
        stars.issue_certificate(store, volunteer_id=a, issuer="")
    day = dt.date(2026, 11, 20)
    stars.issue_certificate(store, volunteer_id=a, issuer="幸福里社区居民委员会", on=day)
    stars.issue_certificate(store, volunteer_id=b, issuer="幸福里社区居民委员会", on=day)
    numbers = [c["number"] for c in stars.certificates(store)]
    assert numbers == ["2026-00001", "2026-00002"]
    assert stars.certificates(store, a)[0]["minutes"] == 180


# -- time bank --------------------------------------------------------------------------------------

def test_withdrawal_above_the_balance_is_refused(store):
    vid = _volunteer(store)
    _hours(store, vid, 2)
    with pytest.raises(ValidationErrors) as err:
        timebank.withdraw(store, account=vid, minutes=121)
    assert "余额" in err.value.message and err.value.errors[0].field == "minutes"
    timebank.withdraw(store, account=vid, minutes=120, note="助餐服务")
    assert timebank.balance(store, vid) == 0


def test_transfer_only_to_an_eligible_relative(store):
    grid, _c, _b, unit = _place(store)
    me, wife, son, mother = _household(store, unit, grid, [("张三", "户主", "1960-01-01"), ("李梅", "配偶", "1962-05-01"),
                                                           ("张小", "子女", "1990-01-01"), ("王母", "父母", "1935-01-01")])
    vid = roster.save_volunteer(store, person_id=me)[0].row_id
    _hours(store, vid, 10)
    with pytest.raises(ValidationErrors) as err:
        timebank.transfer(store, source=vid, person_id=son, minutes=60, on=dt.date(2026, 11, 1))
    assert "张小" in err.value.message and err.value.errors[0].field == "person_id"
    timebank.transfer(store, source=vid, person_id=wife, minutes=60, on=dt.date(2026, 11, 1))
    timebank.transfer(store, source=vid, person_id=mother, minutes=120, on=dt.date(2026, 11, 1))
    assert timebank.balance(store, vid) == 600 - 180
    assert timebank.balance(store, wife) == 60 and timebank.balance(store, mother) == 120
    timebank.donate(store, account=vid, minutes=20)
    assert timebank.balance(store, POOL) == 20
    assert sum(timebank.balances(store).values()) == 600  # transfers and donations conserve minutes


def test_cap_sends_the_surplus_to_the_pool(store):
    store.set_meta(vol_bank_cap_hours="3")
    vid = _volunteer(store)
    _hours(store, vid, 2, "2026-10-01")
    _hours(store, vid, 2, "2026-10-02")
    assert timebank.balance(store, vid) == 180
    assert timebank.balance(store, POOL) == 60


def test_hours_earned_by_a_group_can_only_be_donated(store):
    team = roster.save_team(store, name="邻里守望队")[0].row_id
    other = roster.save_team(store, name="巡逻队")[0].row_id
    act = _activity(store, team=team)
    with pytest.raises(ValidationErrors) as err:
        timebank.deposit_group_service(store, team_id=other, activity_id=act, minutes=120)
    assert err.value.errors[0].field == "activity_id"
    timebank.deposit_group_service(store, team_id=team, activity_id=act, minutes=120)
    with pytest.raises(ValidationErrors) as err:  # one group deposit per activity
        timebank.deposit_group_service(store, team_id=team, activity_id=act, minutes=120)
    assert "已经存入" in err.value.message
    assert timebank.balance(store, team) == 120 and timebank.is_group(store, team)
    count = store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0]
    with pytest.raises(ValidationErrors) as err:
        timebank.withdraw(store, account=team, minutes=60)
    assert "只能捐赠" in err.value.message and "邻里守望队" in err.value.message
    assert err.value.errors[0].field == "account"
    grid, _c, _b, unit = _place(store)
    (wife,) = _household(store, unit, grid, [("李梅", "配偶", "1950-01-01")])
    with pytest.raises(ValidationErrors) as err:
        timebank.transfer(store, source=team, person_id=wife, minutes=60, on=dt.date(2026, 11, 1))
    assert "只能捐赠" in err.value.message
    assert store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0] == count  # nothing saved
    timebank.donate(store, account=team, minutes=100)
    assert timebank.balance(store, team) == 20 and timebank.balance(store, POOL) == 100
    assert timebank.passbook(store, team)[0]["note"] == "团体服务：关爱走访"


# -- rotas ----------------------------------------------------------------------------------------

def test_clash_detection_across_rotas_and_availability(store):
    a = _volunteer(store, availability=[(4, "08:00", "12:00")])  # Thursdays mornings
    duty = rotas.save_rota(store, name="楼栋值班", kind="duty")[0].row_id
    patrol = rotas.save_rota(store, name="夜间巡逻", kind="patrol")[0].row_id
    s1 = rotas.add_shift(store, rota_id=duty, day="2026-11-05", start="08:00", end="10:00")[0].row_id
    s2 = rotas.add_shift(store, rota_id=patrol, day="2026-11-05", start="09:00", end="11:00")[0].row_id
    s3 = rotas.add_shift(store, rota_id=patrol, day="2026-11-05", start="14:00", end="16:00")[0].row_id
    rotas.assign(store, shift_id=s1, volunteer_id=a)
    with pytest.raises(ValidationErrors) as err:
        rotas.assign(store, shift_id=s1, volunteer_id=a)
    assert "已在" in err.value.message  # no one twice in a shift
    with pytest.raises(ValidationErrors) as err:
        rotas.assign(store, shift_id=s2, volunteer_id=a)
    assert "楼栋值班" in err.value.message
    with pytest.raises(ValidationErrors) as err:
        rotas.assign(store, shift_id=s3, volunteer_id=a)
    assert "不在可服务时间" in err.value.message
    rotas.assign(store, shift_id=s2, volunteer_id=a, allow_clash=True)
    week = rotas.week(store, rota_id=patrol, monday=dt.date(2026, 11, 2))
    (shown,) = [s for s in week if s["id"] == s2]
    assert shown["people"][0]["clashes"] and "楼栋值班" in shown["people"][0]["clashes"][0]


def test_rotation_is_fair_and_respects_availability(store):
    team = roster.save_team(store, name="巡逻队")[0].row_id
    ids = [_volunteer(store, f"队员{i}", team_ids=[team]) for i in range(7)]
    limited = _volunteer(store, "周末", team_ids=[team], availability=[(6, "00:00", "24:00"), (7, "00:00", "24:00")])
    rota = rotas.save_rota(store, name="巡逻", kind="patrol", team_id=team)[0].row_id
    plan = rotas.RotaPlan(rota, [*ids, limited], dt.date(2026, 11, 2), weeks=4, per_shift=3)
    result = rotas.generate(store, [plan])
    assert result.shifts == 56 and result.unfilled == 0
    load = rotas.loads(store, rota_id=rota)
    free = [load[v] for v in ids]
    assert max(free) - min(free) <= 1
    assert result.spread(rota) <= 1
    weekdays = {dt.date.fromisoformat(r[0]).isoweekday() for r in store.db.execute_sql(
        "select s.day from vol_shift s join vol_shift_person p on p.shift_id = s.id where p.volunteer_id = ?",
        (limited,))}
    assert weekdays <= {6, 7}
    twice = store.db.execute_sql("select count(*) from (select shift_id, volunteer_id from vol_shift_person "
                                 "group by 1, 2 having count(*) > 1)").fetchone()[0]
    assert twice == 0


def test_rotation_is_fair_where_availability_allows(store):
    """Mixed availability: nobody on a shift has two more shifts than someone free for it."""
    import random

    rng = random.Random(4)
    ids = []
    for i in range(12):
        days = rng.sample(range(1, 8), rng.randrange(1, 8))
        span = rng.choice((("08:00", "12:00"), ("14:00", "18:00"), ("08:00", "18:00")))
        ids.append(_volunteer(store, f"队员{i}", availability=[(d, *span) for d in days]))
    rota = rotas.save_rota(store, name="值班")[0].row_id
    result = rotas.generate(store, [rotas.RotaPlan(rota, ids, dt.date(2026, 11, 2), weeks=4, per_shift=2)])
    assert result.spread(rota) <= 1
    load = rotas.loads(store, rota_id=rota)
    for vid in ids:  # availability respected
        slots = roster.availability_map(store, [vid])[vid]
        for day, start, end in store.db.execute_sql(
                "select s.day, s.start, s.end from vol_shift s join vol_shift_person p on p.shift_id = s.id "
                "where p.volunteer_id = ?", (vid,)):
            assert roster.is_available(slots, dt.date.fromisoformat(day), start, end)
    assert sum(load.values()) == result.assignments


def test_generator_avoids_clashes_with_other_rotas(store):
    ids = [_volunteer(store, f"队员{i}") for i in range(4)]
    first = rotas.save_rota(store, name="值班", kind="duty")[0].row_id
    second = rotas.save_rota(store, name="巡逻", kind="patrol")[0].row_id
    rotas.generate(store, [rotas.RotaPlan(first, ids, dt.date(2026, 11, 2), weeks=1, per_shift=2)])
    rotas.generate(store, [rotas.RotaPlan(second, ids, dt.date(2026, 11, 2), weeks=1, per_shift=2)])
    for vid in ids:
        rows = store.db.execute_sql("select s.day, s.start from vol_shift s join vol_shift_person p on "
                                    "p.shift_id = s.id where p.volunteer_id = ?", (vid,)).fetchall()
        assert len(rows) == len(set(rows))


# -- needs ----------------------------------------------------------------------------------------

def test_matching_order_building_then_compound_then_grid(store):
    grid, compound, building, unit = _place(store)
    _g, compound2, _b2, unit_other_compound = _place(store, grid=grid)
    _g2, _c2, _b3, unit_same_compound = _place(store, grid=grid, compound=compound)
    _g3, _c3, _b4, unit_other_grid = _place(store)
    (elder,) = _household(store, unit, grid, [("孤老", "户主", "1940-01-01")])
    (near,) = _household(store, unit, grid, [("同楼", "户主", "1980-01-01")])
    (mid,) = _household(store, unit_same_compound, grid, [("同小区", "户主", "1980-01-01")])
    (far,) = _household(store, unit_other_compound, grid, [("同网格", "户主", "1980-01-01")])
    (away,) = _household(store, unit_other_grid, _g3, [("别处", "户主", "1980-01-01")])
    vids = {}
    for pid in (away, far, mid, near):
        vids[pid] = roster.save_volunteer(store, person_id=pid, skills=["购物代办"])[0].row_id
    roster.save_volunteer(store, name="无技能", skills=["理发"])
    roster.save_volunteer(store, name="没空", skills=["购物代办"], availability=[(1, "08:00", "10:00")])
    need = needs.save_need(store, person_id=elder, help="每周代买菜", skill="购物代办", weekday=3, start="09:00",
                           end="10:00")[0].row_id
    order = [s.volunteer_id for s in needs.suggest(store, need_id=need)]
    assert order == [vids[near], vids[mid], vids[far], vids[away]]
    needs.match(store, need_id=need, volunteer_id=vids[near])
    assert needs.list_needs(store)[0]["status"] == "matched"
    changes = needs.record_need_service(store, need_id=need, volunteer_id=vids[near], sign_in="2026-11-04 09:00",
                                        sign_out="2026-11-04 10:00")
    service.approve_services(store, service_ids=[c.row_id for c in changes if c.table == "vol_service"])
    assert service.total_minutes(store, vids[near]) == 60


def test_search_by_initials_skill_and_team(store):
    team = roster.save_team(store, name="医疗救助队", kind="医疗救助")[0].row_id
    a = _volunteer(store, "张三", skills=["医疗护理"], team_ids=[team])
    b = _volunteer(store, "李四", skills=["理发"])
    assert roster.search_volunteers(store, roster.RosterFilters(text="zs")) == [a]
    assert roster.search_volunteers(store, roster.RosterFilters(text="理发")) == [b]
    assert roster.search_volunteers(store, roster.RosterFilters(text="医疗救助")) == [a]
    assert roster.search_volunteers(store, roster.RosterFilters(team_id=team)) == [a]
    assert roster.search_volunteers(store, roster.RosterFilters(skill="理发")) == [b]
    roster.save_volunteer(store, volunteer_id=b, name="王五")
    assert roster.search_volunteers(store, roster.RosterFilters(text="ww")) == [b]


def test_resident_volunteer_reads_the_register(store):
    grid, _c, _b, unit = _place(store)
    (pid,) = _household(store, unit, grid, [("赵六", "户主", "1970-03-04")])
    vid = roster.save_volunteer(store, person_id=pid, party_report=True, employer="区卫健委")[0].row_id
    oplog.write(store, Person, [{"id": pid, "name": "赵陆"}])
    assert roster.volunteer_info(store, vid)["name"] == "赵陆"
    assert roster.search_volunteers(store, roster.RosterFilters(text="赵陆")) == [vid]
    with pytest.raises(ValidationErrors) as err:
        roster.save_volunteer(store, name="钱七", party_report=True)
    assert err.value.errors[0].field == "employer"


def test_tables_equal_a_rebuild_from_the_log(store):
    vid = _volunteer(store, skills=["巡逻"])
    _hours(store, vid, 2)
    rota = rotas.save_rota(store, name="巡逻")[0].row_id
    rotas.generate(store, [rotas.RotaPlan(rota, [vid], dt.date(2026, 11, 2), weeks=1, per_shift=1)])
    assert oplog.compare_with_log(store) == []
    store.db.execute_sql("delete from vol_total")
    oplog.rebuild(store)
    assert roster.search_volunteers(store, roster.RosterFilters(text="zs")) == [vid]
    assert service.all_totals(store) == {vid: 120}  # derived totals rebuilt with the tables
