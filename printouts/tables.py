"""Tabular forms: 签到表 (meeting sign-in sheet) and register lists of any length."""

from __future__ import annotations

import datetime as dt

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import LongTable, Paragraph, Spacer, Table, TableStyle

from db.validation import mask
from i18n import N_, _
from printouts.data import Column, RegisterListData, SigninData, chinese_date
from printouts.fonts import HEI, PrintError, cmap, markup
from printouts.layout import FORM, FORM_LANDSCAPE, CancelledFn, ProgressFn, build_pdf, styles

PAD = 3  # cell padding, pt


def masked(value: str | None, kind: str, show_full: bool) -> str:
    """A printed cell: db.validation.mask by the column's kind ("id", "phone"), never None."""
    return mask(kind, value, full=show_full) or ""


class CellMaker:
    """Turns text into a table cell: a plain string when it fits on one line in the table face
    (fast), else a Paragraph that wraps the Chinese way and borrows glyphs from another face."""

    def __init__(self, style, *, where: str):
        self.style = style
        self.face = style.fontName
        self.size = style.fontSize
        self.have = cmap(self.face)
        self.where = where

    def __call__(self, text: object, width: float, *, row: int | None = None, column: str = ""):
        text = "" if text is None else str(text)
        if not text:
            return ""
        have = self.have
        if (
            "\n" not in text
            and all(ord(ch) in have for ch in text)
            and stringWidth(text, self.face, self.size) <= width - 2 * PAD
        ):
            return text
        where = (
            self.where
            if row is None
            else _("row {row}, column “{column}” of {where}").format(row=row, column=column, where=self.where)
        )
        return Paragraph(markup(text, self.face, where=where), self.style)


def _grid_style(font_size: float, leading: float, *, header_rows: int = 1) -> list:
    return [
        ("FONTNAME", (0, 0), (-1, -1), HEI),
        ("FONTSIZE", (0, 0), (-1, -1), font_size),
        ("LEADING", (0, 0), (-1, -1), leading),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e8e8e8")),
        ("ALIGN", (0, 0), (-1, header_rows - 1), "CENTER"),
    ]


def _widths(columns: list[Column], total: float) -> list[float]:
    weight = sum(c.width for c in columns) or 1
    return [total * c.width / weight for c in columns]


def needed_height(row: list, widths: list[float]) -> float:
    """Height a row needs so that no wrapped cell overflows its box."""
    need = 0.0
    for value, width in zip(row, widths, strict=True):
        if isinstance(value, Paragraph):
            need = max(need, value.wrap(width - 2 * PAD, 10_000)[1] + 5 + 2)
    return need


# -- 签到表 ----------------------------------------------------------------------------------------

SIGNIN_COLUMNS = [  # (title, weight)
    (N_("No."), 7),
    (N_("Name"), 14),
    (N_("Building / unit"), 19),
    (N_("Position"), 12),
    (N_("Telephone"), 17),
    (N_("Signature"), 19),
    (N_("Remarks"), 12),
]


def signin_story(data: SigninData) -> list:
    st = styles()
    if not data.meeting.strip():
        raise PrintError(_("A sign-in sheet needs the meeting's name."))
    geometry = FORM
    title = data.title or _("Sign-in sheet: {meeting}").format(meeting=data.meeting)
    if data.header is not None:
        lines = [x for x in data.header if x]  # one line each
    else:
        lines = [
            "　　".join(
                x
                for x in (
                    _("Meeting: {meeting}").format(meeting=data.meeting),
                    _("Time: {time}").format(time=data.time) if data.time else "",
                    _("Place: {place}").format(place=data.place) if data.place else "",
                )
                if x
            )
        ]
    titles = [_(t) for t, _w in SIGNIN_COLUMNS]
    titles[2] = data.unit_title or titles[2]
    titles[3] = data.role_title or titles[3]
    cols = [Column(t, w) for t, (_t, w) in zip(titles, SIGNIN_COLUMNS, strict=True)]
    widths = _widths(cols, geometry.block_w)
    cell = CellMaker(st["cell"], where=_("the sign-in sheet"))
    rows: list[list] = [list(titles)]
    for i, person in enumerate(data.people, 1):
        values = [
            str(i),
            person.name,
            person.unit,
            person.role,
            masked(person.phone, "phone", data.show_full),
            "",
            person.note,
        ]
        rows.append([cell(v, w, row=i, column=c.title) for v, w, c in zip(values, widths, cols, strict=True)])
    for i in range(len(data.people) + 1, len(data.people) + data.blank_rows + 1):
        rows.append([str(i), "", "", "", "", "", ""])
    style = _grid_style(10.5, 13.5)
    style.append(("ALIGN", (0, 1), (0, -1), "CENTER"))
    # Room for a handwritten signature.
    heights = [9 * mm] + [max(10 * mm, needed_height(r, widths)) for r in rows[1:]]
    table = Table(rows, colWidths=widths, rowHeights=heights, repeatRows=1)
    table.setStyle(TableStyle(style))
    blank = "＿＿＿＿"
    footer = "　　　　".join(
        [
            _("Expected: {n} persons").format(n=len(data.people) if data.people else blank),
            _("Present: {n} persons").format(n=blank),
            _("Absent: {n} persons").format(n=blank),
        ]
    )
    return [
        Paragraph(markup(title, st["form_title"].fontName, where=_("the title")), st["form_title"]),
        *[Paragraph(markup(line, HEI, where=_("the header")), st["form_info"]) for line in lines],
        Spacer(1, 4),
        table,
        Spacer(1, 8),
        Paragraph(markup(footer, HEI, where=_("the footer")), st["footer"]),
    ]


def signin_pdf(
    data: SigninData, *, progress: ProgressFn | None = None, cancelled: CancelledFn | None = None
) -> bytes:
    title = data.title or _("Sign-in sheet: {meeting}").format(meeting=data.meeting)
    return build_pdf(
        signin_story(data),
        geometry=FORM,
        title=title,
        page_numbers=True,
        progress=progress,
        cancelled=cancelled,
    )


# -- register lists ------------------------------------------------------------------------------


def register_list_story(data: RegisterListData) -> list:
    st = styles()
    if not data.columns:
        raise PrintError(_("A list needs at least one column."))
    geometry = FORM_LANDSCAPE if data.landscape else FORM
    widths = _widths(data.columns, geometry.block_w)
    head_cell = CellMaker(st["cell_head"], where=_("the header row"))
    cell = CellMaker(st["cell_small"], where=_("the list"))
    header = [head_cell(c.title, w) for c, w in zip(data.columns, widths, strict=True)]
    rows: list[list] = [header]
    kinds = [c.kind for c in data.columns]
    for r, values in enumerate(data.rows, 1):
        if len(values) != len(data.columns):
            raise PrintError(
                _("Row {row} of the list has {got} values for {want} columns.").format(
                    row=r, got=len(values), want=len(data.columns)
                )
            )
        rows.append(
            [
                cell(masked(v, k, data.show_full) if k in ("id", "phone") else v, w, row=r, column=c.title)
                for v, k, w, c in zip(values, kinds, widths, data.columns, strict=True)
            ]
        )
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(_grid_style(9, 11.5)))
    subtitle = data.subtitle or ""
    count = _("{n} rows, printed {date}").format(n=len(data.rows), date=chinese_date(dt.date.today()))
    info = f"{subtitle}　　{count}" if subtitle else count
    return [
        Paragraph(markup(data.title, st["form_title"].fontName, where=_("the title")), st["form_title"]),
        Paragraph(markup(info, HEI, where=_("the header")), st["form_info"]),
        Spacer(1, 4),
        table,
    ]


def register_list_pdf(
    data: RegisterListData, *, progress: ProgressFn | None = None, cancelled: CancelledFn | None = None
) -> bytes:
    geometry = FORM_LANDSCAPE if data.landscape else FORM
    rows_per_page = int(geometry.block_h // 16)
    return build_pdf(
        register_list_story(data),
        geometry=geometry,
        title=data.title,
        page_numbers=True,
        progress=progress,
        cancelled=cancelled,
        expected_pages=max(1, -(-len(data.rows) // rows_per_page)),
    )
