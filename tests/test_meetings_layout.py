"""At 150 % text on a 1366×768 screen the meeting's panes keep their room: several motion rows,
labelled minutes boxes, a matter history wide enough to read."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from db.meetings import kinds
from db.meetings import matters as ms
from db.meetings import meetings as mt
from desktop import appearance
from views.meetings import MeetingsScreen


@pytest.fixture
def big_text(qapp):
    font = QApplication.font()
    appearance.apply_text_scale(150, qapp)
    yield
    QApplication.setFont(font)


def test_votes_minutes_and_history_keep_room_at_150_percent(ctx, qtbot, big_text):
    kinds.ensure_default_kinds(ctx.store)
    kind = kinds.kind_by_name(ctx.store, "业主大会/三方联动会议")["id"]  # the area rows of the tally show too
    mid = mt.schedule_meeting(ctx.store, meeting={"title": "业主大会", "kind_id": kind,
                                                 "starts_at": "2026-12-05 19:00"})[0].row_id
    for title in ("加装电梯", "维修资金使用", "更换物业", "停车收费"):
        mt.add_motion(ctx.store, meeting_id=mid, title=title)
    matter = ms.raise_matter(ctx.store, matter={"title": "楼道灯损坏", "raised_by": "张三"})[0].row_id
    ms.add_progress(ctx.store, matter_id=matter, text="已联系物业，正在采购灯具，预计下周一更换完毕并请居民验收")
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366, 768 - 80)  # the window's frame and the main window's navigation take the rest
    screen.show()
    session = screen.open_meeting(mid)
    session.tabs.setCurrentIndex(2)
    qtbot.waitExposed(session)
    view = session.motion_view
    shown = (view.viewport().height()) // max(1, view.rowHeight(0))
    assert shown >= 3, f"only {shown} motion row(s) visible"
    assert session.tally["area_abstain"].isVisibleTo(session)  # reachable (its pane scrolls)

    session.tabs.setCurrentIndex(1)
    for label, box in ((session.notes_label, session.notes), (session.summary_label, session.summary)):
        assert label.isVisible() and label.buddy() is box and label.text().endswith("：")
        assert box.height() >= box.fontMetrics().lineSpacing() * 2

    session.sig_closed.emit()
    screen.tabs.setCurrentWidget(screen.matters)
    page = screen.matters
    page.view.selectRow(0)
    history = page.history
    assert history.width() >= history.fontMetrics().horizontalAdvance("会") * 26
    last = history.model().rowCount() - 1
    assert history.rowHeight(last) > history.fontMetrics().height() * 1.5  # the long text wraps, not cut
