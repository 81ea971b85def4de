"""Motions with several options: the options are rows, each has its own for/against/abstain,
the outcome follows the kind's rule (hand-computed cases), tallies are checked, per-person votes
count per option, and the minutes and ballots print the options (pdftotext)."""

from __future__ import annotations

import pytest

from db import oplog
from db.errors import ValidationErrors
from db.meetings import kinds
from db.meetings import meetings as mt
from db.meetings.rules import Attendance, Tally, check_option_tallies, options_outcome
from db.print_jobs import PrintJob, make_pdf
from tests.pdf_tools import text as pdf_text
from tests.register_helpers import first_unit
from tests.test_meetings_rules import preset


def att(entitled, present):
    return Attendance(entitled=entitled, present=present, proxies=0)


def test_pick_one_adopts_the_passing_option_with_most_votes_for():
    rule = preset("居民会议")  # more than half of those present (60 present: 31 needed)
    overall, results = options_outcome(rule, att(100, 60), [("方案一", Tally(20, 30, 10)),
                                                            ("方案二", Tally(35, 20, 5))], pick_one=True)
    assert overall.decided and overall.passed
    assert [r.adopted for r in results] == [False, True]
    assert "方案二" in overall.reason
    assert results[0].outcome.passed is False and results[1].outcome.passed is True


def test_pick_one_where_no_option_reaches_the_rule_adopts_nothing():
    rule = preset("居民会议")
    overall, results = options_outcome(rule, att(100, 60), [("方案一", Tally(30, 20, 10)),
                                                            ("方案二", Tally(28, 22, 10))], pick_one=True)
    assert overall.decided and overall.passed is False  # 30 is not more than half of 60
    assert not any(r.adopted for r in results)
    assert "方案一" in overall.reason  # the closest is named


def test_party_meeting_options_count_against_those_entitled():
    rule = preset("党员大会")  # YES must exceed half of those ENTITLED (40 entitled: 21)
    overall, results = options_outcome(rule, att(40, 30), [("甲", Tally(20, 5, 5)), ("乙", Tally(21, 5, 4))],
                                       pick_one=False)
    assert [r.outcome.passed for r in results] == [False, True]
    assert [r.adopted for r in results] == [False, True]
    assert overall.passed


def test_below_quorum_options_decide_nothing():
    rule = preset("居民会议")
    overall, results = options_outcome(rule, att(100, 40), [("方案一", Tally(40, 0, 0)),
                                                            ("方案二", Tally(0, 40, 0))], pick_one=True)
    assert overall.decided is False and overall.quorum_met is False
    assert not any(r.adopted for r in results)


def test_a_tie_between_passing_options_decides_nothing():
    rule = preset("楼栋长会议")  # no quorum; more than half of those present
    overall, _results = options_outcome(rule, att(10, 10), [("A", Tally(6, 4, 0)), ("B", Tally(6, 4, 0))],
                                        pick_one=False)
    assert overall.passed  # a ballot of items: both pass
    overall, _results = options_outcome(rule, att(10, 10), [("A", Tally(6, 4, 0)), ("B", Tally(6, 4, 0))],
                                        pick_one=True)
    assert overall.decided is False and "A" in overall.reason and "B" in overall.reason


def test_option_tallies_checked_each_and_together():
    errors = check_option_tallies(att(20, 10), [("A", Tally(6, 2, 2)), ("B", Tally(11, 0, 0))], pick_one=False)
    assert [e.field for e in errors] == ["option1:votes_for"] and "B" in errors[0].message
    errors = check_option_tallies(att(20, 10), [("A", Tally(6, 2, 2)), ("B", Tally(5, 3, 2))], pick_one=True)
    assert errors and "11" in errors[0].message  # one option each: 6 + 5 for, 10 present


@pytest.fixture
def meeting(store):
    kinds.ensure_default_kinds(store)
    kind = kinds.kind_by_name(store, "居民议事会")["id"]
    people = [{"name": n} for n in ("张三", "李四", "王五", "赵六", "周七")]
    mid = mt.schedule_meeting(store, meeting={"title": "加装电梯议事会", "kind_id": kind,
                                              "starts_at": "2026-12-05 19:00"}, invitees=people)[0].row_id
    ids = {r["name"]: r["id"] for r in mt.invitees(store, mid)}
    for name in ("张三", "李四", "王五", "赵六"):
        mt.sign_in(store, invitee_id=ids[name])
    return mid, ids


def test_options_are_rows_and_a_paper_tally_decides(store, meeting):
    mid, _ids = meeting
    with pytest.raises(ValidationErrors) as err:
        mt.add_motion(store, meeting_id=mid, title="电梯方案", options=["方案一"])
    assert err.value.errors[0].field == "options"
    changes = mt.add_motion(store, meeting_id=mid, title="电梯方案", options=["方案一 东侧", "方案二 西侧", "方案三 暂缓"])
    motion_id = changes[0].row_id
    options = mt.motion_options(store, motion_id)
    assert [o["label"] for o in options] == ["方案一 东侧", "方案二 西侧", "方案三 暂缓"]
    assert {c.table for c in changes} == {"motion", "motion_option"}
    before = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    # 4 present: 3 + 2 for is more than 4 people choosing one option each: refused, nothing saved.
    with pytest.raises(ValidationErrors) as err:
        mt.record_option_tally(store, motion_id=motion_id, options=[
            {"option_id": options[0]["id"], "votes_for": 3}, {"option_id": options[1]["id"], "votes_for": 2}])
    assert "选择" in err.value.errors[0].message or "4" in err.value.errors[0].message
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == before
    with pytest.raises(ValidationErrors):
        mt.record_tally(store, motion_id=motion_id, votes_for=3, votes_against=0, votes_abstain=0)
    mt.record_option_tally(store, motion_id=motion_id, options=[
        {"option_id": options[0]["id"], "votes_for": 3, "votes_against": 1},
        {"option_id": options[1]["id"], "votes_for": 1, "votes_against": 3},
        {"option_id": options[2]["id"], "votes_for": 0, "votes_against": 4}])
    overview = mt.meeting_overview(store, mid)
    motion = overview["motions"][0]
    assert motion["passed"] and "方案一" in motion["reason"]
    assert [o["adopted"] for o in motion["options"]] == [True, False, False]
    assert oplog.compare_with_log(store) == []
    oplog.rebuild(store)
    assert oplog.compare_with_log(store) == []
    assert [o["votes_for"] for o in mt.motion_options(store, motion_id)] == [3, 1, 0]


def test_per_person_votes_count_per_option_and_one_choice_each(store, meeting):
    mid, ids = meeting
    motion_id = mt.add_motion(store, meeting_id=mid, title="电梯方案", options=["东侧", "西侧"])[0].row_id
    east, west = (o["id"] for o in mt.motion_options(store, motion_id))
    with pytest.raises(ValidationErrors):
        mt.record_vote(store, motion_id=motion_id, invitee_id=ids["张三"], choice="for")  # which option?
    for name in ("张三", "李四", "王五"):
        mt.record_vote(store, motion_id=motion_id, invitee_id=ids[name], choice="for", option_id=east)
    mt.record_vote(store, motion_id=motion_id, invitee_id=ids["赵六"], choice="for", option_id=west)
    # 王五 changes their mind: a vote for the west side withdraws the vote for the east side.
    mt.record_vote(store, motion_id=motion_id, invitee_id=ids["王五"], choice="for", option_id=west)
    assert mt.motion_votes(store, motion_id, east) == {ids["张三"]: "for", ids["李四"]: "for"}
    motion = mt.meeting_overview(store, mid)["motions"][0]
    tallies = [(o["label"], o["tally"].votes_for) for o in motion["options"]]
    assert tallies == [("东侧", 2), ("西侧", 2)]
    # 2 of 4 is not more than half: neither option passes, nothing is adopted.
    assert motion["decided"] and motion["passed"] is False
    assert not any(o["adopted"] for o in motion["options"])


def test_minutes_and_ballots_print_the_options(store, meeting):
    mid, _ids = meeting
    motion_id = mt.add_motion(store, meeting_id=mid, title="电梯方案", options=["东侧加装", "西侧加装"])[0].row_id
    options = mt.motion_options(store, motion_id)
    mt.record_option_tally(store, motion_id=motion_id, options=[
        {"option_id": options[0]["id"], "votes_for": 3, "votes_against": 1},
        {"option_id": options[1]["id"], "votes_for": 1, "votes_against": 2, "votes_abstain": 1}])
    minutes = pdf_text(make_pdf(store, PrintJob("minutes", {"meeting": mid})).pdf)
    flat = "".join(minutes.split())
    assert "电梯方案" in flat and "1.东侧加装" in flat and "2.西侧加装" in flat
    assert "采纳" in flat and "东侧加装" in flat
    ballots = pdf_text(make_pdf(store, PrintJob("ballot", {"meeting": mid})).pdf)
    flat = "".join(ballots.split())
    assert "东侧加装" in flat and "西侧加装" in flat and "只在一个选项" in flat


def _open_council(ctx, qtbot, title: str, signed_in=()):
    """A 居民议事会 with these people invited and signed in, opened on the meetings screen."""
    from views.meetings import MeetingsScreen

    kinds.ensure_default_kinds(ctx.store)
    kind = kinds.kind_by_name(ctx.store, "居民议事会")["id"]
    mid = mt.schedule_meeting(ctx.store, meeting={"title": title, "kind_id": kind, "starts_at": "2026-12-05 19:00"},
                              invitees=[{"name": n} for n in signed_in])[0].row_id
    for r in mt.invitees(ctx.store, mid):
        mt.sign_in(ctx.store, invitee_id=r["id"])
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    return mid, screen.open_meeting(mid)


def test_votes_tab_types_a_tally_per_option_and_votes_per_person(ctx, qtbot):
    from PySide6.QtCore import Qt

    mid, session = _open_council(ctx, qtbot, "加装电梯议事会", signed_in=("张三", "李四", "王五", "赵六"))
    session.tabs.setCurrentIndex(2)
    session.add_motion("电梯方案", ["东侧加装", "西侧加装"])
    qtbot.waitUntil(lambda: bool(session.motion_model.rows))
    session.motion_view.selectRow(0)
    assert session.options_box.isVisibleTo(session) and not session.form_box.isVisibleTo(session)
    assert len(session.option_edits) == 2
    # Too many votes for together (each chooses one option): refused, named, nothing saved.
    session.option_edits[0]["votes_for"].setText("3")
    session.option_edits[1]["votes_for"].setText("2")
    session.save_tally()
    assert "4" in session.tally_message.text()
    assert mt.motion_options(ctx.store, session.motion_model.rows[0]["id"])[0]["votes_for"] is None
    session.option_edits[1]["votes_for"].setText("1")
    session.option_edits[0]["votes_against"].setText("1")
    qtbot.keyClick(session.option_edits[1]["votes_abstain"], Qt.Key.Key_Return)  # the last field saves
    qtbot.waitUntil(lambda: session.motion_model.rows[0]["options"][0]["votes_for"] == 3)
    row = session.motion_model.rows[0]
    assert row["passed"] and "东侧加装" in row["reason"]
    assert session.motion_model.data(session.motion_model.index(0, 1)) == "3/1"
    # Per person: choose the option, then the keys as for a plain motion.
    dialog = session.person_votes(run=False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.option.isVisibleTo(dialog) and dialog.option.count() == 2
    dialog.option.setCurrentIndex(1)
    dialog.view.setFocus()
    dialog.view.selectRow(0)
    qtbot.keyClick(dialog.view, Qt.Key.Key_1)
    west = mt.motion_options(ctx.store, row["id"])[1]["id"]
    assert list(mt.motion_votes(ctx.store, row["id"], west).values()) == ["for"]


def test_invite_from_the_sign_in_screen_adds_a_body_and_a_name_once(ctx, qtbot):
    from db.register import households

    u = first_unit(ctx.store)
    for door, name in (("101", "张三"), ("102", "李四")):
        households.register_household(ctx.store, household={"unit_id": u, "door": door}, members=[
            {"relation": "户主", "name": name, "birth_date": "1970-05-01", "sex": "男"}])
    mid, session = _open_council(ctx, qtbot, "3栋议事会")
    assert session.signin_model.rows == []
    dialog = session.invite_people(run=False)
    qtbot.addWidget(dialog)
    dialog.submit()  # nothing chosen: a message, nothing saved
    assert dialog.messages["invite"].text() == "请选择要邀请的人或填写姓名。", (dialog.general.text(), ctx.errors.last_message)
    assert mt.invitees(ctx.store, mid) == []
    dialog.widgets["invite"].setCurrentIndex(dialog.widgets["invite"].findData("households"))
    dialog.widgets["name"].setText("街道王主任")
    dialog.submit()
    assert sorted(r["name"] for r in mt.invitees(ctx.store, mid)) == ["张三", "李四", "街道王主任"]
    again = session.invite_people(run=False)  # the same body again: nobody twice
    qtbot.addWidget(again)
    again.widgets["invite"].setCurrentIndex(again.widgets["invite"].findData("households"))
    again.submit()
    assert len(mt.invitees(ctx.store, mid)) == 3
    session.reload()
    qtbot.waitUntil(lambda: len(session.signin_model.rows) == 3)
    session.search.setText("zs")
    assert session.signin_model.rows[0]["name"] == "张三"


def _png(width: int, height: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7bd5"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def test_photo_viewer_shows_a_matters_progress_photos_and_attaches_only_images(ctx, qtbot, tmp_path):
    from db.meetings import attachments, matters
    from views.meetings.matters import MattersPage

    mid = matters.raise_matter(ctx.store, matter={"title": "楼道灯不亮", "raised_by": "张三",
                                                  "raised_on": "2026-11-02", "category": "设施"})[0].row_id
    entry = matters.add_progress(ctx.store, matter_id=mid, text="更换灯泡", percent=100)[0].row_id
    attachments.add_attachment(ctx.store, owner_table="progress_entry", owner_id=entry, data=_png(64, 48),
                               filename="灯.png")
    page = MattersPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.current == mid)
    viewer = page.show_photos(run=False)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.list.count() == 1)
    qtbot.waitUntil(lambda: viewer.image is not None)
    assert viewer.image.width() == 64 and viewer.picture.pixmap() is not None
    assert "灯.png" in viewer.caption.text()
    bad = tmp_path / "notes.txt"
    bad.write_text("not a photo")
    viewer.attach(str(bad))
    assert "不是图片" in viewer.message.text() and viewer.list.count() == 1
    good = tmp_path / "现场.png"
    good.write_bytes(_png(20, 20))
    viewer.attach(str(good))
    qtbot.waitUntil(lambda: viewer.list.count() == 2)
    assert [r["filename"] for r in attachments.matter_photos(ctx.store, mid)] == ["灯.png", "现场.png"] or \
        {r["filename"] for r in attachments.matter_photos(ctx.store, mid)} == {"灯.png", "现场.png"}


def test_meeting_photos_of_signed_sheets(ctx, qtbot, tmp_path):
    _mid, session = _open_council(ctx, qtbot, "议事会")
    viewer = session.show_photos(run=False)
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.list.count() == 0 and "暂无照片" in viewer.picture.text()
    sheet = tmp_path / "签到表.png"
    sheet.write_bytes(_png(30, 40))
    viewer.attach(str(sheet))
    qtbot.waitUntil(lambda: viewer.list.count() == 1)
    qtbot.waitUntil(lambda: viewer.image is not None and viewer.image.height() == 40)


def test_a_matter_links_to_the_meeting_it_was_raised_at_and_its_history_says_so(store, meeting):
    from db.meetings import matters

    mid, _ids = meeting
    matter = matters.raise_matter(store, matter={"title": "电梯噪音", "raised_by": "张三", "channel": "会议",
                                                 "source_meeting_id": mid, "raised_on": "2026-12-05"})[0].row_id
    first = matters.history(store, matter)[0]
    assert "加装电梯议事会" in first["text"] and "2026-12-05" in first["text"]
