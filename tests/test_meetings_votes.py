"""Per-person votes typed with the keys 1/2/3/0; the tally and the outcome follow, and the motion
table shows the per-person counts."""

from __future__ import annotations

from PySide6.QtCore import Qt

from db.meetings import kinds
from db.meetings import meetings as mt
from views.meetings import MeetingsScreen


def test_votes_per_person_by_keys(ctx, qtbot):
    kinds.ensure_default_kinds(ctx.store)
    kind = kinds.kind_by_name(ctx.store, "党员大会")["id"]  # passes with more than half of those ENTITLED
    people = [{"name": n} for n in ("张三", "李四", "王五", "赵六", "周七")]
    mid = mt.schedule_meeting(ctx.store, meeting={"title": "支部党员大会", "kind_id": kind,
                                                 "starts_at": "2026-12-05 19:00"}, invitees=people)[0].row_id
    rows = mt.invitees(ctx.store, mid)
    for r in rows[:4]:
        mt.sign_in(ctx.store, invitee_id=r["id"])
    mt.add_motion(ctx.store, meeting_id=mid, title="发展新党员")
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    session = screen.open_meeting(mid)
    session.tabs.setCurrentIndex(2)
    session.motion_view.selectRow(0)
    dialog = session.person_votes(run=False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert [r["name"] for r in dialog.model.rows] == ["张三", "李四", "王五", "赵六"]  # 周七 is not present
    view = dialog.view
    view.setFocus()
    for key in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_2):
        qtbot.keyClick(view, key)
    assert view.currentIndex().row() == 3
    assert dialog.model.data(dialog.model.index(2, 3)) == "反对"
    # 2 of 5 entitled for: not more than half of those entitled.
    assert "赞成 2" in dialog.result_label.text() and "未通过" in dialog.result_label.text()
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert "赞成 3" in dialog.result_label.text() and "未表决 0" in dialog.result_label.text()
    assert "。通过：" in dialog.result_label.text()
    assert mt.motion_outcome(ctx.store, session.motion_model.rows[0]["id"]).passed is True
    # 0 withdraws 李四's vote: 2 for of 5 entitled again.
    view.selectRow(1)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert dialog.model.data(dialog.model.index(1, 3)) == ""
    assert "未表决 1" in dialog.result_label.text()
    assert len(mt.motion_votes(ctx.store, session.motion_model.rows[0]["id"])) == 3
    dialog.accept()
    session.reload()
    [motion] = session.motion_model.rows
    assert (motion["tally"].votes_for, motion["tally"].votes_against) == (2, 1) and motion["passed"] is False
