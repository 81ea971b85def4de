"""Statistics of residents' matters: by category, building, month raised and satisfaction, as
charts like the register's (QtCharts), read off the GUI thread; each chart can be saved."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from db.meetings import matters as ms
from i18n import _
from views.households.statistics import _view
from views.widgets import arrange_charts, count_axis, save_chart_as_image, size_charts

RATING_COLOURS = {"满意": QColor("#1e6b34"), "基本满意": QColor("#d9a400"), "不满意": QColor("#b3261e")}
CHART_KEYS = ("category", "building", "month", "satisfaction")


def _value_axis(top: int) -> QValueAxis:
    return count_axis(top)


class MatterStatistics(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.data: dict | None = None
        self.charts: dict[str, QChartView] = {}
        self.year = QComboBox(self)
        self.year.setObjectName("statsYear")
        self.year.addItem(_("All years"), None)
        this_year = dt.date.today().year
        for y in range(this_year, this_year - 6, -1):
            self.year.addItem(str(y), y)
        self.year.currentIndexChanged.connect(lambda _i: self.refresh())
        self.summary = QLabel(self)
        self.summary.setObjectName("statsSummary")
        self.summary.setWordWrap(True)
        refresh = QPushButton(_("Refresh"), self)
        refresh.clicked.connect(self.refresh)
        save = QPushButton(_("Save chart as image…"), self)
        save.clicked.connect(self.save_current_chart)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(_("Year raised:"), self))
        bar.addWidget(self.year)
        bar.addWidget(self.summary, 1)
        bar.addWidget(refresh)
        bar.addWidget(save)
        page = QWidget(self)
        self.grid = QGridLayout(page)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(page)
        self.columns = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)

    def refresh(self) -> None:
        store, year = self.ctx.store, self.year.currentData()
        self.ctx.tasks.run(lambda _s: ms.statistics(store, year=year), title=_("Statistics"),
                           on_done=self.show_data, parent=self, io=True)

    def show_data(self, data: dict) -> None:
        self.data = data
        for view in self.charts.values():
            self.grid.removeWidget(view)
            view.deleteLater()
        self.charts = {"category": self._bars(data["category"], _("Matters by category"), "chartCategory"),
                       "building": self._bars(data["building"], _("Matters by building (the 20 with most)"),
                                              "chartBuilding"),
                       "month": self._months(data["month"]),
                       "satisfaction": self._satisfaction(data["satisfaction"])}
        size_charts(self, self.charts.values())
        total = sum(n for _c, n in data["category"])
        rated = sum(n for _r, n in data["satisfaction"])
        happy = sum(n for r, n in data["satisfaction"] if r != "不满意")
        self.summary.setText(_("{n} matters; {rated} evaluations, {share} satisfied or basically "
                               "satisfied").format(n=total, rated=rated,
                                                    share=f"{happy / rated * 100:.0f}%" if rated else "—"))
        self._arrange(force=True)

    def _arrange(self, force: bool = False) -> None:
        self.columns = arrange_charts(self.grid, self.scroll, self.charts, CHART_KEYS, self.columns, force)

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._arrange()

    def _bars(self, rows: list[tuple[str, int]], title: str, name: str) -> QChartView:
        rows = list(reversed(rows))  # the largest at the top
        bars = QBarSet(_("Matters"))
        for _label, n in rows:
            bars.append(n)
        series = QHorizontalBarSeries()
        series.append(bars)
        series.setLabelsVisible(True)
        chart = QChart()
        chart.setTitle(title)
        chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append([label or _("Not recorded") for label, _n in rows])
        axis_x = _value_axis(max([n for _l, n in rows] + [1]))
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        chart.legend().hide()
        return _view(chart, name, len(rows))

    def _months(self, rows: list[tuple[str, int]]) -> QChartView:
        bars = QBarSet(_("Matters raised"))
        for _month, n in rows:
            bars.append(n)
        series = QBarSeries()
        series.append(bars)
        series.setLabelsVisible(True)
        chart = QChart()
        chart.setTitle(_("Matters raised by month"))
        chart.addSeries(series)
        axis_x = QBarCategoryAxis()
        # "2026-03" reads as "26-03"; size_charts makes the chart wide enough for every label.
        labels = [(month or "")[2:] for month, _n in rows]
        axis_x.append(labels)
        axis_y = _value_axis(max([n for _m, n in rows] + [1]))
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_x)
        series.attachAxis(axis_y)
        chart.legend().hide()
        view = _view(chart, "chartMonth")
        view.setProperty("x_labels", labels)
        return view

    def _satisfaction(self, rows: list[tuple[str, int]]) -> QChartView:
        series = QPieSeries()
        series.setPieSize(0.5)
        for rating, n in rows:
            if not n:
                continue
            s = series.append(f"{rating}  {n}", n)
            s.setLabelVisible(True)
            s.setColor(RATING_COLOURS.get(rating, QColor("#6b6b6b")))
        chart = QChart()
        chart.setTitle(_("Residents' evaluations") if series.count() else
                       _("Residents' evaluations (none yet)"))
        chart.addSeries(series)
        chart.legend().hide()
        return _view(chart, "chartSatisfaction")

    def save_chart(self, key: str, path: str) -> bool:
        view = self.charts.get(key)
        return bool(view) and view.grab().save(path)

    def save_current_chart(self) -> None:
        save_chart_as_image(self, "category", "matters-")
