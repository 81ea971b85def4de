"""Page geometry, paragraph styles and the document builder shared by every form.

Official layout after GB/T 9704-2012: A4, top margin 37 mm, left margin 28 mm, text block
156 x 225 mm; title 22 pt (二号) centred, Song face (小标宋-style); body 16 pt (三号) in the FangSong
face (仿宋), 22 lines to the page; headings 一、 黑体, （一） 楷体, 1. 仿宋; issuer and date 仿宋.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from reportlab.lib import textsplit as _rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate
from reportlab.platypus import paragraph as _rl_paragraph

from db.errors import Cancelled
from i18n import _
from printouts.fonts import FANG, FANG_GRID, GRID_PITCH, HEI, KAI, SONG, register_fonts, single_face

# Chinese line-start rule (GB/T 15834 标点符号用法): closing marks never begin a line. reportlab's
# CJK wrap hangs a mark from ALL_CANNOT_START at the line end instead of carrying it over, but its
# list is Japanese and lacks most full-width Chinese marks. Both wrap paths (textsplit.dumbSplit
# for one-font paragraphs, paragraph.cjkFragSplit for mixed ones) read their module's global.
_CHINESE_CANNOT_START = "，。、：；！？）》」』】〕〉”’…·～%,.:;!?)]}"
for _module in (_rl_textsplit, _rl_paragraph):
    _module.ALL_CANNOT_START = _module.ALL_CANNOT_START + "".join(
        ch for ch in _CHINESE_CANNOT_START if ch not in _module.ALL_CANNOT_START)

PAGE_W, PAGE_H = A4
TOP_MARGIN = 37 * mm
LEFT_MARGIN = 28 * mm
BLOCK_W = 156 * mm
BLOCK_H = 225 * mm
TITLE_PT = 22
BODY_PT = 16
BODY_LEADING = BLOCK_H / 22  # 22 lines to the text block
INDENT = 2 * BODY_PT * GRID_PITCH / 1000  # two characters on the official grid

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


@dataclass(frozen=True)
class PageGeometry:
    width: float
    height: float
    left: float
    top: float
    block_w: float
    block_h: float

    @property
    def right(self) -> float:
        return self.width - self.left - self.block_w

    @property
    def bottom(self) -> float:
        return self.height - self.top - self.block_h


OFFICIAL = PageGeometry(PAGE_W, PAGE_H, LEFT_MARGIN, TOP_MARGIN, BLOCK_W, BLOCK_H)
# Tables and forms: same A4 page, somewhat wider block so seven columns fit.
FORM = PageGeometry(PAGE_W, PAGE_H, 20 * mm, 20 * mm, PAGE_W - 40 * mm, PAGE_H - 20 * mm - 22 * mm)
LW, LH = landscape(A4)
FORM_LANDSCAPE = PageGeometry(LW, LH, 15 * mm, 15 * mm, LW - 30 * mm, LH - 15 * mm - 18 * mm)


def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles; every one breaks lines the Chinese way (wordWrap='CJK')."""
    register_fonts()
    base = dict(wordWrap="CJK", allowWidows=1, allowOrphans=1)
    return {
        "title": ParagraphStyle("title", fontName=SONG, fontSize=TITLE_PT, leading=TITLE_PT * 1.5,
                                alignment=TA_CENTER, spaceAfter=BODY_LEADING - TITLE_PT * 0.5, **base),
        "addressee": ParagraphStyle("addressee", fontName=FANG_GRID, fontSize=BODY_PT, leading=BODY_LEADING,
                                    alignment=TA_LEFT, **base),
        "body": ParagraphStyle("body", fontName=FANG_GRID, fontSize=BODY_PT, leading=BODY_LEADING,
                               firstLineIndent=INDENT, alignment=TA_JUSTIFY, **base),
        "h1": ParagraphStyle("h1", fontName=HEI, fontSize=BODY_PT, leading=BODY_LEADING,
                             firstLineIndent=INDENT, **base),
        "h2": ParagraphStyle("h2", fontName=KAI, fontSize=BODY_PT, leading=BODY_LEADING,
                             firstLineIndent=INDENT, **base),
        "h3": ParagraphStyle("h3", fontName=FANG_GRID, fontSize=BODY_PT, leading=BODY_LEADING,
                             firstLineIndent=INDENT, alignment=TA_JUSTIFY, **base),
        "signature": ParagraphStyle("signature", fontName=FANG, fontSize=BODY_PT, leading=BODY_LEADING,
                                    alignment=TA_RIGHT, **base),
        "form_title": ParagraphStyle("form_title", fontName=SONG, fontSize=20, leading=28,
                                     alignment=TA_CENTER, spaceAfter=6, **base),
        "form_info": ParagraphStyle("form_info", fontName=HEI, fontSize=10.5, leading=15, **base),
        # In cells a closing mark that hangs past the line end (标点悬挂) must stay inside the box:
        # its ink is in the left half of the em, so half an em of right indent is enough.
        "cell": ParagraphStyle("cell", fontName=HEI, fontSize=10.5, leading=13.5, rightIndent=5.25, **base),
        "cell_small": ParagraphStyle("cell_small", fontName=HEI, fontSize=9, leading=11.5, rightIndent=4.5,
                                     **base),
        "cell_head": ParagraphStyle("cell_head", fontName=HEI, fontSize=10.5, leading=13.5,
                                    alignment=TA_CENTER, **base),
        "footer": ParagraphStyle("footer", fontName=HEI, fontSize=10.5, leading=16, **base),
    }


def _numbered_canvas(page_numbers: bool | str):
    """page_numbers: True for 第 N 页 共 M 页 under tables; "official" for GB/T 9704 page numbers
    (— N —, 14 pt, 7 mm below the text block, odd pages right and even pages left, one character
    in), drawn only when the document has more than one page; False for none."""

    class NumberedCanvas(Canvas):
        """Keeps each page until the end, so every page can know the page count."""

        def __init__(self, *args, **kwargs):
            # reportlab's default initial font is Helvetica, which would appear (not embedded)
            # in every page; start with an embedded face instead.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or HEI
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab API)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                if page_numbers == "official":
                    if total > 1:
                        self._draw_official_number()
                elif page_numbers:
                    self._draw_page_number(total)
                super().showPage()
            super().save()

        def _draw_page_number(self, total: int) -> None:
            text = _("Page {n} of {m}").format(n=self._pageNumber, m=total)
            face = single_face(text, HEI)
            width, _height = self._pagesize
            self.setFont(face, 9)
            self.drawCentredString(width / 2, 10 * mm, text)

        def _draw_official_number(self) -> None:
            n = self._pageNumber
            text = f"— {n} —"
            face = single_face(text, SONG)
            size = 14
            y = OFFICIAL.bottom - 7 * mm - size * 0.8
            self.setFont(face, size)
            if n % 2:
                self.drawRightString(OFFICIAL.left + OFFICIAL.block_w - size, y, text)
            else:
                self.drawString(OFFICIAL.left + size, y, text)

    return NumberedCanvas


def build_pdf(story: list, *, geometry: PageGeometry = OFFICIAL, title: str = "", author: str = "GridDesk",
              page_numbers: bool | str = False, on_page: Callable | None = None,
              progress: ProgressFn | None = None, cancelled: CancelledFn | None = None,
              expected_pages: int | None = None) -> bytes:
    """Lay out story on pages of the given geometry and return the PDF bytes.

    progress(done, total) reports flowables laid out (or pages, when expected_pages is given: a long
    table is one flowable); cancelled() is polled at every flowable and page and raises Cancelled.
    """
    register_fonts()
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=(geometry.width, geometry.height), title=title, author=author,
                          leftMargin=geometry.left, rightMargin=geometry.right,
                          topMargin=geometry.top, bottomMargin=geometry.bottom, creator="GridDesk")
    frame = Frame(geometry.left, geometry.bottom, geometry.block_w, geometry.block_h,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="block")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page or (lambda c, d: None))])
    total = [len(story)]

    def on_progress(kind: str, value: int) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled(_("Printing was cancelled."))
        if kind == "SIZE_EST":
            total[0] = value
        elif progress is None:
            return
        elif kind == "PROGRESS" and not expected_pages:
            progress(value, total[0])
        elif kind == "PAGE" and expected_pages:
            progress(value, max(expected_pages, value))

    doc.setProgressCallBack(on_progress)
    doc.build(story, canvasmaker=_numbered_canvas(page_numbers))
    return out.getvalue()
