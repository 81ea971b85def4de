"""The week view of the meetings calendar: seven day columns, each day's meetings in time order;
PageUp / PageDown change the week, Enter or a double click opens the meeting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from db.meetings import meetings as mt
from db.volunteers.common import WEEKDAYS
from i18n import _
from views.meetings.models import DONE, MUTED

_ROOT = QModelIndex()


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


class WeekModel(QAbstractTableModel):
    """Columns are the seven days; row n of a column is that day's n-th meeting."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.monday = monday_of(dt.date.today())
        self.days: list[list[dict[str, Any]]] = [[] for _ in range(7)]

    def set_week(self, monday: dt.date, days: dict[str, list[dict[str, Any]]]) -> None:
        self.beginResetModel()
        self.monday = monday
        self.days = [days.get((monday + dt.timedelta(days=i)).isoformat(), []) for i in range(7)]
        self.endResetModel()

    def meeting_at(self, index: QModelIndex) -> dict[str, Any] | None:
        if not index.isValid():
            return None
        day = self.days[index.column()]
        return day[index.row()] if index.row() < len(day) else None

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else max([len(d) for d in self.days] + [1])

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else 7

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if orientation != Qt.Orientation.Horizontal:
            return None
        day = self.monday + dt.timedelta(days=section)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{_(WEEKDAYS[section])} {day:%m-%d}"
        if role == Qt.ItemDataRole.FontRole and day == dt.date.today():
            font = QFont()
            font.setBold(True)
            return font
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.meeting_at(index)
        if r is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{(r['starts_at'] or '')[11:16]} {r['title']}\n{r['place'] or ''}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return _("{time} {title} — {kind}, {place}, {status}, present {present} of {invited}").format(
                time=(r["starts_at"] or "").replace("T", " "), title=r["title"], kind=r["kind"] or "",
                place=r["place"] or "", status=_(mt.STATUSES.get(r["status"], r["status"] or "")),
                present=r["present"], invited=r["invited"])
        if role == Qt.ItemDataRole.ForegroundRole:
            return DONE if r["status"] == "held" else MUTED if r["status"] == "cancelled" else None
        if role == Qt.ItemDataRole.UserRole:
            return r
        return None


class _WeekTable(QTableView):
    """PageUp / PageDown / Home change the week (the table has nothing to scroll by pages)."""

    def __init__(self, owner: WeekView):
        super().__init__(owner)
        self.owner = owner

    def keyPressEvent(self, event):  # noqa: N802 - Qt API
        step = {Qt.Key.Key_PageUp: -7, Qt.Key.Key_PageDown: 7}.get(event.key())
        if step is not None:
            self.owner.show_week(self.owner.model.monday + dt.timedelta(days=step))
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.owner._open(self.currentIndex())
        elif event.key() == Qt.Key.Key_Home and not event.modifiers():
            self.owner.show_week(dt.date.today())
        else:
            super().keyPressEvent(event)


class WeekView(QWidget):
    sig_open = Signal(str)
    """Open this meeting (its id)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = WeekModel(self)
        self.view = _WeekTable(self)
        self.view.setObjectName("weekTable")
        self.view.setModel(self.model)
        self.view.setWordWrap(True)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.doubleClicked.connect(self._open)
        self.label = QLabel(self)
        self.label.setObjectName("weekLabel")
        bar = QHBoxLayout()
        for text, keys, slot in ((_("Previous week"), "PgUp", lambda: self.show_week(self.model.monday
                                                                                      - dt.timedelta(days=7))),
                                 (_("This week"), "Home", lambda: self.show_week(dt.date.today())),
                                 (_("Next week"), "PgDown", lambda: self.show_week(self.model.monday
                                                                                   + dt.timedelta(days=7)))):
            b = QPushButton(text, self)
            b.setToolTip(keys)
            b.clicked.connect(slot)
            bar.addWidget(b)
        bar.addWidget(self.label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def show_week(self, day: dt.date | None = None) -> None:
        monday = monday_of(day or self.model.monday)
        store = self.ctx.store

        def done(days) -> None:
            self.model.set_week(monday, days)
            n = sum(len(d) for d in days.values())
            self.label.setText(_("Week of {first} to {last}: {n} meetings").format(
                first=monday.isoformat(), last=(monday + dt.timedelta(days=6)).isoformat(), n=n))

        self.ctx.tasks.run(lambda _s: mt.week_days(store, monday), title=_("Calendar"), on_done=done, parent=self,
                           io=True, show_progress=False)

    def _open(self, index: QModelIndex) -> None:
        r = self.model.meeting_at(index)
        if r is not None:
            self.sig_open.emit(r["id"])
