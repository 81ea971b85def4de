"""The import wizard: choose a file → adjust the column mapping → preview → import (undoable).

Reading, checking and writing run through ctx.tasks with progress and cancel; a cancelled import
writes nothing. The widgets call db.ledger functions only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from db.bulk import release_memory
from db.ledger import cells
from db.ledger.commit import ImportResult, commit_import, undo_import
from db.ledger.mapping import FIELDS, field_label, mapping_names, save_mapping
from db.ledger.preview import ImportPlan, Preview, build_preview, plan_import
from db.ledger.readers import SUFFIXES
from db.ledger.report import error_workbook_path, summary, write_error_workbook
from desktop import file_dialogs
from desktop.backups import refresh_base_in_background
from i18n import N_, _
from views.ledger.preview_model import PreviewModel

FILTERS = ((None, N_("All rows")), ("error", N_("Errors")), ("update", N_("Updates")), ("create", N_("New")),
           ("unchanged", N_("Unchanged")))

LARGE_IMPORT_ROWS = 5_000  # from this many rows, a new full backup afterwards (db.backup.refresh_base)


class _AsyncPage(QWizardPage):
    """A page whose Next runs a background task first and advances when it is done."""

    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self._passed = False
        self.busy = False

    def run_then_next(self, fn, title: str, on_done) -> None:
        self.busy = True

        def done(result) -> None:
            self.busy = False
            on_done(result)
            self._passed = True
            self.w.next()
            self._passed = False

        def failed(error) -> None:
            self.busy = False
            self.w.ctx.errors.show(error, self.w)

        def cancelled() -> None:
            self.busy = False
            self.w.status.setText(_("Cancelled; nothing was written."))

        self.w.ctx.tasks.run(fn, title=title, on_done=done, on_error=failed, on_cancel=cancelled, parent=self.w)

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        if self._passed:
            return True
        if not self.busy:
            self.start()
        return False

    def start(self) -> None:
        raise NotImplementedError


class FilePage(_AsyncPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.setTitle(_("Choose a ledger file"))
        self.setSubTitle(_("Excel (.xlsx, .xls), LibreOffice (.ods) or CSV (UTF-8 or GBK)."))
        self.path_edit = QLineEdit()
        self.path_edit.textChanged.connect(self.completeChanged)
        browse = QPushButton(_("Browse…"))
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.mapping_combo = QComboBox()
        history = QPushButton(_("Earlier imports…"))
        history.clicked.connect(self.show_history)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(QLabel(_("Saved column mapping:")))
        layout.addWidget(self.mapping_combo)
        layout.addStretch(1)
        layout.addWidget(history, 0, Qt.AlignmentFlag.AlignLeft)

    def show_history(self):
        from views.ledger.history import ImportHistoryDialog

        dialog = ImportHistoryDialog(self.w.ctx, self.w)
        dialog.open()
        return dialog

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.mapping_combo.clear()
        self.mapping_combo.addItem(_("(recognise the columns automatically)"), None)
        for name in mapping_names(self.w.ctx.store):
            self.mapping_combo.addItem(name, name)

    def browse(self) -> None:
        patterns = " ".join(f"*{s}" for s in SUFFIXES)
        path = file_dialogs.open_file(self, self.w.ctx.settings, _("Choose a ledger file"),
                                      _("Spreadsheets ({patterns})").format(patterns=patterns))
        if path:
            self.path_edit.setText(path)

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return Path(self.path_edit.text().strip()).is_file()

    def start(self) -> None:
        store = self.w.ctx.store
        path = self.path_edit.text().strip()
        name = self.mapping_combo.currentData()
        self.run_then_next(lambda state: plan_import(path, store=store, mapping_name=name),
                           _("Reading the file…"), self.w.set_plan)


class MappingPage(_AsyncPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.setTitle(_("Check the columns"))
        self.setSubTitle(_("Each column of the file goes to one GridDesk field; adjust what was recognised."))
        self.sheet_combo = QComboBox()
        self.sheet_combo.currentIndexChanged.connect(self._show_sheet)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([_("Column in the file"), _("First values"), _("GridDesk field")])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(_("name, e.g. 街道人口表"))
        save = QPushButton(_("Save this mapping"))
        save.clicked.connect(self.save_mapping)
        self.header_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(QLabel(_("Sheet:")))
        row.addWidget(self.sheet_combo, 1)
        save_row = QHBoxLayout()
        save_row.addWidget(self.name_edit, 1)
        save_row.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.header_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(save_row)
        self.where = WherePeopleLive(self)
        layout.addWidget(self.where)
        self.combos: list[QComboBox] = []

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        for sp in self.w.plan.sheets:
            self.sheet_combo.addItem(sp.sheet.name)
        self.sheet_combo.blockSignals(False)
        self._show_sheet(0)
        self.where.show_for(self.w.plan)

    def _show_sheet(self, index: int) -> None:
        if index < 0 or not self.w.plan:
            return
        sp = self.w.plan.sheets[index]
        self.header_label.setText(_("Header found in row {row}; data starts in row {data}.").format(
            row=sp.layout.header_row + 1, data=sp.layout.data_row + 1))
        headers = sp.layout.headers
        self.table.setRowCount(len(headers))
        self.combos = []
        self.samples: dict[int, list[str]] = {}
        samples = sp.sheet.head[sp.layout.data_row: sp.layout.data_row + 3]
        for col, header in enumerate(headers):
            self.table.setItem(col, 0, QTableWidgetItem(header or _("Column {n}").format(n=col + 1)))
            values = [cells.display(r[col]) for r in samples if col < len(r) and not cells.is_blank(r[col])]
            self.samples[col] = values
            self.table.setItem(col, 1, QTableWidgetItem(self._sample_text(col, sp.mapping.get(col))))
            combo = QComboBox()
            combo.addItem(field_label(None), None)
            for f in FIELDS:
                combo.addItem(field_label(f.key), f.key)
            combo.setCurrentIndex(max(0, combo.findData(sp.mapping.get(col))))
            combo.currentIndexChanged.connect(lambda _i, c=col, cb=combo, s=sp: self._changed(s, c, cb))
            self.table.setCellWidget(col, 2, combo)
            self.combos.append(combo)
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(2, 160)

    def _sample_text(self, col: int, key: str | None) -> str:
        """The first values of a column, ID and phone numbers masked as on every screen."""
        return "，".join(cells.masked_sample(v, key) for v in self.samples.get(col, []))

    def _changed(self, sp, col: int, combo: QComboBox) -> None:
        key = combo.currentData()
        item = self.table.item(col, 1)
        if item is not None:
            item.setText(self._sample_text(col, key))
        if key is None:
            sp.mapping.pop(col, None)
            return
        for other, k in list(sp.mapping.items()):
            if k == key and other != col:
                del sp.mapping[other]  # one column per field
                if other < len(self.combos):
                    self.combos[other].blockSignals(True)
                    self.combos[other].setCurrentIndex(0)
                    self.combos[other].blockSignals(False)
        sp.mapping[col] = key

    def set_field(self, col: int, key: str | None) -> None:
        """Choose the field of a column (what a person does with the combo box)."""
        self.combos[col].setCurrentIndex(max(0, self.combos[col].findData(key)))

    def save_mapping(self) -> None:
        sp = self.w.plan.sheets[max(0, self.sheet_combo.currentIndex())]
        try:
            save_mapping(self.w.ctx.store, name=self.name_edit.text(), headers=sp.layout.headers,
                         mapping=sp.mapping)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.w.ctx.errors.show(exc, self.w)
            return
        self.w.status.setText(_("Mapping saved as “{name}”.").format(name=self.name_edit.text().strip()))

    def start(self) -> None:
        store, plan = self.w.ctx.store, self.w.plan
        plan.default_places = self.where.places(plan)
        self.run_then_next(lambda state: build_preview(store, plan, state=state), _("Checking every row…"),
                           self.w.set_preview)


class PreviewPage(_AsyncPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.setTitle(_("Preview: nothing is written yet"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.filter_combo = QComboBox()
        for action, label in FILTERS:
            self.filter_combo.addItem(_(label), action)
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self.w.model.set_action(self.filter_combo.currentData()))
        self.view = QTableView()
        self.view.setModel(wizard.model)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setWordWrap(False)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.selectionModel().currentRowChanged.connect(self._show_details)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.skip_box = QCheckBox(_("Skip the rows with errors (they go to an error workbook to fix and re-import)"))
        self.skip_box.toggled.connect(self.completeChanged)
        self.errors_button = QPushButton(_("Save the rows with errors…"))
        self.errors_button.clicked.connect(self.save_errors)
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Show:")))
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        top.addWidget(self.errors_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.details)
        self.heads_warning = QLabel()
        self.heads_warning.setWordWrap(True)
        self.heads_warning.setObjectName("placeholderNote")
        layout.addWidget(self.heads_warning)
        layout.addWidget(self.skip_box)

    def _show_details(self, current, _previous=None) -> None:
        if not current.isValid():
            self.details.clear()
            return
        r = self.w.model.row_result(current.row())
        self.details.setText(_("Sheet “{sheet}”, row {row} ({name}): {diff}").format(
            sheet=r.sheet, row=r.row, name=r.person.get("name", ""), diff=self.w.model.details(r) or "—"))

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        p = self.w.preview
        self.summary.setText(summary(p))
        self.heads_warning.setText(heads_warning(p))
        self.heads_warning.setVisible(bool(self.heads_warning.text()))
        self.skip_box.setVisible(p.has_errors)
        self.errors_button.setEnabled(p.has_errors)
        if p.has_errors:
            self.filter_combo.setCurrentIndex(1)
        self.view.resizeColumnsToContents()
        if self.w.model.rowCount():
            self.view.selectRow(0)
        self.setButtonText(QWizard.WizardButton.NextButton, _("Import"))

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        p = self.w.preview
        return p is not None and (not p.has_errors or self.skip_box.isChecked())

    def save_errors(self, path: str | None = None) -> None:
        if not path:
            default = str(error_workbook_path(self.w.plan.path))
            path = file_dialogs.save_file(self, self.w.ctx.settings, _("Save the rows with errors"), default,
                                          "Excel (*.xlsx)")
        if path:
            n = write_error_workbook(self.w.preview, path)
            self.w.status.setText(_("{n} rows with errors saved to {path}.").format(n=n, path=path))

    def error_workbook_path(self) -> Path:
        source = self.w.plan.path
        return error_workbook_path(source)

    def start(self) -> None:
        store, preview, skip = self.w.ctx.store, self.w.preview, self.skip_box.isChecked()
        target = self.error_workbook_path()

        def work(state) -> ImportResult:
            result = commit_import(store, preview, skip_invalid=skip, state=state)
            if skip and preview.has_errors:
                # The skipped rows, as they were, with what to fix: the person corrects and re-imports.
                try:
                    write_error_workbook(preview, target)
                    result.error_workbook = str(target)
                except OSError:
                    result.error_workbook = None
            return result

        self.run_then_next(work, _("Importing…"), self.w.set_result)


class DonePage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle(_("Import finished"))
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.undo_button = QPushButton(_("Undo this import"))
        self.undo_button.clicked.connect(self.undo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.undo_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        r = self.w.result
        if r.batch_id:
            self.label.setText(_("Imported: {created} new, {updated} updated, {households} new households; "
                                 "{skipped} rows skipped. A backup was made before the import.").format(
                created=f"{r.created:,}", updated=f"{r.updated:,}", households=f"{r.households_created:,}",
                skipped=f"{r.skipped:,}"))
        else:
            self.label.setText(_("Nothing to change: the register already holds these rows."))
        if r.error_workbook:
            self.label.setText(self.label.text() + "\n\n" + _(
                "The {n} rows with errors were written to {path}: correct them there and import that file "
                "again.").format(n=r.skipped, path=r.error_workbook))
        self.undo_button.setEnabled(bool(r.batch_id))

    def undo(self) -> None:
        store, batch = self.w.ctx.store, self.w.result.batch_id

        def done(changes) -> None:
            self.w.ctx.data_changed(changes)
            self.undo_button.setEnabled(False)
            self.label.setText(_("The import was undone."))

        self.w.ctx.tasks.run(lambda state: undo_import(store, batch_id=batch, state=state),
                             title=_("Undoing the import…"), on_done=done, parent=self.w)


class ImportWizard(QWizard):
    """Import residents from a spreadsheet; usable from the households screen and from a menu."""

    def __init__(self, ctx, parent=None, path: str | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Import a ledger"))
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(860, 600)
        self.plan: ImportPlan | None = None
        self.preview: Preview | None = None
        self.result: ImportResult | None = None
        self.model = PreviewModel(self)
        self.status = QLabel()
        self.file_page = FilePage(self)
        self.mapping_page = MappingPage(self)
        self.preview_page = PreviewPage(self)
        self.done_page = DonePage(self)
        for page in (self.file_page, self.mapping_page, self.preview_page, self.done_page):
            self.addPage(page)
        self.file_page.layout().addWidget(self.status)
        if path:
            self.file_page.path_edit.setText(str(path))
        self.currentIdChanged.connect(self._move_status)

    def _move_status(self, _id: int) -> None:
        page = self.currentPage()
        if page is not None and page.layout() is not None:
            page.layout().addWidget(self.status)

    def set_plan(self, plan: ImportPlan) -> None:
        self.plan = plan

    def done(self, result: int) -> None:
        super().done(result)
        # A 150,000-row file, its preview and the written changes hold over a gigabyte: they go
        # with the closed wizard (it stays a child of its window until that closes).
        self.model.set_preview(None)
        self.plan = self.preview = None
        if self.result is not None:
            self.result.changes = []
        release_memory()

    def set_preview(self, preview: Preview) -> None:
        self.preview = preview
        self.model.set_preview(preview)

    def set_result(self, result: ImportResult) -> None:
        self.result = result
        self.ctx.data_changed(result.changes)
        if result.created + result.updated >= LARGE_IMPORT_ROWS:
            refresh_base_in_background(self.ctx, self)


# -- where people live, households without a head (db/ledger/places_hint.py) -----------------------
class WherePeopleLive(QWidget):
    """Shown when no column names the grid or the compound: the person says where the people live,
    with what the sheet name and title rows suggest already filled in."""

    def __init__(self, parent=None):
        super().__init__(parent)
        from PySide6.QtWidgets import QFormLayout

        self.setObjectName("wherePeopleLive")
        form = QFormLayout(self)
        form.setContentsMargins(0, 6, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("placeholderNote")
        form.addRow(self.note)
        self.grid = QLineEdit()
        self.compound = QLineEdit()
        self.grid.setPlaceholderText(_("e.g. 第三网格"))
        self.compound.setPlaceholderText(_("e.g. 幸福里"))
        form.addRow(_("Grid:"), self.grid)
        form.addRow(_("Compound:"), self.compound)
        self.form = form
        self.missing: list[str] = []
        self.hide()

    def show_for(self, plan) -> None:
        from db.ledger.places_hint import missing_levels, suggest_places

        self.missing = missing_levels(plan)
        hints = suggest_places(plan)
        self.grid.setText(plan.default_places.get("grid") or hints.get("grid", ""))
        self.compound.setText(plan.default_places.get("compound") or hints.get("compound", ""))
        self.form.setRowVisible(self.grid, "grid" in self.missing)
        self.form.setRowVisible(self.compound, "compound" in self.missing)
        said = "、".join(x for x in (hints.get("community"), hints.get("grid"), hints.get("compound")) if x)
        text = _("The ledger has no column for the grid or the compound. Where do these people live?")
        if said:
            text += " " + _("The sheet name and title rows say: {what}.").format(what=said)
        text += " " + _("Left empty, they go to 未分网格 / 未分小区 (rename those later in the place tree).")
        self.note.setText(text)
        self.setVisible(bool(self.missing))

    def places(self, plan) -> dict[str, str]:
        from db.ledger.places_hint import missing_levels

        missing = missing_levels(plan)
        values = {"grid": self.grid.text().strip(), "compound": self.compound.text().strip()}
        return {level: values[level] for level in missing if values[level]}


def heads_warning(preview) -> str:
    from db.ledger.places_hint import households_without_head

    lacking = households_without_head(preview)
    if not lacking:
        return ""
    total = len(preview.households)
    first = lacking[0]
    return _("{n} of {total} households would have no head (户主), e.g. {address} (sheet “{sheet}”, rows {rows}). "
             "Check the 与户主关系 column; each household needs one head before it can be printed or "
             "handed over.").format(n=len(lacking), total=total, address=first["address"] or "?",
                                   sheet=first["rows"][0][0],
                                   rows="、".join(str(row) for _sheet, row in first["rows"][:5]))
