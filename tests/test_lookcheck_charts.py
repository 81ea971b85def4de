"""Twelve months of matters on a 1366×768 screen at 100 %: every month label under its bar has the
room it needs (Qt elides a label wider than its bar's slot to "2…"), whether the charts stand two
a row or one."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QFontMetrics

from db.meetings import matters as ms
from views.meetings import MeetingsScreen
from views.widgets import small_chart_font


def test_every_month_label_has_room(ctx, qtbot):
    first = dt.date.today().replace(day=1)
    for i in range(12):
        month = (first.month - 1 - i) % 12 + 1
        year = first.year - (1 if month > first.month else 0)
        ms.raise_matter(ctx.store, matter={"title": f"楼道灯损坏{i}", "raised_by": "张三", "category": "设施",
                                           "raised_on": f"{year}-{month:02d}-10"})
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366 - 260, 768 - 110)  # beside the navigation, under the menu and the banner
    screen.show()
    screen.tabs.setCurrentWidget(screen.matter_stats)
    qtbot.waitExposed(screen)
    view = screen.matter_stats.charts["month"]
    qtbot.waitUntil(lambda: view.isVisible() and view.chart().plotArea().width() > 0)
    qtbot.wait(50)
    [axis] = [a for a in view.chart().axes() if hasattr(a, "categories")]
    labels = axis.categories()
    assert len(labels) == 12
    small = QFontMetrics(small_chart_font())
    slot = view.chart().plotArea().width() / len(labels)
    margins = 8  # the label's text item has a 4 px document margin each side
    assert slot >= max(small.horizontalAdvance(t) for t in labels) + margins, (slot, view.width())
    scroll = screen.matter_stats.scroll
    assert scroll.widget().width() <= scroll.viewport().width()  # no sideways scrolling for it
    assert screen.matter_stats.columns == 2  # the other charts still stand two a row
