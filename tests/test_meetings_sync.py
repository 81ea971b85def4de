"""Meetings merge across laptops like the register: two workers signing people in at one meeting
merge without conflict; the same tally typed differently is a conflict."""

from __future__ import annotations

from db import oplog
from db.meetings import kinds, matters
from db.meetings import meetings as mt
from db.sync import exchange, identity
from db.sync.conflicts import list_conflicts
from tests.sync_helpers import make_replicas, synced_content


def send(src, dst) -> None:
    with src.activated():
        data = exchange.export_bundle(src, for_device=identity.identity(dst).device_id).data
    with dst.activated():
        exchange.import_bundle(dst, exchange.read_bundle(dst, data))


def test_two_laptops_sign_in_at_one_meeting_and_type_tallies(tmp_path):
    a, b = make_replicas(tmp_path, ["worker_a", "worker_b"])
    try:
        with a.activated():
            kinds.ensure_default_kinds(a)
            kind = kinds.kind_by_name(a, "居民代表会议")
            people = [{"name": n, "unit": f"{i + 1}栋"} for i, n in enumerate("张王李赵钱孙周吴郑")]
            mid = mt.schedule_meeting(a, meeting={"title": "居民代表会议", "kind_id": kind["id"],
                                                  "starts_at": "2026-11-25 19:00"}, invitees=people)[0].row_id
            ids = {r["name"]: r["id"] for r in mt.invitees(a, mid)}
            motion = mt.add_motion(a, meeting_id=mid, title="小区停车收费方案")[0].row_id
            matter = matters.raise_matter(a, matter={"title": "停车难", "raised_by": "张"})[0].row_id
        send(a, b)
        # The office laptop (b) also set up its standard kinds: same ids, nothing doubled.
        with b.activated():
            kinds.ensure_default_kinds(b)
        # Two workers at two doors sign people in at the same time; both sign in 张.
        with a.activated():
            for n in "张王李赵":
                mt.sign_in(a, invitee_id=ids[n])
            mt.set_attendance(a, invitee_id=ids["吴"], status="absent", absence_reason="住院")
        with b.activated():
            for n in "张钱孙周":
                mt.sign_in(b, invitee_id=ids[n])
            matters.add_progress(b, matter_id=matter, text="已联系物业")
        send(a, b)
        send(b, a)
        for s in (a, b):
            with s.activated():
                assert list_conflicts(s) == []
                att = mt.attendance(s, mid)
                assert (att.entitled, att.present, att.absent) == (9, 7, 1)  # 7 of 9 >= 2/3: quorum
                assert oplog.compare_with_log(s) == []
        assert synced_content(a) == synced_content(b)

        # The same paper tally typed differently on the two laptops: a conflict, both values kept.
        with a.activated():
            mt.record_tally(a, motion_id=motion, votes_for=5, votes_against=1, votes_abstain=1)
        with b.activated():
            mt.record_tally(b, motion_id=motion, votes_for=6, votes_against=1, votes_abstain=0)
        send(a, b)
        send(b, a)
        for s in (a, b):
            with s.activated():
                fields = sorted((c.table, c.field) for c in list_conflicts(s))
                assert fields == [("motion", "votes_abstain"), ("motion", "votes_for")]
        assert synced_content(a) == synced_content(b)
    finally:
        a.close()
        b.close()


def test_options_merge_per_person_and_a_tally_typed_differently_is_a_conflict(tmp_path):
    a, b = make_replicas(tmp_path, ["worker_a", "worker_b"])
    try:
        with a.activated():
            kinds.ensure_default_kinds(a)
            kind = kinds.kind_by_name(a, "居民议事会")
            mid = mt.schedule_meeting(a, meeting={"title": "议事会", "kind_id": kind["id"],
                                                  "starts_at": "2026-11-25 19:00"},
                                      invitees=[{"name": n} for n in "张王李赵"])[0].row_id
            ids = {r["name"]: r["id"] for r in mt.invitees(a, mid)}
            for n in "张王李赵":
                mt.sign_in(a, invitee_id=ids[n])
            roll = mt.add_motion(a, meeting_id=mid, title="方案选择", options=["东侧", "西侧"])[0].row_id
            paper = mt.add_motion(a, meeting_id=mid, title="议题表决", options=["甲", "乙"], pick_one=False)[0].row_id
        send(a, b)
        east, west = (o["id"] for o in mt.motion_options(a, roll))
        # Two workers record votes person by person on two laptops: they merge without a conflict.
        with a.activated():
            mt.record_vote(a, motion_id=roll, invitee_id=ids["张"], choice="for", option_id=east)
            mt.record_vote(a, motion_id=roll, invitee_id=ids["王"], choice="for", option_id=east)
        with b.activated():
            mt.record_vote(b, motion_id=roll, invitee_id=ids["李"], choice="for", option_id=east)
            mt.record_vote(b, motion_id=roll, invitee_id=ids["赵"], choice="for", option_id=west)
        send(a, b)
        send(b, a)
        for s in (a, b):
            with s.activated():
                assert list_conflicts(s) == []
                motion = next(m for m in mt.meeting_overview(s, mid)["motions"] if m["id"] == roll)
                assert [o["tally"].votes_for for o in motion["options"]] == [3, 1] and motion["passed"]
        # The same option's paper tally typed differently: a conflict on that option's row.
        first = mt.motion_options(a, paper)[0]["id"]
        with a.activated():
            mt.record_option_tally(a, motion_id=paper, options=[{"option_id": first, "votes_for": 3}])
        with b.activated():
            mt.record_option_tally(b, motion_id=paper, options=[{"option_id": first, "votes_for": 2}])
        send(a, b)
        send(b, a)
        for s in (a, b):
            with s.activated():
                assert sorted((c.table, c.field) for c in list_conflicts(s)) == [("motion_option", "votes_for")]
        assert synced_content(a) == synced_content(b)
    finally:
        a.close()
        b.close()
