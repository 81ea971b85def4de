"""打印: choose a form, fill its options, preview the PDF (QtPdf), print through the system
dialog, or save it as PDF. Making the PDF and printing run as tasks with progress and cancel."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from db.print_jobs import FORMS, PrintJob, PrintResult, make_pdf
from desktop import file_dialogs
from desktop.appearance import font_notifier
from i18n import _
from views.printing.options import PANELS, OptionsPanel
from views.printing.printer import prepare_printer, print_pdf
from views.widgets import heading


class PrintingScreen(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.result: PrintResult | None = None
        self.result_job: PrintJob | None = None
        self.dirty = True
        self.task = None
        self.last_printed_pages = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="griddesk-print-")
        self._preview_count = 0
        self._generation = 0

        self.forms = QListWidget()
        self.forms.setObjectName("forms")
        self.stack = QStackedWidget()
        self.panels: dict[str, OptionsPanel] = {}
        for panel_class in PANELS:
            panel = panel_class(ctx)
            panel.sig_changed.connect(self._mark_dirty)
            self.panels[panel.form_key] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(_(FORMS[panel.form_key]))
            item.setData(Qt.ItemDataRole.UserRole, panel.form_key)
            self.forms.addItem(item)
        self.forms.currentRowChanged.connect(self._form_changed)
        self.forms.setMaximumHeight(self.forms.sizeHintForRow(0) * (len(PANELS) + 1))

        for combo in self.stack.findChildren(QComboBox):
            # Long addresses in a picker must not widen the form past the visible area.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.stack)
        self.options_scroll = scroll

        self.full = QCheckBox(_("Print ID and phone numbers in full (recorded in the audit log)"))
        self.full.setObjectName("show_full")
        self.full.toggled.connect(self._full_toggled)
        self.preview_button = QPushButton(_("Preview"))
        self.print_button = QPushButton(_("Print…"))
        self.save_button = QPushButton(_("Save as PDF…"))
        self.preview_button.clicked.connect(lambda: self.generate())
        self.print_button.clicked.connect(lambda: self.print_document())
        self.save_button.clicked.connect(lambda: self.save_pdf())
        buttons = QHBoxLayout()
        for b in (self.preview_button, self.print_button, self.save_button):
            buttons.addWidget(b)
        self.status = QLabel(_("Choose a form, fill in the options, then preview."))
        self.status.setObjectName("status")
        self.status.setWordWrap(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(heading(_("Printing")))
        left_layout.addWidget(self.forms)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(self.full)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status)

        self.document = QPdfDocument(self)
        self.view = QPdfView()
        self.view.setObjectName("preview")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

        hint = QLabel(_("The preview appears here. It shows the pages exactly as they will print."))
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        self.preview_stack = QStackedWidget()
        self.preview_stack.addWidget(hint)
        self.preview_stack.addWidget(self.view)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.preview_stack)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        self.splitter, self.left = splitter, left
        self._fit_splitter()
        font_notifier().sig_font_changed.connect(self._fit_splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.result = None
        self.forms.setCurrentRow(0)
        self._loaded = False

    # -- state ----------------------------------------------------------------------------------
    def _fit_splitter(self) -> None:
        """The options as wide as 24 characters at the current text size (also after a change): with
        the labels above the fields that holds every example text, and leaves the preview most room."""
        chars = QApplication.font().pointSizeF() / 72 * self.logicalDpiY() * 24
        width = max(420, int(chars))
        self.splitter.setSizes([width, max(self.splitter.width() - width, 400)])

    def activated(self) -> None:
        """Refresh the place lists (households may have been added meanwhile)."""
        for panel in self.panels.values():
            panel.reload()
        self._loaded = True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self._loaded:
            self.activated()
        super().showEvent(event)

    def current_panel(self) -> OptionsPanel:
        return self.stack.currentWidget()

    def select_form(self, key: str) -> OptionsPanel:
        for row in range(self.forms.count()):
            if self.forms.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.forms.setCurrentRow(row)
        return self.panels[key]

    def current_job(self) -> PrintJob:
        panel = self.current_panel()
        return PrintJob(panel.form_key, panel.params(), show_full=self.full.isChecked())

    def _form_changed(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        self._mark_dirty()
        # Another form: the old form's preview and scroll positions would only mislead.
        self.document.close()
        self.preview_stack.setCurrentIndex(0)
        self.options_scroll.verticalScrollBar().setValue(0)
        self.view.verticalScrollBar().setValue(0)
        self.result = None

    def _mark_dirty(self) -> None:
        self.dirty = True

    def _full_toggled(self, checked: bool) -> None:
        if checked:
            answer = QMessageBox.question(
                self, _("Print numbers in full"),
                _("ID and phone numbers are personal data. Print them in full only when the purpose "
                  "requires it. Each such printout is recorded with your name and the time. Continue?"))
            if answer != QMessageBox.StandardButton.Yes:
                self.full.blockSignals(True)
                self.full.setChecked(False)
                self.full.blockSignals(False)
                return
        self._mark_dirty()

    # -- making the PDF -------------------------------------------------------------------------
    def generate(self, then=None) -> None:
        """Make the PDF of the current form in the background; show it, then run then()."""
        if self.task is not None and not self.task.finished:
            self.task.cancel()  # its stale result is dropped
        job = self.current_job()
        store = self.ctx.store

        def work(state):
            return make_pdf(store, job, progress=state.set_progress, cancelled=state.is_cancelled)

        self._generation += 1
        generation = self._generation

        def done(result: PrintResult) -> None:
            self.ctx.data_changed(result.changes)  # audit entries of a full-number print
            if generation != self._generation:
                return  # a newer request replaced this one
            self._show(job, result)
            if then is not None:
                then()

        self.status.setText(_("Making the PDF…"))
        self.task = self.ctx.tasks.run(
            work, title=_("Making {form}").format(form=_(FORMS[job.form])), on_done=done,
            on_error=self._failed, on_cancel=lambda: self.status.setText(_("Cancelled.")), parent=self)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(_("The PDF could not be made."))
        self.ctx.errors.show(error, self)

    def _show(self, job: PrintJob, result: PrintResult) -> None:
        self.result, self.result_job, self.dirty = result, job, False
        self._preview_count += 1
        path = Path(self._tmp.name) / f"preview-{self._preview_count}.pdf"
        path.write_bytes(result.pdf)
        self.document.close()
        self.document.load(str(path))
        self.preview_stack.setCurrentWidget(self.view)
        self.status.setText(_("{title}: {pages} page(s).").format(title=result.title, pages=result.pages))

    def _with_fresh_result(self, action) -> None:
        if self.result is None or self.dirty:
            self.generate(then=action)
        else:
            action()

    # -- output ---------------------------------------------------------------------------------
    def save_pdf(self, path: str | None = None) -> None:
        def save() -> None:
            target = path
            if target is None:
                target = file_dialogs.save_file(self, self.ctx.settings, _("Save as PDF"), f"{self.result.title}.pdf",
                                                _("PDF files (*.pdf)"))
                if not target:
                    return
            out = Path(target)
            tmp = out.with_name(out.name + ".part")
            try:
                tmp.write_bytes(self.result.pdf)
                os.replace(tmp, out)
            except OSError as exc:
                self.ctx.errors.show(_("The PDF could not be saved to {path}: {error}").format(
                    path=out, error=exc.strerror or exc), self)
                return
            self.status.setText(_("Saved {path}.").format(path=out))

        self._with_fresh_result(save)

    def print_document(self, printer: QPrinter | None = None) -> None:
        """Print through the system print dialog (or to the given, already chosen printer)."""

        def go() -> None:
            target = printer
            page_range = None
            if target is None:
                target = QPrinter(QPrinter.PrinterMode.HighResolution)
                prepare_printer(target, self.result.pdf, title=self.result.title)
                dialog = QPrintDialog(target, self)
                dialog.setMinMax(1, self.result.pages)
                if dialog.exec() != QPrintDialog.DialogCode.Accepted:
                    return
                if target.printRange() == QPrinter.PrintRange.PageRange:
                    page_range = (target.fromPage(), target.toPage())
            else:
                prepare_printer(target, self.result.pdf, title=self.result.title)
            pdf = self.result.pdf

            def work(state):
                return print_pdf(pdf, target, progress=state.set_progress, cancelled=state.is_cancelled,
                                 page_range=page_range)

            def done(pages: int) -> None:
                self.last_printed_pages = pages
                self.status.setText(_("Sent {pages} page(s) to {printer}.").format(
                    pages=pages, printer=target.printerName() or target.outputFileName()))

            self.ctx.tasks.run(work, title=_("Printing"), io=True, on_done=done, parent=self,
                               on_cancel=lambda: self.status.setText(_("Printing was cancelled.")))

        self._with_fresh_result(go)
