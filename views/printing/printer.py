"""Sending a finished PDF to a printer through Qt: QPdfDocument renders each page into QPrinter.

Works off the GUI thread (QPainter on a QPrinter is allowed in worker threads): the worker makes
its own QPdfDocument from the PDF bytes, so the preview's document is never shared.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QMarginsF, QRect, QSize, Qt
from PySide6.QtGui import QImage, QImageReader, QImageWriter, QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

from db.errors import Cancelled, GridDeskError
from i18n import _

MAX_DPI = 300


def load_image_plugins() -> None:
    """Load Qt's image-format plugins on the GUI thread, before any worker paints an image.

    The first QPainter.drawImage into a PDF printer loads them, and a plugin loaded on a worker
    is moved to the GUI thread under a Qt lock while the worker keeps Python's GIL: if the GUI
    thread then waits for the GIL inside Qt (a signal disconnect calling back into Python), both
    wait forever. Loaded here first, later loads find them in place and take no lock.
    """
    QImageWriter.supportedImageFormats()
    QImageReader.supportedImageFormats()


def prepare_printer(printer: QPrinter, pdf: bytes | None = None, *, title: str = "") -> None:
    """A4 without margins (the PDF has its own), orientation of the PDF's first page.

    Call it on the GUI thread: it also loads Qt's image plugins there (load_image_plugins).
    """
    load_image_plugins()
    landscape = False
    if pdf:
        doc, _buffer = _open(pdf)
        if doc.pageCount():
            size = doc.pagePointSize(0)
            landscape = size.width() > size.height()
    orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    printer.setFullPage(True)
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orientation, QMarginsF(0, 0, 0, 0)))
    if title:
        printer.setDocName(title)


def _open(pdf: bytes) -> tuple[QPdfDocument, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QBuffer.OpenModeFlag.ReadOnly)
    doc = QPdfDocument()
    doc.load(buffer)
    if doc.status() != QPdfDocument.Status.Ready:
        raise GridDeskError(_("The PDF could not be opened for printing ({error}).").format(error=doc.error()))
    return doc, buffer


def _on_white(image: QImage) -> QImage:
    """QtPdf renders onto a transparent background; printers and PDF filters want opaque paper."""
    paper = QImage(image.size(), QImage.Format.Format_RGB32)
    paper.fill(Qt.GlobalColor.white)
    p = QPainter(paper)
    p.drawImage(0, 0, image)
    p.end()
    return paper


def print_pdf(pdf: bytes, printer: QPrinter, *, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None, page_range: tuple[int, int] | None = None) -> int:
    """Render every page of pdf into printer; returns the number of pages sent.

    page_range is (first, last), 1-based, as chosen in the print dialog. Raises Cancelled (the
    job is aborted, nothing is printed) when cancelled() turns true.
    """
    doc, buffer = _open(pdf)
    count = doc.pageCount()
    first, last = page_range or (1, count)
    first, last = max(1, first), min(count, last or count)
    pages = list(range(first - 1, last))
    painter = QPainter()
    if not painter.begin(printer):
        raise GridDeskError(_("The printer “{name}” could not be started.").format(name=printer.printerName()))
    try:
        target = printer.paperRect(QPrinter.Unit.DevicePixel).toRect()
        for n, index in enumerate(pages):
            if cancelled is not None and cancelled():
                printer.abort()
                raise Cancelled(_("Printing was cancelled."))
            if n:
                printer.newPage()
            size = doc.pagePointSize(index)
            scale = min(target.width() / size.width(), target.height() / size.height())
            box = QSize(round(size.width() * scale), round(size.height() * scale))
            # A 1200 dpi printer would need a 560 MB image per A4 page: render at most MAX_DPI and
            # let the printer scale it up.
            dpi = min(printer.resolution(), MAX_DPI)
            pixels = QSize(round(size.width() * dpi / 72), round(size.height() * dpi / 72))
            image = doc.render(index, pixels)
            if image.isNull():
                raise GridDeskError(_("Page {n} could not be rendered for printing.").format(n=index + 1))
            painter.drawImage(QRect(target.topLeft(), box), _on_white(image))
            if progress is not None:
                progress(n + 1, len(pages))
    finally:
        if painter.isActive():
            painter.end()
        buffer.close()
    return len(pages)
