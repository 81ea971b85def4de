"""The option panels of the printing screen, one per form; each turns its fields into job params.

Place pickers call the read-only queries of db/printing_data.py (small lookups), never SQL.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from db import printing_data as pd
from desktop.appearance import font_notifier
from i18n import _


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


class PlacePicker(QWidget):
    """Compound → building → household → visit combos; each level optional."""

    sig_changed = Signal()
    """Any choice changed."""

    def __init__(self, ctx, form: QFormLayout, *, building: bool = True, household: bool = False,
                 visit: bool = False, any_building: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.any_building = any_building
        self.compound = QComboBox()
        self.compound.setObjectName("compound")
        form.addRow(_("Compound"), self.compound)
        self.compound.currentIndexChanged.connect(self._fill_buildings)
        self.building = self.household = self.visit = None
        if building:
            self.building = QComboBox()
            self.building.setObjectName("building")
            form.addRow(_("Building"), self.building)
            self.building.currentIndexChanged.connect(self._fill_households)
        if household:
            self.household = QComboBox()
            self.household.setObjectName("household")
            _searchable(self.household)
            form.addRow(_("Household"), self.household)
            self.household.currentIndexChanged.connect(self._fill_visits)
        if visit:
            self.visit = QComboBox()
            self.visit.setObjectName("visit")
            form.addRow(_("Visit"), self.visit)
        for combo in (self.compound, self.building, self.household, self.visit):
            if combo is not None:
                # Long addresses must not widen the panel: the combo elides, its popup shows all.
                combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                combo.setMinimumContentsLength(14)
                combo.currentIndexChanged.connect(self.sig_changed)

    def reload(self) -> None:
        current = self.compound.currentData()
        self.compound.blockSignals(True)
        self.compound.clear()
        self.compound.addItem(_("(all compounds)"), None)
        for cid, name in pd.compounds(self.ctx.store):
            self.compound.addItem(name, cid)
        index = self.compound.findData(current)
        self.compound.setCurrentIndex(max(0, index))
        self.compound.blockSignals(False)
        self._fill_buildings()

    def _fill_buildings(self) -> None:
        if self.building is None:
            return
        current = self.building.currentData()
        self.building.blockSignals(True)
        self.building.clear()
        if self.any_building:
            self.building.addItem(_("(all buildings)"), None)
        for bid, label in pd.buildings(self.ctx.store, self.compound.currentData()):
            self.building.addItem(label, bid)
        self.building.setCurrentIndex(max(0, self.building.findData(current)))
        self.building.blockSignals(False)
        self._fill_households()

    def _fill_households(self) -> None:
        if self.household is None:
            return
        self.household.blockSignals(True)
        self.household.clear()
        building = self.building.currentData() if self.building is not None else None
        if building:
            for hid, label in pd.households_with_heads(self.ctx.store, building):
                self.household.addItem(label, hid)
        self.household.blockSignals(False)
        self._fill_visits()

    def _fill_visits(self) -> None:
        if self.visit is None:
            return
        self.visit.blockSignals(True)
        self.visit.clear()
        self.visit.addItem(_("(blank visit form)"), None)
        household = self.household.currentData() if self.household is not None else None
        if household:
            for vid, label in pd.visits_of_household(self.ctx.store, household):
                self.visit.addItem(label, vid)
        self.visit.blockSignals(False)

    def select(self, combo_name: str, value: str) -> bool:
        """Choose the entry whose data is value (tests and callers that know an id)."""
        combo = getattr(self, combo_name)
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        return index >= 0


class OptionsPanel(QWidget):
    """Base: a form layout, a change signal, and params() for the print job."""

    sig_changed = Signal()
    """Some option changed (the preview is then out of date)."""

    form_key = ""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.form = QFormLayout(self)
        # At large text sizes a label goes above its field instead of pushing the field out of view.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.places: PlacePicker | None = None
        self._fit_text_size()
        font_notifier().sig_font_changed.connect(self._fit_text_size)

    def _fit_text_size(self) -> None:
        """From 125 % every label goes above its field: the fields get the whole width, so their
        example texts (placeholders) are not cut."""
        from desktop.appearance import BASE_POINT_SIZE

        large = QApplication.font().pointSizeF() >= BASE_POINT_SIZE * 1.2
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows if large
                                   else QFormLayout.RowWrapPolicy.WrapLongRows)

    def line(self, label: str, name: str, text: str = "", placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(text)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        if placeholder:
            edit.setToolTip(placeholder)
            # The example must be readable in full at every text size (at 100 % the panel was narrower).
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(placeholder) + 16)
        edit.textChanged.connect(self.sig_changed)
        self.form.addRow(label, edit)
        return edit

    def text(self, label: str, name: str, placeholder: str = "", height: int = 80) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setMinimumHeight(height)
        edit.textChanged.connect(self.sig_changed)
        self.form.addRow(label, edit)
        return edit

    def date(self, label: str, name: str) -> QDateEdit:
        edit = QDateEdit(QDate.currentDate())
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.dateChanged.connect(self.sig_changed)
        self.form.addRow(label, edit)
        return edit

    def check(self, label: str, name: str) -> QCheckBox:
        box = QCheckBox(label)
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        box.setObjectName(name)
        box.toggled.connect(self.sig_changed)
        self.form.addRow("", box)
        return box

    def picker(self, **kwargs) -> PlacePicker:
        self.places = PlacePicker(self.ctx, self.form, **kwargs)
        self.places.sig_changed.connect(self.sig_changed)
        return self.places

    def reload(self) -> None:
        if self.places is not None:
            self.places.reload()

    def params(self) -> dict:
        raise NotImplementedError


class MeetingNoticeOptions(OptionsPanel):
    form_key = "meeting-notice"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.meeting = self.line(_("Meeting"), "meeting", placeholder=_("e.g. 3号楼居民议事会"))
        self.time = self.line(_("Time"), "time", placeholder=_("e.g. 12月1日（周二）下午3:00"))
        self.place = self.line(_("Place"), "place")
        self.attendees = self.line(_("Attendees"), "attendees")
        self.agenda = self.text(_("Agenda (one item a line)"), "agenda")
        self.requirements = self.text(_("Requirements (one a line)"), "requirements", height=60)
        self.contact = self.line(_("Contact person"), "contact")
        self.contact_phone = self.line(_("Contact telephone"), "contact_phone")
        self.issuer = self.line(_("Issuer"), "issuer", placeholder=_("e.g. 幸福里社区居民委员会"))
        self.day = self.date(_("Date"), "date")
        self.picker(building=False)
        # A short label (a check box cannot wrap; at 150 % the long one was cut): the rest in the tooltip.
        self.per_building = self.check(_("One notice per building"), "per_building")
        self.per_building.setToolTip(_("One notice per building of the compound") + "\n" + _(
            "{building} in the meeting name, place or attendees is replaced by each building's name."))

    def params(self) -> dict:
        compound = self.places.compound.currentData() if self.per_building.isChecked() else None
        return {"meeting": self.meeting.text(), "time": self.time.text(), "place": self.place.text(),
                "attendees": self.attendees.text(), "agenda": _lines(self.agenda),
                "requirements": _lines(self.requirements), "contact": self.contact.text(),
                "contact_phone": self.contact_phone.text(), "issuer": self.issuer.text(),
                "date": self.day.date().toString("yyyy-MM-dd"), "compound": compound}


class NoticeOptions(OptionsPanel):
    form_key = "notice"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.title = self.line(_("Title"), "title", placeholder=_("e.g. 停水通知"))
        self.addressee = self.line(_("Addressee"), "addressee", placeholder=_("e.g. 各位居民："))
        self.body = self.text(_("Text"), "body", placeholder=_("One paragraph a line; lines starting with "
                                                               "一、 （一） 1. become headings."), height=160)
        self.issuer = self.line(_("Issuer"), "issuer")
        self.day = self.date(_("Date"), "date")
        self.picker(building=False)
        self.per_building = self.check(_("One notice per building"), "per_building")
        self.per_building.setToolTip(_("One notice per building of the compound"))

    def params(self) -> dict:
        compound = self.places.compound.currentData() if self.per_building.isChecked() else None
        return {"title": self.title.text(), "addressee": self.addressee.text(), "body": self.body.toPlainText(),
                "issuer": self.issuer.text(), "date": self.day.date().toString("yyyy-MM-dd"),
                "compound": compound}


class SigninOptions(OptionsPanel):
    form_key = "signin"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.meeting = self.line(_("Meeting"), "meeting")
        self.time = self.line(_("Time"), "time")
        self.place = self.line(_("Place"), "place")
        # Empty: the sheet has a line to fill in by hand (it is often printed days before).
        self.host = self.line(_("Host"), "host", placeholder=_("empty: filled in by hand"))
        self.day = self.line(_("Meeting date"), "date", placeholder=_("empty: filled in by hand"))
        self.picker()
        self.names = self.text(_("More names (one a line)"), "names", height=60)
        self.blank_rows = QSpinBox()
        self.blank_rows.setObjectName("blank_rows")
        self.blank_rows.setRange(0, 200)
        self.blank_rows.setValue(5)
        self.blank_rows.valueChanged.connect(self.sig_changed)
        self.form.addRow(_("Blank rows"), self.blank_rows)

    def params(self) -> dict:
        building = self.places.building.currentData()
        return {"meeting": self.meeting.text(), "time": self.time.text(), "place": self.place.text(),
                "host": self.host.text(), "date": self.day.text().strip(),
                "buildings": [building] if building else [], "names": _lines(self.names),
                "blank_rows": self.blank_rows.value()}


class HouseholdOptions(OptionsPanel):
    form_key = "household"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.picker(household=True, any_building=False)
        self.whole_building = self.check(_("Every household of the building (one job)"), "whole_building")

    def params(self) -> dict:
        if self.whole_building.isChecked():
            building = self.places.building.currentData()
            return {"buildings": [building] if building else []}
        household = self.places.household.currentData()
        return {"households": [household] if household else []}


class VisitOptions(OptionsPanel):
    form_key = "visit"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.picker(household=True, visit=True, any_building=False)

    def params(self) -> dict:
        return {"visit": self.places.visit.currentData(), "household": self.places.household.currentData()}


class ListOptions(OptionsPanel):
    form_key = "list"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.kind = QComboBox()
        self.kind.setObjectName("kind")
        for key, label in pd.LIST_KINDS.items():
            self.kind.addItem(_(label), key)
        self.kind.currentIndexChanged.connect(self.sig_changed)
        self.form.addRow(_("List"), self.kind)
        self.picker()
        self.tag = self.line(_("Tag"), "tag", placeholder=_("e.g. 独居老人"))
        self.person_type = self.line(_("Person type"), "person_type", placeholder=_("e.g. 流动"))
        self.house_use = self.line(_("Use of the dwelling"), "house_use", placeholder=_("e.g. 出租"))
        self.date_from = self.line(_("Visits from"), "date_from", placeholder="2026-01-01")
        self.date_to = self.line(_("Visits to"), "date_to", placeholder="2026-12-31")
        self.title = self.line(_("Title"), "title")
        self.portrait = self.check(_("Portrait pages"), "portrait")

    def params(self) -> dict:
        return {"kind": self.kind.currentData(), "compound": self.places.compound.currentData(),
                "building": self.places.building.currentData(), "tag": self.tag.text().strip(),
                "person_type": self.person_type.text().strip(), "house_use": self.house_use.text().strip(),
                "date_from": self.date_from.text().strip(), "date_to": self.date_to.text().strip(),
                "title": self.title.text().strip(), "portrait": self.portrait.isChecked()}


PANELS = [MeetingNoticeOptions, SigninOptions, HouseholdOptions, VisitOptions, ListOptions, NoticeOptions]


def _searchable(combo: QComboBox) -> None:
    """Type any part of a door or a member's name (101, 张) and the list narrows to the matches."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QCompleter

    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.lineEdit().setPlaceholderText(_("door or name, e.g. 101 or 张"))
    completer = combo.completer()
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
