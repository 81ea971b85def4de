"""Statistics of residents' matters as charts (real QtCharts widgets under pytest-qt)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from db.meetings import matters as ms
from db.register import places
from views.meetings import MeetingsScreen


def _building(store) -> str:
    g = places.save_place(store, level="grid", name="第一网格")[0].row_id
    c = places.save_place(store, level="compound", name="幸福小区", parent_id=g)[0].row_id
    return places.save_place(store, level="building", name="3栋", parent_id=c)[0].row_id


def _matters(store) -> None:
    b = _building(store)
    year = dt.date.today().year
    specs = [("楼道灯损坏", "设施", f"{year}-01-10", b), ("垃圾清运不及时", "环境", f"{year}-01-20", b),
             ("电动车被盗", "治安", f"{year}-03-02", None), ("路灯不亮", "设施", f"{year - 1}-12-30", b)]
    for title, category, day, building in specs:
        mid = ms.raise_matter(store, matter={"title": title, "raised_by": "张三", "category": category,
                                             "raised_on": day, "building_id": building})[0].row_id
        if title == "楼道灯损坏":
            ms.assign_matter(store, matter_id=mid, owner="物业", deadline=f"{year}-02-01")
            ms.complete_matter(store, matter_id=mid, result="已更换灯泡")
            ms.evaluate(store, matter_id=mid, rating="满意", name="张三")
            ms.evaluate(store, matter_id=mid, rating="不满意", name="李四", comment="太慢")


def _bar_values(view) -> dict[str, int]:
    chart = view.chart()
    [series] = chart.series()
    [axis] = [a for a in chart.axes() if hasattr(a, "categories")]
    values = [int(series.barSets()[0].at(i)) for i in range(series.barSets()[0].count())]
    return dict(zip(axis.categories(), values, strict=True))


def test_statistics_tab_charts_matters_by_category_building_month_and_rating(ctx, qtbot):
    _matters(ctx.store)
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1366, 768)
    screen.show()
    screen.tabs.setCurrentWidget(screen.matter_stats)
    stats = screen.matter_stats
    assert set(stats.charts) == {"category", "building", "month", "satisfaction"}
    assert _bar_values(stats.charts["category"]) == {"设施": 2, "环境": 1, "治安": 1}
    assert _bar_values(stats.charts["building"]) == {"幸福小区3栋": 3, "未指定": 1}
    year = dt.date.today().year % 100
    assert _bar_values(stats.charts["month"]) == {f"{year - 1:02d}-12": 1, f"{year:02d}-01": 2, f"{year:02d}-03": 1}
    pie = stats.charts["satisfaction"].chart().series()[0]
    assert sorted((s.label(), s.value()) for s in pie.slices()) == [("不满意  1", 1.0), ("满意  1", 1.0)]
    assert "共 4 件" in stats.summary.text() and "50%" in stats.summary.text()

    # This year only: last December's matter drops out.
    stats.year.setCurrentIndex(stats.year.findData(dt.date.today().year))
    assert _bar_values(stats.charts["category"]) == {"设施": 1, "环境": 1, "治安": 1}
    assert sum(_bar_values(stats.charts["month"]).values()) == 3


def test_statistics_follow_a_new_matter_and_save_a_chart(ctx, qtbot, tmp_path):
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentWidget(screen.matter_stats)
    stats = screen.matter_stats
    assert _bar_values(stats.charts["category"]) == {}
    assert "无" in stats.charts["satisfaction"].chart().title() or "还没有" in stats.charts["satisfaction"].chart().title()
    changes = ms.raise_matter(ctx.store, matter={"title": "噪音扰民", "raised_by": "王五", "category": "环境"})
    ctx.data_changed(changes)
    assert _bar_values(stats.charts["category"]) == {"环境": 1}
    out = tmp_path / "category.png"
    assert stats.save_chart("category", str(out)) and out.stat().st_size > 1000


def test_week_view_shows_the_weeks_meetings_by_day_and_opens_one(ctx, qtbot):
    from db.meetings import kinds
    from db.meetings import meetings as mt

    kinds.ensure_default_kinds(ctx.store)
    kind = kinds.kind_by_name(ctx.store, "居民议事会")["id"]
    for title, when in (("周一议事会", "2026-11-30 19:00"), ("周三早会", "2026-12-02 09:00"),
                        ("周三晚会", "2026-12-02 19:30"), ("下周的会", "2026-12-07 19:00")):
        mt.schedule_meeting(ctx.store, meeting={"title": title, "kind_id": kind, "starts_at": when, "place": "议事亭"})
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentIndex(1)
    screen.calendar.setSelectedDate(dt.date(2026, 12, 3))
    screen.show_calendar("week")
    week = screen.week
    assert week.model.monday == dt.date(2026, 11, 30)
    assert week.model.headerData(2, Qt.Orientation.Horizontal).startswith("周三 12-02")
    assert week.model.rowCount() == 2  # Wednesday has two meetings
    wed = [week.model.data(week.model.index(r, 2)) for r in range(2)]
    assert wed[0].startswith("09:00 周三早会") and wed[1].startswith("19:30 周三晚会")
    assert week.model.data(week.model.index(0, 0)).startswith("19:00 周一议事会")
    assert week.model.data(week.model.index(1, 0)) is None
    assert "3 次会议" in week.label.text()
    qtbot.keyClick(week.view, Qt.Key.Key_PageDown)
    assert week.model.monday == dt.date(2026, 12, 7)
    assert week.model.data(week.model.index(0, 0)).startswith("19:00 下周的会")
    week.view.setCurrentIndex(week.model.index(0, 0))
    qtbot.keyClick(week.view, Qt.Key.Key_Return)
    assert screen.stack.currentWidget() is screen.session and screen.session.title.text() == "下周的会"


def test_count_axes_have_round_evenly_spaced_ticks(ctx, qtbot):
    from PySide6.QtCharts import QValueAxis

    from views.widgets import nice_ticks

    # The old axis read 0, 7, 14, 22, 29 for a largest bar of 25.
    assert nice_ticks(25) == (30, 5) and nice_ticks(7) == (8, 2) and nice_ticks(180) == (200, 50)
    for top in range(0, 2000, 7):
        maximum, step = nice_ticks(top)
        assert maximum > top and maximum % step == 0 and maximum // step <= 6
        assert str(step).strip("0") in ("1", "2", "5")
    _matters(ctx.store)
    screen = MeetingsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.tabs.setCurrentWidget(screen.matter_stats)
    for key in ("category", "building", "month"):
        axis = next(a for a in screen.matter_stats.charts[key].chart().axes() if isinstance(a, QValueAxis))
        ticks = [axis.min() + i * (axis.max() - axis.min()) / (axis.tickCount() - 1) for i in range(axis.tickCount())]
        assert all(t == int(t) for t in ticks), (key, ticks)
