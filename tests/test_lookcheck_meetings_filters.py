"""The meetings list at 150 % text on a 1366×768 screen: the kind filter, whose items arrive after the
screen is first shown, is as wide as its text (it read 全部类… before)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QComboBox

from desktop import appearance
from views.meetings import MeetingsScreen


@pytest.fixture
def big_text(qapp):
    font = QApplication.font()
    appearance.apply_text_scale(150, qapp)
    yield
    QApplication.setFont(font)


def test_kind_filter_is_not_cut(ctx, qtbot, big_text):
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366 - 260, 768 - 110)
    screen.show()
    screen.activated()
    qtbot.waitUntil(lambda: screen.kind.count() > 1, timeout=10000)
    qtbot.wait(50)
    for box in (screen.kind, screen.status):
        fresh = QComboBox()  # what its items need now (the box's own hint may be the one of its first show)
        fresh.setFont(box.font())
        fresh.addItems([box.itemText(i) for i in range(box.count())])
        fresh.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        assert box.width() >= fresh.sizeHint().width(), (box.objectName(), box.width(), fresh.sizeHint())
