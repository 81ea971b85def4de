"""The volunteer dialog finds the resident as the register's search does and links the volunteer."""

from __future__ import annotations

from PySide6.QtCore import Qt

from db import oplog
from db.models.register import Person
from db.volunteers import roster
from tests.test_volunteers_services import _household, _place
from views.volunteers.roster import VolunteerDialog


def _register(store):
    grid, _c, _b, unit = _place(store)
    zs, ls = _household(store, unit, grid, [("张三", "户主", "1958-03-01"), ("李四", "配偶", "1960-01-01")])
    oplog.write(store, Person, [{"id": zs, "id_number": "110105195803011234", "phone": "13812345678"}])
    return zs, ls


def test_dialog_searches_the_register_and_links_the_resident(ctx, qtbot):
    zs, ls = _register(ctx.store)
    dialog = VolunteerDialog(ctx, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.find, "zs")
    labels = [dialog.resident.itemText(i) for i in range(dialog.resident.count())]
    assert labels[0].startswith("张三") and "110105********1234" in labels[0]  # masked
    assert labels[-1] == "非本社区居民"
    assert dialog.resident.currentData() == zs
    assert dialog.name.text() == "张三" and dialog.name.isReadOnly()
    dialog.find.clear()
    qtbot.keyClicks(dialog.find, "1234")  # an ID fragment
    assert dialog.resident.currentData() == zs
    dialog.find.clear()
    qtbot.keyClicks(dialog.find, "101")  # the door: the household's two residents
    assert {dialog.resident.itemData(i) for i in range(dialog.resident.count())} == {zs, ls, None}
    dialog.resident.setCurrentIndex(dialog.resident.count() - 1)  # not a resident: the name is typed
    assert not dialog.name.isReadOnly()
    dialog.resident.setCurrentIndex(0)
    dialog.skills.setText("购物代办")
    qtbot.keyClick(dialog.skills, Qt.Key.Key_Return)  # the default button saves
    assert dialog.result() == VolunteerDialog.DialogCode.Accepted, dialog.message.text()
    vid = roster.find_by_number_or_name(ctx.store, "张三")
    info = roster.volunteer_info(ctx.store, vid)
    assert info["person_id"] == zs and info["skills"] == ["购物代办"]
    again = VolunteerDialog(ctx, None)  # a resident who volunteers already is marked
    qtbot.addWidget(again)
    again.show()
    qtbot.keyClicks(again.find, "zs")
    assert "已是志愿者" in again.resident.itemText(0)


def test_a_resident_volunteers_phone_comes_from_the_register_masked_and_in_full_on_request(ctx, qtbot):
    zs, _ls = _register(ctx.store)
    dialog = VolunteerDialog(ctx, None)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.reveal_phone.isVisibleTo(dialog) and not dialog.phone.isReadOnly()
    qtbot.keyClicks(dialog.find, "zs")
    assert dialog.resident.currentData() == zs
    assert dialog.phone.text() == "138****5678" and dialog.phone.isReadOnly()
    assert dialog.reveal_phone.isVisibleTo(dialog)
    dialog.resident.setCurrentIndex(dialog.resident.count() - 1)  # not a resident: typed again
    assert dialog.phone.text() == "" and not dialog.phone.isReadOnly()
    dialog.resident.setCurrentIndex(0)
    dialog.save()
    vid = roster.find_by_number_or_name(ctx.store, "张三")
    edit = VolunteerDialog(ctx, vid)  # editing the linked volunteer: the register's phone, masked
    qtbot.addWidget(edit)
    edit.show()
    assert edit.phone.text() == "138****5678" and edit.phone.isReadOnly()
    before = ctx.store.db.execute_sql("select count(*) from audit_entry where action = 'reveal'").fetchone()[0]
    edit.show_phone()
    assert edit.phone.text() == "13812345678" and not edit.reveal_phone.isEnabled()
    assert ctx.store.db.execute_sql("select count(*) from audit_entry where action = 'reveal'").fetchone()[0] == before + 1
