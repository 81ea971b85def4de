"""Meeting and matter services on a real database: attendance, proxies, tallies, outcomes,
resolutions, photos, a matter through its whole life, and the tables equal to a rebuild."""

from __future__ import annotations

import datetime as dt

import pytest

from db import oplog
from db.errors import ValidationErrors
from db.meetings import attachments, kinds, matters, partners
from db.meetings import meetings as mt
from db.meetings.invitees import SignInIndex, register_people
from db.register import households
from tests.register_helpers import first_building_and_unit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture
def building(store):
    b, u = first_building_and_unit(store)
    people = [("101", "张三", "中共党员"), ("102", "李四", "群众"), ("201", "王小明", "中共党员"),
              ("202", "赵敏", "群众"), ("301", "周杰", "中共党员")]
    for door, name, political in people:
        households.register_household(store, household={"unit_id": u, "door": door, "house_use": "自住"}, members=[
            {"relation": "户主", "name": name, "birth_date": "1970-05-01", "sex": "男",
             "political_status": political}])
    return b


def meeting_of(store, kind_name, building, body="households", **extra):
    kinds.ensure_default_kinds(store)
    kind = kinds.kind_by_name(store, kind_name)
    people = register_people(store, body=body, building_ids=[building])
    changes = mt.schedule_meeting(store, meeting={"title": f"3栋{kind_name}", "kind_id": kind["id"],
                                                  "starts_at": "2026-11-25 19:00", "place": "社区活动室",
                                                  "chair": "刘书记", "recorder": "陈网格员", **extra},
                                  invitees=people)
    mid = next(c.row_id for c in changes if c.table == "meeting")
    return mid, {r["name"]: r["id"] for r in mt.invitees(store, mid)}


def test_default_kinds_have_stable_ids_and_editable_rules(store):
    kinds.ensure_default_kinds(store)
    assert kinds.ensure_default_kinds(store) == []
    k = kinds.kind_by_name(store, "党员大会")
    assert k["id"] == kinds.standard_kind_id("党员大会") and k["pass_base"] == "entitled"
    with pytest.raises(ValidationErrors) as exc:
        kinds.save_kind(store, kind_id=k["id"], values={"quorum": "过半"})
    assert exc.value.errors[0].field == "quorum"
    kinds.save_kind(store, kind_id=k["id"], values={"quorum": ">=2/3"})
    assert kinds.get_kind(store, k["id"])["quorum"] == ">=2/3"


def test_invitees_from_the_register_numbered_and_sign_in_by_initials(store, building):
    mid, ids = meeting_of(store, "居民会议", building)
    rows = mt.invitees(store, mid)
    assert [r["sort_no"] for r in rows] == [1, 2, 3, 4, 5]
    index = SignInIndex(rows)
    assert [rows[i]["name"] for i in index.match("zs")][:1] == ["张三"]
    assert [rows[i]["name"] for i in index.match("wxm")] == ["王小明"]
    assert [rows[i]["name"] for i in index.match("202")] == ["赵敏"]
    assert [rows[i]["name"] for i in index.match("李")] == ["李四"]
    # Inviting again adds nobody twice.
    mt.invite(store, meeting_id=mid, people=register_people(store, body="households", building_ids=[building]))
    assert len(mt.invitees(store, mid)) == 5
    party = register_people(store, body="party_members", building_ids=[building])
    assert sorted(p["name"] for p in party) == ["周杰", "张三", "王小明"]


def test_below_quorum_meeting_decides_nothing_and_tally_over_present_saves_nothing(store, building):
    mid, ids = meeting_of(store, "居民会议", building)
    mt.sign_in(store, invitee_id=ids["张三"])
    mt.sign_in(store, invitee_id=ids["李四"])
    mt.set_attendance(store, invitee_id=ids["赵敏"], status="absent", absence_reason="出差")
    motion = mt.add_motion(store, meeting_id=mid, title="加装电梯")[0].row_id
    before = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    with pytest.raises(ValidationErrors) as exc:
        mt.record_tally(store, motion_id=motion, votes_for=2, votes_against=1, votes_abstain=0)
    assert exc.value.errors[0].field == "votes_for" and "2" in exc.value.message
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == before
    mt.record_tally(store, motion_id=motion, votes_for=2, votes_against=0, votes_abstain=0)
    result = mt.motion_outcome(store, motion)
    assert not result.decided and "未达法定人数" in result.reason  # 2 of 5 is not more than half
    mt.sign_in(store, invitee_id=ids["王小明"])
    result = mt.motion_outcome(store, motion)
    assert result.decided and result.passed is True  # 3 of 5 present; 2 for is more than half of 3
    mt.record_tally(store, motion_id=motion, votes_for=1, votes_against=1, votes_abstain=1)
    result = mt.motion_outcome(store, motion)
    assert result.decided and result.passed is False and "实到" in result.reason


def test_proxy_limit_and_party_meeting_counts_of_entitled(store, building):
    mid, ids = meeting_of(store, "居民会议", building)  # one proxy per holder
    mt.sign_in(store, invitee_id=ids["张三"])
    mt.set_attendance(store, invitee_id=ids["李四"], status="proxy", proxy_holder=ids["张三"])
    with pytest.raises(ValidationErrors) as exc:
        mt.set_attendance(store, invitee_id=ids["赵敏"], status="proxy", proxy_holder=ids["张三"])
    assert exc.value.errors[0].field == "proxy_holder" and "张三" in exc.value.message
    assert mt.invitees(store, mid)[3]["status"] == "invited"
    att = mt.attendance(store, mid)
    assert (att.present, att.proxies, att.entitled) == (1, 1, 5)

    pid, pids = meeting_of(store, "党员大会", building, body="party_members")
    with pytest.raises(ValidationErrors) as exc:
        mt.sign_in(store, invitee_id=pids["张三"])
        mt.set_attendance(store, invitee_id=pids["周杰"], status="proxy", proxy_holder=pids["张三"])
    assert "不允许委托" in exc.value.message
    # 10 members entitled (the branch is larger than this building), 6 present: 4 yes of 6 present is
    # more than half of those present but not more than half of the 10 entitled.
    mt.update_meeting(store, meeting_id=pid, values={"entitled_count": 10})
    mt.invite(store, meeting_id=pid, people=[{"name": n} for n in ("甲", "乙", "丙")])
    for name in ("王小明", "周杰", "甲", "乙", "丙"):
        mt.sign_in(store, invitee_id=mt.invitee_id(pid, "n:" + name) if len(name) == 1 else pids[name])
    motion = mt.add_motion(store, meeting_id=pid, title="发展预备党员")[0].row_id
    mt.record_tally(store, motion_id=motion, votes_for=5, votes_against=1, votes_abstain=0)
    r = mt.motion_outcome(store, motion)
    assert r.decided and r.passed is False and "应到" in r.reason
    mt.record_tally(store, motion_id=motion, votes_for=6, votes_against=0, votes_abstain=0)
    assert mt.motion_outcome(store, motion).passed is True


def test_per_person_votes_with_floor_area_double_majority(store, building):
    mid, ids = meeting_of(store, "业主大会/三方联动会议", building, body="owners")
    areas = {"张三": 90.0, "李四": 120.0, "王小明": 60.0, "赵敏": 80.0, "周杰": 100.0}
    from db.models.meetings import Invitee

    oplog.write(store, Invitee, [{"id": ids[n], "area": a} for n, a in areas.items()])
    for name in ("张三", "李四", "王小明", "赵敏"):  # 4 of 5 owners, 350 of 450 m²
        mt.sign_in(store, invitee_id=ids[name])
    motion = mt.add_motion(store, meeting_id=mid, title="使用维修资金更换水泵", major=True)[0].row_id
    for name, choice in (("张三", "for"), ("李四", "for"), ("王小明", "for"), ("赵敏", "against")):
        mt.record_vote(store, motion_id=motion, invitee_id=ids[name], choice=choice)
    r = mt.motion_outcome(store, motion)
    # 3 of 4 owners (3/4 met) and 270 of 350 m² (77 %, 3/4 met): passes.
    assert r.decided and r.passed is True
    mt.record_vote(store, motion_id=motion, invitee_id=ids["李四"], choice="against")
    r = mt.motion_outcome(store, motion)  # 2 of 4 and 150 m²: fails on both
    assert r.passed is False
    with pytest.raises(ValidationErrors):
        mt.record_vote(store, motion_id=motion, invitee_id=ids["周杰"], choice="for")  # not present


def test_resolution_needs_an_owner_and_reports_progress(store, building):
    mid, _ids = meeting_of(store, "居民议事会", building)
    with pytest.raises(ValidationErrors) as exc:
        mt.add_resolution(store, meeting_id=mid, text="维修楼道灯", owner="  ")
    assert exc.value.errors[0].field == "owner" and "责任人" in exc.value.message
    assert mt.resolutions(store) == []
    rid = mt.add_resolution(store, meeting_id=mid, text="维修楼道灯", owner="物业王经理",
                            deadline="2026-12-10")[0].row_id
    mt.report_resolution_progress(store, resolution_id=rid, percent=100, text="已更换", on=dt.date(2026, 12, 1))
    [r] = mt.resolutions(store)
    assert r["progress"] == 100 and r["done_on"] == "2026-12-01" and not r["overdue"]


def test_photo_must_be_an_image_of_bounded_size(store, building):
    mid, _ids = meeting_of(store, "居民议事会", building)
    for data, words in ((b"%PDF-1.4 not a photo", "不是图片"), (PNG + b"\x00" * attachments.MAX_BYTES, "KB")):
        with pytest.raises(ValidationErrors) as exc:
            attachments.add_attachment(store, owner_table="meeting", owner_id=mid, data=data, filename="签到表.jpg")
        assert exc.value.errors[0].field == "photo" and words in exc.value.message and "签到表.jpg" in exc.value.message
    assert attachments.attachments(store, "meeting", mid) == []
    aid = attachments.add_attachment(store, owner_table="meeting", owner_id=mid, data=PNG, filename="a.png")[0].row_id
    assert attachments.attachment_bytes(store, aid) == PNG


def test_a_matter_through_its_whole_life(store, building):
    day = dt.date(2026, 10, 1)
    org = partners.save_org(store, name="幸福物业", kind="物业", phone="027-85551234")[0].row_id
    matter = matters.raise_matter(store, matter={"title": "3栋楼道堆放杂物", "raised_by": "张三", "channel": "走访",
                                                 "category": "环境", "building_id": building}, on=day)[0].row_id
    assert matters.get_matter(store, matter)["stage"] == "raised"
    mid, ids = meeting_of(store, "居民议事会", building, starts_at="2026-10-08 19:00")
    matters.put_on_agenda(store, matter_id=matter, meeting_id=mid)
    assert matters.get_matter(store, matter)["stage"] == "discussed"
    motion = mt.add_motion(store, meeting_id=mid, title="限期清理楼道杂物", matter_id=matter)[0].row_id
    with pytest.raises(ValidationErrors) as exc:  # no votes yet: not decided
        matters.decide_matter(store, matter_id=matter, decided_by="vote", decision="限期清理", motion_id=motion)
    assert exc.value.errors[0].field == "motion_id"
    for name in ("张三", "李四", "王小明"):
        mt.sign_in(store, invitee_id=ids[name])
    mt.record_tally(store, motion_id=motion, votes_for=3, votes_against=0, votes_abstain=0)
    matters.decide_matter(store, matter_id=matter, decided_by="vote", decision="两周内清理", motion_id=motion,
                          on=dt.date(2026, 10, 8))
    with pytest.raises(ValidationErrors) as exc:
        matters.assign_matter(store, matter_id=matter, owner="", deadline="2026-10-22")
    assert exc.value.errors[0].field == "owner"
    matters.assign_matter(store, matter_id=matter, owner="", partner_org_id=org, deadline="2026-10-22")
    assert matters.matter_ids(store, flag="overdue", on=dt.date(2026, 10, 23)) == [matter]
    matters.add_progress(store, matter_id=matter, text="已通知住户", on=dt.date(2026, 10, 10), percent=30)
    matters.complete_matter(store, matter_id=matter, result="杂物已清理完毕", on=dt.date(2026, 10, 20))
    assert matters.matter_ids(store, flag="unposted") == [matter]
    matters.post_result(store, matter_id=matter, on=dt.date(2026, 10, 21))
    assert matters.matter_ids(store, flag="unevaluated", on=dt.date(2026, 10, 28)) == [matter]
    assert matters.matter_ids(store, flag="unevaluated", on=dt.date(2026, 10, 27)) == []
    with pytest.raises(ValidationErrors):
        matters.evaluate(store, matter_id=matter, rating="很好", name="李四")
    matters.evaluate(store, matter_id=matter, rating="满意", name="李四", comment="楼道干净了", on=dt.date(2026, 10, 29))
    assert matters.get_matter(store, matter)["stage"] == "evaluated"
    steps = [e["step"] for e in matters.history(store, matter)]
    assert steps == ["提出", "议事", "决定", "交办", "进展", "办结", "公示", "评价"]
    row = matters.matter_rows(store, [matter])[matter]
    assert row["stage"] == "evaluated" and row["owner"] == "幸福物业" and row["satisfied"] == 1
    stats = matters.statistics(store)
    assert ("环境", 1) in stats["category"] and ("满意", 1) in stats["satisfaction"]
    # Every row written is a view of the op log.
    assert oplog.compare_with_log(store) == []
    oplog.rebuild(store)
    assert oplog.compare_with_log(store) == []
    assert matters.get_matter(store, matter)["stage"] == "evaluated"
