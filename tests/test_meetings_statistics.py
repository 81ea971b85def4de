"""Statistics of residents' matters as charts (real QtCharts widgets under pytest-qt)."""

from __future__ import annotations

import datetime as dt

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
