"""Register browser: place tree beside the lazy person list, search as you type, filters."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.register import index as register_index
from db.register.common import AGE_BANDS, RESIDENCE_STATUSES
from db.register.places import place_tree
from db.register.search import LIST_TABLES as REGISTER_TABLES
from db.register.search import Filters, ListUpdate, fetch_rows, list_update, row_for_person, search_ids
from db.register.tags import list_tags
from i18n import N_, _
from views.households.common import PersonTableModel, fit_columns, shortcut
from views.households.flow import FlowLayout

STATUS_CHOICES = [("active", N_("Living here")), ("moved_out", N_("Moved out")), ("deceased", N_("Deceased")),
                  ("all", N_("Everyone"))]
DEBOUNCE_MS = 120
COLUMN_SAMPLES = ("欧阳娜娜", "男", "100", "配偶", "幸福里小区10栋2单元1001", "420103********6582", "185****3758",
                  "独居老人、低保", "人户一致", "在册", "2026-11-25")


class RegisterBrowser(QWidget):
    sig_open_household = Signal(str)
    """The user wants to edit a household (its id)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.ready = False
        self.last_search_ms = 0.0
        self._list_generation = 0  # bumped by every search: an older result is dropped

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("placeTree")
        self.tree.setHeaderLabels([_("Places")])
        self.tree.currentItemChanged.connect(lambda *_a: self.refresh())

        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setClearButtonEnabled(True)
        self.search.setProperty("registerUndo", True)  # Ctrl+Z here undoes the last edit
        self.search.setPlaceholderText(_("Search: name, pinyin or initials (zs), ID or phone digits, address  (Ctrl+F)"))
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self.timer.start())
        self.search.returnPressed.connect(self._focus_table)

        self.tag = QComboBox(self)
        self.tag.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.tag.setObjectName("tagFilter")
        self.age = QComboBox(self)
        self.age.addItem(_("All ages"), None)
        for label, lo, hi in AGE_BANDS:
            self.age.addItem(_("Age {band}").format(band=_(label)), (lo, hi))
        self.residence = QComboBox(self)
        self.residence.addItem(_("Any residence status"), None)
        for r in RESIDENCE_STATUSES:
            self.residence.addItem(r, r)
        self.status = QComboBox(self)
        for key, label in STATUS_CHOICES:
            self.status.addItem(_(label), key)
        self.overdue = QCheckBox(_("Visit overdue"), self)
        self.overdue.setObjectName("overdueFilter")
        for w in (self.tag, self.age, self.residence, self.status):
            w.currentIndexChanged.connect(lambda *_a: self.refresh())
        self.overdue.toggled.connect(lambda *_a: self.refresh())

        self.model = PersonTableModel(lambda: self.ctx.store, self, tasks=ctx.tasks)
        self.table = QTableView(self)
        self.table.setObjectName("registerTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # A long address loses its middle, not its door: 百步亭花园…1单元1302室.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        fit_columns(self.table, COLUMN_SAMPLES)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit_person())
        self.count = QLabel(self)
        self.count.setObjectName("count")

        # Short texts, the key in the tooltip: at 150 % text size and in English nothing is cut off,
        # and the rows wrap (FlowLayout) when the window is narrow.
        new_hh = self._button(_("New household"), "Ctrl+N", self.new_household)
        edit_hh = self._button(_("Edit household"), "Ctrl+E", self.edit_household)
        edit_p = self._button(_("Edit person"), _("Enter"), self.edit_person)
        visit = self._button(_("Record visit"), "Ctrl+R", self.record_visit)
        self.undo_button = self._button(_("Undo last edit"), "Ctrl+Z", self.undo)
        self.undo_button.setObjectName("undo")
        self.action_buttons = [new_hh, edit_hh, edit_p, visit, self.undo_button]
        shortcut(self, "Ctrl+F", self._focus_search)
        shortcut(self, "Ctrl+N", self.new_household)
        shortcut(self, "Ctrl+E", self.edit_household)
        shortcut(self, "Ctrl+R", self.record_visit)
        shortcut(self.table, "Return", self.edit_person)
        shortcut(self.table, "Enter", self.edit_person)

        tags_button = QPushButton(_("Tags…"), self)
        tags_button.setAutoDefault(False)
        tags_button.clicked.connect(self.edit_tags)
        for combo in (self.tag, self.age, self.residence, self.status):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(4)
        filters_box = QWidget(self)
        filters = FlowLayout(filters_box)
        for w in (self.tag, tags_button, self.age, self.residence, self.status, self.overdue):
            filters.addWidget(w)
        buttons_box = QWidget(self)
        buttons = FlowLayout(buttons_box)
        for b in self.action_buttons:
            buttons.addWidget(b)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.search)
        rl.addWidget(buttons_box)
        rl.addWidget(filters_box)
        self.empty_hint = empty_register_hint(self)
        rl.addWidget(self.empty_hint)
        rl.addWidget(self.table, 1)
        rl.addWidget(self.count)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.tree, 1)
        place_box = QWidget(self)
        place_buttons = FlowLayout(place_box)
        for text, slot in ((_("Add place…"), self.add_place), (_("Rename…"), self.rename_place),
                           (_("Import a ledger…"), self.import_ledger), (_("Export to Excel…"), self.export_list)):
            button = QPushButton(text, self)
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            place_buttons.addWidget(button)
        ll.addWidget(place_box)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([self.fontMetrics().horizontalAdvance("第10网格幸福里小区") + 60, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        QWidget.setTabOrder(self.search, self.table)
        ctx.events.sig_data_changed.connect(self.on_data_changed)

    def _button(self, text: str, key: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(_("{action} ({key})").format(action=text, key=key))
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # -- loading -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Build the search index if needed (in the background), then show the list."""
        store = self.ctx.store

        def work(state):
            register_index.ensure_index(store, progress=lambda done, total: state.set_progress(done, total))
            return True

        self.ctx.tasks.run(work, title=_("Preparing the register"), on_done=lambda _r: self._loaded(), parent=self)

    def _loaded(self) -> None:
        self.ready = True
        self.reload_places()
        self.reload_tags()
        self.refresh()
        self.search.setFocus()

    def reload_places(self) -> None:
        current = self.current_place()
        self.tree.blockSignals(True)
        self.tree.clear()
        root = QTreeWidgetItem([_("All places")])
        root.setData(0, Qt.ItemDataRole.UserRole, None)
        self.tree.addTopLevelItem(root)

        def add(parent_item, nodes):
            for n in nodes:
                item = QTreeWidgetItem([n["name"] or ""])
                item.setData(0, Qt.ItemDataRole.UserRole, (n["level"], n["id"]))
                parent_item.addChild(item)
                add(item, n["children"])

        add(root, place_tree(self.ctx.store))
        root.setExpanded(True)
        self.tree.setCurrentItem(root)
        if current:
            for item in self.tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
                if item.data(0, Qt.ItemDataRole.UserRole) == current:
                    self.tree.setCurrentItem(item)
                    break
        self.tree.blockSignals(False)

    def reload_tags(self) -> None:
        current = self.tag.currentData()
        self.tag.blockSignals(True)
        self.tag.clear()
        self.tag.addItem(_("All tags"), None)
        for t in list_tags(self.ctx.store):
            self.tag.addItem(t["name"], t["id"])
        i = self.tag.findData(current)
        self.tag.setCurrentIndex(max(i, 0))
        self.tag.blockSignals(False)

    def current_place(self):
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item else None

    def filters(self) -> Filters:
        place = self.current_place()
        age = self.age.currentData()
        return Filters(text=self.search.text(), place_level=place[0] if place else None,
                       place_id=place[1] if place else None, tag_id=self.tag.currentData(),
                       age_min=age[0] if age else None, age_max=age[1] if age else None,
                       residence_status=self.residence.currentData(), status=self.status.currentData() or "active",
                       overdue=self.overdue.isChecked())

    def refresh(self) -> None:
        """Search again with the current filters. The query (every matching row id: ~130,000 in a
        50,000-household register) and the first page are read off the GUI thread; a result that a
        newer search overtook is dropped."""
        if not self.ready:
            return
        self.timer.stop()
        filters = self.filters()
        limit = None if not filters.text.strip() else 1000
        self._list_generation += 1
        store, generation, page = self.ctx.store, self._list_generation, self.model.PAGE

        def work(_state):
            started = time.perf_counter()
            result = search_ids(store, filters, limit=limit)
            return result, (time.perf_counter() - started) * 1000, fetch_rows(store, result.ids[:page])

        def done(found) -> None:
            if generation != self._list_generation:
                return
            result, self.last_search_ms, first_rows = found
            self.model.set_ids(result.ids, first_rows=first_rows)
            self._show_count(result)
            if result.ids:
                self.table.selectRow(0)
            self.empty_hint.setVisible(not result.ids and filters == Filters())

        self.ctx.tasks.run(work, title=_("Reading the register"), io=True, show_progress=False, on_done=done)

    def _show_count(self, result) -> None:
        if result.truncated:
            self.count.setText(_("More than {n} found; type more to narrow the search.").format(n=len(result.ids)))
        else:
            self.count.setText(_("{n} persons").format(n=len(result.ids)))

    def on_data_changed(self, changes) -> None:
        """After a write: the rows it touched are marked stale (fetched again when painted); which
        rows match is read again off the GUI thread, and the list is replaced only if that changed."""
        tables = {c.table for c in changes}
        if not self.ready or not tables & REGISTER_TABLES:
            return
        if tables & {"grid", "compound", "building", "unit"}:
            self.reload_places()
        if "tag" in tables:
            self.reload_tags()
        self.timer.stop()
        store, filters, generation = self.ctx.store, self.filters(), self._list_generation
        limit = None if not filters.text.strip() else 1000
        current = self.model.ids()
        self.ctx.tasks.run(lambda _s: list_update(store, changes, filters, limit=limit, current=current),
                           title=_("Reading the register"), io=True, show_progress=False,
                           on_done=lambda update: self._apply_update(update, generation))

    def _apply_update(self, update: ListUpdate, generation: int) -> None:
        if update.everything:
            self.model.invalidate()
        else:
            self.model.mark_stale(update.stale_rowids)
        if update.result is None or generation != self._list_generation:
            return  # the same rows match (or a newer search replaced the list meanwhile)
        selected = self.selected()
        self.model.set_ids(update.result.ids, first_rows=update.first_rows)
        self._show_count(update.result)
        if selected:
            self.select_person(selected["person_id"])

    # -- selection and actions -----------------------------------------------------------------------
    def selected(self) -> dict | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def select_person(self, person_id: str) -> bool:
        rowid = row_for_person(self.ctx.store, person_id)
        row = self.model.position(rowid) if rowid is not None else None
        if row is None:
            return False
        self.table.selectRow(row)
        return True

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _focus_table(self) -> None:
        self.refresh()
        self.table.setFocus()

    def new_household(self) -> None:
        from views.households.household_dialog import HouseholdDialog

        place = self.current_place()
        unit = place[1] if place and place[0] == "unit" else None
        _confirm_saved(self, HouseholdDialog(self.ctx, unit_id=unit, parent=self), _("New household saved."))

    def edit_household(self) -> None:
        from views.households.household_dialog import HouseholdDialog

        r = self.selected()
        if r and r["household_id"]:
            _confirm_saved(self, HouseholdDialog(self.ctx, household_id=r["household_id"], parent=self),
                           _("Household saved."))

    def edit_person(self) -> None:
        from views.households.person_dialog import PersonDialog

        r = self.selected()
        if r:
            _confirm_saved(self, PersonDialog(self.ctx, person_id=r["person_id"], membership_id=r["membership_id"],
                                              relation=r["relation"], parent=self),
                           _("{name}: saved.").format(name=r.get("name") or ""))

    def record_visit(self) -> None:
        from views.visits.visit_dialog import VisitDialog

        r = self.selected()
        if r and r["household_id"]:
            VisitDialog(self.ctx, household_id=r["household_id"], address=r["address"], parent=self).exec()

    def undo(self) -> None:
        from views.households.undo_action import undo_last

        undo_last(self.ctx, self)

    def import_ledger(self):
        from views.ledger import open_import_wizard

        return open_import_wizard(self.ctx, self)

    def export_list(self):
        """Export exactly the residents the list shows (its search text and filters)."""
        from db.ledger.export import PeopleFilter
        from views.ledger import open_export_dialog

        return open_export_dialog(self.ctx, self, people=PeopleFilter(register=self.filters()))

    def add_place(self) -> None:
        from views.households.settings_dialogs import add_place

        add_place(self.ctx, self, self.current_place())

    def rename_place(self) -> None:
        from views.households.settings_dialogs import rename_place

        item = self.tree.currentItem()
        rename_place(self.ctx, self, self.current_place(), item.text(0) if item else "")

    def edit_tags(self) -> None:
        from views.households.settings_dialogs import TagsDialog

        TagsDialog(self.ctx, self).exec()


def empty_register_hint(parent: QWidget) -> QLabel:
    """Shown while nobody lives in the register yet: how to start it."""
    hint = QLabel(_("Nobody is in the register yet. Add the places first (新增地点… on the left: grids, "
                    "compounds, buildings, units), then new households with Ctrl+N; or bring in the ledger you "
                    "keep in Excel or CSV with 导入台账… (Ctrl+Shift+I)."), parent)
    hint.setObjectName("placeholderNote")
    hint.setWordWrap(True)
    hint.hide()
    return hint


def _confirm_saved(browser: QWidget, dialog, text: str) -> None:
    """Run an editor; when it saved, say so in the status bar (a save must never pass unnoticed)."""
    from views.households.undo_action import notify

    if dialog.exec() == dialog.DialogCode.Accepted:
        notify(browser, text)
