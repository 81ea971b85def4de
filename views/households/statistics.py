"""Statistics: tags, residence status, age pyramid, places and visit coverage; charts can be saved."""

from __future__ import annotations

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from db.register import stats
from i18n import N_, _
from views.households.common import DictListModel
from views.widgets import (
    arrange_charts,
    count_axis,
    nice_ticks,
    save_chart_as_image,
    size_charts,
    small_chart_font,
)

PLACE_COLUMNS = [("grid", N_("Grid")), ("compound", N_("Compound")), ("building", N_("Building")), ("households", N_("Households")),
                 ("persons", N_("Persons")), ("overdue", N_("Households overdue"))]
COVERAGE_COLUMNS = [("grid", N_("Grid")), ("households", N_("Households")), ("visited", N_("Visited (182 days)")),
                    ("coverage", N_("Coverage")), ("overdue", N_("Overdue"))]
MALE = QColor("#3b6fb6")
COVERAGE_SHOWN = 15  # grids with the lowest coverage in the chart (the table lists all)
FEMALE = QColor("#c8553d")


def _view(chart: QChart, name: str, categories: int = 0) -> QChartView:
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    for axis in chart.axes():
        axis.setLabelsFont(small_chart_font())
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    view = QChartView(chart)
    view.setObjectName(name)
    view.setProperty("categories", categories)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(400)
    return view


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return view


class StatisticsView(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.charts: dict[str, QChartView] = {}
        self.tabs = QTabWidget(self)
        charts_page = QWidget(self)
        self.chart_grid = QGridLayout(charts_page)
        self.chart_grid.setColumnStretch(0, 1)
        self.chart_grid.setColumnStretch(1, 1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(charts_page)
        self.columns = 2
        self.tabs.addTab(self.scroll, _("Charts"))
        self.place_model = DictListModel(PLACE_COLUMNS, self)
        self.coverage_model = DictListModel(COVERAGE_COLUMNS, self, formatters={
            "coverage": lambda r: f"{r['coverage'] * 100:.1f}%"})
        self.tabs.addTab(_table(self.place_model), _("By grid and building"))
        self.tabs.addTab(_coverage_page(self.coverage_model), _("Visit coverage"))
        refresh = QPushButton(_("Refresh"), self)
        refresh.clicked.connect(self.refresh)
        save = QPushButton(_("Save chart as image…"), self)
        save.clicked.connect(self.save_current_chart)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(refresh)
        bar.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        self._focused = "pyramid"

    def refresh(self) -> None:
        store = self.ctx.store

        def work(_state):
            return {"tags": stats.by_tag(store), "residence": stats.by_residence_status(store),
                    "pyramid": stats.age_pyramid(store), "places": stats.by_place(store),
                    "coverage": stats.visit_coverage(store)}

        self.ctx.tasks.run(work, title=_("Statistics"), on_done=self.show_data, parent=self, io=True)

    def show_data(self, data) -> None:
        while self.chart_grid.count():
            item = self.chart_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.charts = {"pyramid": self._pyramid(data["pyramid"]), "tags": self._tags(data["tags"]),
                       "residence": self._residence(data["residence"]), "coverage": self._coverage(data["coverage"])}
        size_charts(self, self.charts.values())
        self._arrange(force=True)
        self.place_model.set_rows(data["places"])
        self.coverage_model.set_rows(data["coverage"])
        self.data = data

    def _arrange(self, force: bool = False) -> None:
        self.columns = arrange_charts(self.chart_grid, self.scroll, self.charts,
                                      ("pyramid", "tags", "residence", "coverage"), self.columns, force)

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._arrange()

    def _pyramid(self, rows) -> QChartView:
        male, female = QBarSet(_("Male")), QBarSet(_("Female"))
        male.setColor(MALE)
        female.setColor(FEMALE)
        for r in rows:
            male.append(-r["男"])
            female.append(r["女"])
        series = QHorizontalStackedBarSeries()
        series.append(male)
        series.append(female)
        chart = QChart()
        chart.setTitle(_("Age pyramid (persons living here)"))
        chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append([r["band"] for r in rows])
        top = max([max(r["男"], r["女"]) for r in rows] + [1])
        # Men to the left, women to the right; the axis shows counts without minus signs.
        axis_x = QCategoryAxis()
        axis_x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        # Round ticks each side (nice_ticks, as every count axis): 0, 20, 40, 60 rather than 0, 30, 59.
        maximum, step = nice_ticks(top, most=3)
        axis_x.setRange(-maximum, maximum)
        for value in range(-maximum, maximum + 1, step):
            axis_x.append(f"{abs(value)}" + (" " * (value < 0)), value)  # a category label is unique
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        return _view(chart, "chartPyramid", len(rows))

    def _tags(self, rows) -> QChartView:
        rows = [r for r in rows if r[1]] or rows
        rows = list(reversed(rows))  # the first tag at the top
        bars = QBarSet(_("Persons"))
        for _name, n in rows:
            bars.append(n)
        series = QHorizontalBarSeries()
        series.append(bars)
        series.setLabelsVisible(True)
        chart = QChart()
        chart.setTitle(_("Persons by tag"))
        chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append([name for name, _n in rows])
        axis_x = count_axis(max([n for _name, n in rows] + [1]))
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        chart.legend().hide()
        return _view(chart, "chartTags", len(rows))

    def _residence(self, rows) -> QChartView:
        series = QPieSeries()
        series.setPieSize(0.5)  # room for the labels around it
        for name, n in rows:
            s = series.append(f"{name or _('Not recorded')}  {n}", n)
            s.setLabelVisible(True)
        chart = QChart()
        chart.setTitle(_("Residence status"))
        chart.addSeries(series)
        chart.legend().hide()
        return _view(chart, "chartResidence")

    def _coverage(self, rows) -> QChartView:
        rows = sorted(rows, key=lambda r: r["coverage"])[:COVERAGE_SHOWN]
        bars = QBarSet(_("Coverage"))
        for r in reversed(rows):
            bars.append(round(r["coverage"] * 100, 1))
        series = QHorizontalBarSeries()
        series.append(bars)
        series.setLabelsVisible(True)
        series.setLabelsFormat("@value%")
        chart = QChart()
        chart.setTitle(_("Visit coverage (last 182 days): the {n} lowest grids").format(n=len(rows)))
        chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append([r["grid"] for r in reversed(rows)])
        axis_x = QValueAxis()
        axis_x.setRange(0, 100)
        axis_x.setLabelFormat("%d%%")
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        chart.legend().hide()
        return _view(chart, "chartCoverage", len(rows))

    def save_chart(self, key: str, path: str) -> bool:
        """Write one chart as a PNG (or any image format Qt knows by the file's suffix)."""
        view = self.charts.get(key)
        return bool(view) and view.grab().save(path)

    def save_current_chart(self) -> None:
        save_chart_as_image(self, "pyramid", "")


def _coverage_page(model) -> QWidget:
    """The coverage table with what its two figures mean: they count different things."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout

    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(_table(model), 1)
    note = QLabel(_("Coverage counts the households where someone was met in the last 182 days. Overdue counts the "
                    "households whose own visit interval has passed: 30 days for some tags (e.g. 独居老人), and every "
                    "household never visited. So a grid can be well covered and still have many overdue households."))
    note.setObjectName("hint")
    note.setWordWrap(True)
    layout.addWidget(note)
    return page
