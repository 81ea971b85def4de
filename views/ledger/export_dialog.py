"""Export dialog: a filtered list of residents to .xlsx (or .csv in UTF-8/GB18030/GBK), or into a
department's own template.

ID and phone numbers are masked unless the person ticks the box, and every export is recorded in
the audit trail (db.ledger.export.record_export). Work runs through ctx.tasks.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from db.ledger.export import PeopleFilter, all_columns, column_label, count_people, export_people
from db.ledger.export_csv import CSV_ENCODINGS, CsvEncodingError, export_people_csv
from db.ledger.templates import TemplateInfo, fill_template, inspect_template, save_template, template_names
from desktop import file_dialogs
from i18n import _


class TemplateMappingDialog(QDialog):
    """Map a department template's columns to GridDesk fields once; saved under a name."""

    def __init__(self, ctx, path: str, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.path = path
        self.setWindowTitle(_("Department template"))
        self.info: TemplateInfo = inspect_template(path)
        self.name_edit = QLineEdit(self.info.name)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([_("Template column"), _("GridDesk field")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.combos: dict[int, QComboBox] = {}
        cols = [c for c, h in enumerate(self.info.headers) if h]
        self.table.setRowCount(len(cols))
        for row, col in enumerate(cols):
            self.table.setItem(row, 0, QTableWidgetItem(self.info.headers[col]))
            combo = QComboBox()
            combo.addItem(_("(leave empty)"), None)
            for key in all_columns():
                combo.addItem(column_label(key), key)
            combo.setCurrentIndex(max(0, combo.findData(self.info.mapping.get(col))))
            self.table.setCellWidget(row, 1, combo)
            self.combos[col] = combo
        self.table.setColumnWidth(1, 170)
        self.table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(_("Template name:"), self.name_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(_("Header found in row {row} of sheet “{sheet}”.").format(
            row=self.info.header_row + 1, sheet=self.info.sheet)))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(520, 480)

    def mapping(self) -> dict[int, str]:
        return {col: combo.currentData() for col, combo in self.combos.items() if combo.currentData()}

    def save(self) -> None:
        try:
            save_template(self.ctx.store, path=self.path, name=self.name_edit.text(), mapping=self.mapping())
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.ctx.errors.show(exc, self)
            return
        self.accept()


class ExportDialog(QDialog):
    """Export the residents matching `people` (all by default)."""

    def __init__(self, ctx, parent=None, people: PeopleFilter | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.people = people or PeopleFilter()
        self.last_count: int | None = None
        self.setWindowTitle(_("Export to Excel"))
        self.list_radio = QRadioButton(_("A plain list"))
        self.template_radio = QRadioButton(_("Fill a department template"))
        self.list_radio.setChecked(True)
        self.template_combo = QComboBox()
        add = QPushButton(_("Add a template…"))
        add.clicked.connect(self.add_template)
        self.unmasked_box = QCheckBox(_("Show ID and phone numbers in full (recorded in the audit trail)"))
        self.path_edit = QLineEdit()
        browse = QPushButton(_("Browse…"))
        browse.clicked.connect(self.browse)
        self.count_label = QLabel()
        # A .csv file name: which encoding (GBK only for old systems: it cannot hold 𫖯 or 𠮷).
        self.encoding_combo = QComboBox()
        self.encoding_combo.setObjectName("csvEncoding")
        for key, label in CSV_ENCODINGS.items():
            self.encoding_combo.addItem(_(label), key)
        self.encoding_label = QLabel(_("CSV encoding:"))
        self.status = QLabel()
        self.status.setWordWrap(True)
        template_row = QHBoxLayout()
        template_row.addWidget(self.template_radio)
        template_row.addWidget(self.template_combo, 1)
        template_row.addWidget(add)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton(_("Export"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count_label)
        layout.addWidget(self.list_radio)
        layout.addLayout(template_row)
        layout.addWidget(self.unmasked_box)
        layout.addWidget(QLabel(_("Save as:")))
        layout.addLayout(path_row)
        encoding_row = QHBoxLayout()
        encoding_row.addWidget(self.encoding_label)
        encoding_row.addWidget(self.encoding_combo, 1)
        layout.addLayout(encoding_row)
        self.path_edit.textChanged.connect(self._show_encoding)
        self.template_radio.toggled.connect(self._show_encoding)
        self._show_encoding()
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.refresh_templates()
        self.resize(560, 300)
        store, people = ctx.store, self.people
        ctx.tasks.run(lambda state: count_people(store, people), title=_("Counting…"), parent=self,
                      on_done=lambda n: self.count_label.setText(
                          _("{n} residents will be exported.").format(n=n)))

    def refresh_templates(self, select: str | None = None) -> None:
        self.template_combo.clear()
        for name in template_names(self.ctx.store):
            self.template_combo.addItem(name, name)
        if select:
            self.template_combo.setCurrentIndex(max(0, self.template_combo.findData(select)))
        self.template_radio.setEnabled(self.template_combo.count() > 0)

    def add_template(self, path: str | None = None) -> TemplateMappingDialog | None:
        if not path:
            path = file_dialogs.open_file(self, self.ctx.settings, _("Choose a department template"), "Excel (*.xlsx)")
        if not path:
            return None
        try:
            dialog = TemplateMappingDialog(self.ctx, path, self)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.ctx.errors.show(exc, self)
            return None
        dialog.accepted.connect(lambda: (self.refresh_templates(dialog.name_edit.text().strip()),
                                         self.template_radio.setChecked(True)))
        dialog.open()
        return dialog

    def browse(self) -> None:
        path = file_dialogs.save_file(self, self.ctx.settings, _("Export to Excel"), "居民名单.xlsx",
                                      "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            self.path_edit.setText(path)

    def _is_csv(self) -> bool:
        return self.path_edit.text().strip().lower().endswith(".csv")

    def _show_encoding(self, *_args) -> None:
        csv_file = self._is_csv() and not self.template_radio.isChecked()
        self.encoding_label.setVisible(csv_file)
        self.encoding_combo.setVisible(csv_file)

    def export_csv(self, path: str, unmasked: bool) -> None:
        store, people = self.ctx.store, self.people
        encoding = self.encoding_combo.currentData()

        def fn(state):
            return export_people_csv(store, path, people=people, unmasked=unmasked, encoding=encoding, state=state)

        def done(n: int) -> None:
            self.last_count = n
            self.status.setText(_("{n} rows exported to {path}.").format(n=n, path=Path(path).name))

        def failed(error: BaseException) -> None:
            if isinstance(error, CsvEncodingError):
                choice = self.ask_other_encoding(error)
                if choice:
                    self.encoding_combo.setCurrentIndex(self.encoding_combo.findData(choice))
                    self.export_csv(path, unmasked)
                return
            self.ctx.errors.show(error, self)

        self.ctx.tasks.run(fn, title=_("Exporting…"), on_done=done, on_error=failed, parent=self)

    def ask_other_encoding(self, error: CsvEncodingError) -> str | None:
        """GBK cannot hold some names: say which, and offer GB18030 or UTF-8 (None: do not export)."""
        box = QMessageBox(self)
        box.setObjectName("csvEncodingProblem")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(_("Rare characters do not fit in GBK"))
        box.setText(error.message)
        buttons = {box.addButton(_(CSV_ENCODINGS[key]), QMessageBox.ButtonRole.AcceptRole): key
                   for key in error.suggestions}
        box.addButton(_("Do not export"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(next(iter(buttons)))
        box.exec()
        return buttons.get(box.clickedButton())

    def export(self) -> None:
        path = self.path_edit.text().strip()
        if not path:
            self.ctx.errors.show(_("Choose where to save the file."), self)
            return
        template = self.template_combo.currentData() if self.template_radio.isChecked() else None
        if not path.lower().endswith(".xlsx") and (template or not path.lower().endswith(".csv")):
            path += ".xlsx"
        unmasked = self.unmasked_box.isChecked()
        if unmasked and not self.confirm_unmasked():
            return
        if path.lower().endswith(".csv"):
            self.export_csv(path, unmasked)
            return
        store, people = self.ctx.store, self.people
        if template:
            def fn(state):
                return fill_template(store, name=template, path=path, people=people, unmasked=unmasked, state=state)
        else:
            def fn(state):
                return export_people(store, path, people=people, unmasked=unmasked, state=state)

        def done(n: int) -> None:
            self.last_count = n
            self.status.setText(_("{n} rows exported to {path}.").format(n=n, path=Path(path).name))

        self.ctx.tasks.run(fn, title=_("Exporting…"), on_done=done, parent=self)

    def confirm_unmasked(self) -> bool:
        answer = QMessageBox.question(
            self, _("Show numbers in full?"),
            _("The file will contain full ID and phone numbers. Keep it safe and do not share it in chat "
              "groups. This export is recorded in the audit trail."))
        return answer == QMessageBox.StandardButton.Yes
