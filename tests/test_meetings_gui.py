"""The 会议 screen with real widgets: schedule a meeting, sign in three people by their initials
(Enter), watch the quorum bar, type a paper tally, print the minutes (checked with pdftotext)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from db.meetings import kinds
from db.meetings import matters as ms
from db.meetings import meetings as mt
from db.register import households
from tests import pdf_tools
from tests.register_helpers import first_building_and_unit
from views.meetings import MeetingsScreen
from views.meetings.editor import schedule_dialog

PEOPLE = [("101", "张三"), ("102", "李四"), ("201", "王小明"), ("202", "赵敏"), ("301", "周杰")]


def _register(store) -> str:
    b, u = first_building_and_unit(store)
    for door, name in PEOPLE:
        households.register_household(store, household={"unit_id": u, "door": door, "house_use": "自住"},
                                      members=[{"relation": "户主", "name": name, "birth_date": "1960-03-01",
                                                "sex": "男", "phone": "13912345678"}])
    return b


def _type(qtbot, widget, text: str) -> None:
    """Type ASCII as keys; Chinese (which QTest cannot type) as an input method would commit it."""
    widget.clear()
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        widget.insert(text)


def test_schedule_sign_in_by_initials_tally_and_print_minutes(ctx, qtbot, tmp_path):
    building = _register(ctx.store)
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1200, 800)
    screen.show()
    kinds.ensure_default_kinds(ctx.store)

    # Schedule: a residents' meeting of building 3, one representative per household invited.
    dialog = schedule_dialog(ctx, screen)
    _type(qtbot, dialog.widgets["title"], "3栋居民会议")
    kind_box = dialog.widgets["kind_id"]
    kind_box.setCurrentIndex(kind_box.findText("居民会议"))
    _type(qtbot, dialog.widgets["starts_at"], "2026-12-05 19:00")
    _type(qtbot, dialog.widgets["chair"], "刘书记")
    dialog.widgets["invite"].setCurrentIndex(dialog.widgets["invite"].findData("households"))
    dialog.widgets["building_id"].setCurrentIndex(dialog.widgets["building_id"].findData(building))
    dialog.submit()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.general.text()
    mid = next(c.row_id for c in dialog.changes if c.table == "meeting")
    screen.refresh()
    assert screen.model.rowCount() == 1 and screen.model.row(0)["title"] == "3栋居民会议"

    session = screen.open_meeting(mid)
    assert session.signin_model.rowCount() == 5
    assert "0 / 5" not in session.quorum.format()  # the text says it in words
    assert "还需 3 人" in session.quorum.format()
    for initials, name in (("zs", "张三"), ("ls", "李四"), ("wxm", "王小明")):
        _type(qtbot, session.search, initials)
        assert session.signin_model.rows[0]["name"] == name
        qtbot.keyClick(session.search, Qt.Key.Key_Return)
        assert session.search.text() == ""  # ready for the next person
    assert session.quorum.value() == 3 and session.quorum.property("met") is True
    assert "已达到法定人数" in session.quorum.format()
    att = mt.attendance(ctx.store, mid)
    assert (att.present, att.entitled) == (3, 5)
    # A door number finds 赵敏; mark her absent with a reason.
    _type(qtbot, session.search, "202")
    assert session.signin_model.rows[0]["name"] == "赵敏"
    session.mark_absent("出差")
    assert mt.attendance(ctx.store, mid).absent == 1

    # Paper tally: a motion, then for / against / abstain with Enter between the fields.
    session.add_motion("加装电梯")
    session.tabs.setCurrentIndex(2)
    session.motion_view.selectRow(0)
    _type(qtbot, session.tally["votes_for"], "9")
    _type(qtbot, session.tally["votes_against"], "0")
    _type(qtbot, session.tally["votes_abstain"], "0")
    qtbot.keyClick(session.tally["votes_abstain"], Qt.Key.Key_Return)
    assert "只有 3 人" in session.tally_message.text()  # more votes than people present: refused
    assert mt.motions(ctx.store, mid)[0]["votes_for"] is None
    _type(qtbot, session.tally["votes_for"], "2")
    _type(qtbot, session.tally["votes_against"], "1")
    qtbot.keyClick(session.tally["votes_abstain"], Qt.Key.Key_Return)
    [motion] = session.motion_model.rows
    assert motion["passed"] is True and "通过" in motion["reason"]

    # Minutes: notes of the agenda item and a summary, then the printout.
    session.add_agenda_item("关于加装电梯的议题")
    session.agenda_view.selectRow(0)
    session.notes.setPlainText("大多数居民同意加装，费用按楼层分摊。")
    session.summary.setPlainText("会议通过加装电梯方案。")
    session.save_minutes()
    assert mt.get_meeting(ctx.store, mid)["summary"] == "会议通过加装电梯方案。"
    out = tmp_path / "minutes.pdf"
    session.print_form("minutes", str(out))
    text = pdf_tools.text(out).replace("\n", "")
    for words in ("会议记录", "3栋居民会议", "刘书记", "应到 5 人", "实到 3 人", "张三", "赵敏（出差）",
                  "关于加装电梯的议题", "费用按楼层分摊", "加装电梯", "通过", "主持人（签名）"):
        assert words in text, words
    session.sig_closed.emit()
    assert screen.stack.currentWidget() is screen.home


def test_matters_page_shows_the_chain_and_flags(ctx, qtbot):
    _register(ctx.store)
    mid = ms.raise_matter(ctx.store, matter={"title": "楼道灯损坏", "raised_by": "张三", "category": "设施"})[0].row_id
    ms.assign_matter(ctx.store, matter_id=mid, owner="物业", deadline="2020-01-01")
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentIndex(2)
    page = screen.matters
    assert page.model.rowCount() == 1
    row = page.model.row(0)
    assert row["overdue"] and page.model.data(page.model.index(0, 8)) == "逾期"
    page.view.selectRow(0)
    assert [r["step"] for r in page.history_model.rows] == ["提出", "交办"]
    page.flag.setCurrentIndex(page.flag.findData("unposted"))
    assert page.model.rowCount() == 0
