"""The printing screen under pytest-qt: preview with QtPdf, save as PDF, batch jobs, full-number
consent and audit, and a real print through CUPS to the cups-pdf printer."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pdf_tools
import pytest
from print_fixtures import printing_screen
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QMessageBox

from db.models.register import AuditEntry
from desktop.tasks import TaskRunner


@pytest.fixture
def screen(qtbot, ctx):
    return printing_screen(ctx, qtbot, buildings=2, units=2, doors=3)


def test_preview_and_save_a_household_form(screen, tmp_path):
    panel = screen.select_form("household")
    assert panel.places.select("building", screen.ids["buildings"][0])
    assert panel.places.select("household", screen.ids["households"][1])
    screen.generate()
    assert screen.document.status() == QPdfDocument.Status.Ready
    assert screen.document.pageCount() == screen.result.pages >= 1
    assert "共 1 页" in screen.status.text()
    out = tmp_path / "form.pdf"
    screen.save_pdf(str(out))
    text = pdf_tools.text(out)
    assert "入户登记表" in text and "幸福里小区1栋1单元301室" in text
    assert AuditEntry.select().count() == 0


def test_batch_for_a_whole_building_is_one_job_with_progress(screen):
    panel = screen.select_form("household")
    panel.places.select("building", screen.ids["buildings"][1])
    panel.whole_building.setChecked(True)
    screen.generate()
    assert screen.result.records == 6 and screen.document.pageCount() >= 6
    assert screen.task.state.emitted >= 1 and screen.task.state.done == screen.task.state.total


def test_options_changed_after_preview_make_a_fresh_pdf(screen, tmp_path):
    panel = screen.select_form("notice")
    panel.title.setText("停水通知")
    panel.body.setPlainText("12月2日停水。")
    screen.generate()
    first = screen.result
    panel.title.setText("停电通知")
    out = tmp_path / "n.pdf"
    screen.save_pdf(str(out))
    assert screen.result is not first
    assert "停电通知" in pdf_tools.text(out)


def test_full_numbers_need_consent_and_are_audited(screen, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    screen.full.setChecked(True)
    assert not screen.full.isChecked()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    screen.full.setChecked(True)
    panel = screen.select_form("list")
    panel.kind.setCurrentIndex(panel.kind.findData("persons"))
    announced = []
    screen.ctx.events.sig_data_changed.connect(announced.extend)
    screen.generate()
    entry = AuditEntry.get()
    assert [c.table for c in announced] == ["audit_entry"] and announced[0].row_id == entry.id
    assert entry.user == "测试员" and entry.action == "print_unmasked" and "list" in entry.detail


def test_missing_options_are_reported_in_chinese(screen):
    screen.select_form("meeting-notice")
    screen.generate()
    assert screen.result is None
    assert "需要填写" in screen.ctx.errors.last_message
    assert "无法生成" in screen.status.text() or "未能" in screen.status.text()


def test_printing_runs_in_the_background_with_a_real_task_runner(screen, qtbot, tmp_path):
    runner = TaskRunner(screen.ctx.errors)
    screen.ctx.tasks = runner
    panel = screen.select_form("signin")
    panel.meeting.setText("楼栋会议")
    panel.places.select("building", screen.ids["buildings"][0])
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    screen.print_document(printer)  # makes the PDF on the writer thread, prints on the I/O pool
    qtbot.waitUntil(lambda: screen.last_printed_pages > 0, timeout=30_000)
    qtbot.waitUntil(lambda: not runner.active, timeout=10_000)
    assert screen.last_printed_pages == screen.result.pages == pdf_tools.pages(out)
    assert "已将" in screen.status.text()
    runner.shutdown()


def _cups_ready() -> bool:
    if os.geteuid() != 0 or not shutil.which("cupsd") or not shutil.which("lpadmin"):
        return False
    if subprocess.run(["lpstat", "-r"], capture_output=True, text=True).stdout.find("is running") < 0:
        subprocess.run(["cupsd"], check=False)
        for _i in range(50):
            if "is running" in subprocess.run(["lpstat", "-r"], capture_output=True, text=True).stdout:
                break
            time.sleep(0.1)
    if subprocess.run(["lpstat", "-p", "CUPS-PDF"], capture_output=True).returncode != 0:
        subprocess.run(["lpadmin", "-p", "CUPS-PDF", "-v", "cups-pdf:/", "-m",
                        "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd", "-E"], check=False, capture_output=True)
    return subprocess.run(["lpstat", "-p", "CUPS-PDF"], capture_output=True).returncode == 0


OUTPUT_DIRS = [Path("/root/PDF"), Path("/var/spool/cups-pdf/ANONYMOUS"), Path("/var/spool/cups-pdf/root")]


@pytest.mark.slow
def test_print_through_cups_to_the_cups_pdf_printer(screen):
    if not _cups_ready():
        pytest.skip("needs root and CUPS with the cups-pdf backend (scripts/install-system-deps.sh)")
    before = {p for d in OUTPUT_DIRS if d.is_dir() for p in d.glob("*.pdf")}
    panel = screen.select_form("household")
    panel.places.select("building", screen.ids["buildings"][0])
    panel.whole_building.setChecked(True)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPrinterName("CUPS-PDF")
    printer.setResolution(100)  # enough for a page-count check, quick to send
    screen.print_document(printer)
    expected = screen.result.pages
    assert screen.last_printed_pages == expected >= 6
    deadline = time.monotonic() + 60
    found = []
    while time.monotonic() < deadline and not found:
        time.sleep(0.5)
        found = [p for d in OUTPUT_DIRS if d.is_dir() for p in d.glob("*.pdf") if p not in before]
    assert found, "cups-pdf wrote no PDF"
    # Ghostscript in the cups-pdf filter loses the text of rendered pages: check pages, not text.
    for _i in range(20):
        try:
            if pdf_tools.pages(found[0]) == expected:
                break
        except subprocess.CalledProcessError:
            pass  # still being written
        time.sleep(0.5)
    assert pdf_tools.pages(found[0]) == expected
    found[0].unlink()


def test_print_a_page_range_and_cancel(qtbot, tmp_path):
    from db.errors import Cancelled
    from printouts.data import Column, RegisterListData
    from printouts.tables import register_list_pdf
    from views.printing.printer import prepare_printer, print_pdf

    pdf = register_list_pdf(RegisterListData(title="台账", columns=[Column("序号", 1), Column("姓名", 3)],
                                             rows=[[str(i), "某某"] for i in range(200)]))
    assert pdf_tools.pages(pdf) >= 4
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "range.pdf"
    printer.setOutputFileName(str(out))
    prepare_printer(printer, pdf)
    assert printer.pageLayout().orientation().name == "Landscape"
    seen = []
    assert print_pdf(pdf, printer, page_range=(2, 3), progress=lambda d, t: seen.append((d, t))) == 2
    assert pdf_tools.pages(out) == 2 and seen[-1] == (2, 2)
    other = QPrinter(QPrinter.PrinterMode.HighResolution)
    other.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    other.setOutputFileName(str(tmp_path / "cancelled.pdf"))
    with pytest.raises(Cancelled):
        print_pdf(pdf, other, cancelled=lambda: True)
