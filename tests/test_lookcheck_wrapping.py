"""A wrapped message under a field takes the height its text needs at the width it has now, not the
height it needed while the window was still narrow (a tall empty gap in the person editor)."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QWidget

from views.households.common import message_label, show_message

TEXT = ("证件号码 110105********0021 未通过校验码核验：有数字输错，或有两位前后颠倒。"
        "请对照身份证逐位核对每一位数字（不要只改最后一位）。")


def _fresh_height(label: QLabel, width: int) -> int:
    fresh = QLabel(label.text())
    fresh.setWordWrap(True)
    fresh.setFont(label.font())
    return fresh.heightForWidth(width)


def test_message_height_follows_the_width(qtbot):
    top = QWidget()
    qtbot.addWidget(top)
    grid = QGridLayout(top)
    grid.addWidget(QLabel("证件号码"), 0, 0)
    grid.addWidget(QLineEdit(), 0, 1)
    msg = message_label(top)
    grid.addWidget(msg, 1, 1)
    grid.setRowStretch(2, 1)
    top.resize(220, 600)
    top.show()
    qtbot.waitExposed(top)
    show_message(msg, TEXT, warning=True)
    qtbot.waitUntil(lambda: msg.height() >= _fresh_height(msg, msg.width()))
    narrow = msg.height()
    top.resize(900, 600)
    qtbot.waitUntil(lambda: msg.width() > 600)
    qtbot.wait(50)
    need = _fresh_height(msg, msg.width())
    assert need < narrow
    assert msg.height() == need, (msg.height(), need, narrow)
