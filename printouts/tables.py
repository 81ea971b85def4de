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


# -- column titles that never break inside a word ---------------------------------------------------
# 门/牌, 电/话, 与户/主关/系 read badly: a title breaks only after a "/", and a column is at least as
# wide as the longest piece of its title.
HEAD_SLACK = 6.5  # right indent of the cell styles (hanging punctuation) and rounding, pt


def _title_pieces(text: str) -> list[str]:
    pieces, piece = [], ""
    for ch in text:
        piece += ch
        if ch in "/／":
            pieces.append(piece)
            piece = ""
    if piece:
        pieces.append(piece)
    return pieces


def title_width(text: str, face: str, size: float) -> float:
    """The narrowest box a title fits in without a break inside a piece."""
    return max((stringWidth(p, face, size) for p in _title_pieces(text)), default=0) + 2 * PAD + HEAD_SLACK


def title_lines(text: str, width: float, face: str, size: float) -> str:
    """The title with explicit line breaks after "/" wherever it does not fit on one line."""
    room = width - 2 * PAD - HEAD_SLACK
    lines, line = [], ""
    for piece in _title_pieces(text):
        if line and stringWidth(line + piece, face, size) > room:
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    return "\n".join(lines)


def fit_titles(titles: list[str], widths: list[float], face: str, size: float, *,
               values: list[list[str]] | None = None, value_size: float = 9) -> list[float]:
    """Widen columns narrower than their titles, taking the room from the others (same total).
    values (rows of cell texts): a column is not narrowed below its longest value either."""
    need = [title_width(t, face, size) for t in titles]
    if values:
        for i in range(len(titles)):
            longest = max((stringWidth(str(row[i] or ""), face, value_size) for row in values if i < len(row)),
                          default=0)
            need[i] = max(need[i], min(longest + 2 * PAD + HEAD_SLACK, widths[i]))
    widths = list(widths)
    total = sum(widths)
    for _round in range(3):
        short = [i for i, w in enumerate(widths) if w < need[i]]
        if not short:
            break
        extra = sum(need[i] - widths[i] for i in short)
        for i in short:
            widths[i] = need[i]
        donors = [i for i in range(len(widths)) if i not in short and widths[i] > need[i]]
        spare = sum(widths[i] - need[i] for i in donors)
        if spare <= 0:
            break
        for i in donors:
            widths[i] -= extra * (widths[i] - need[i]) / spare
    scale = total / sum(widths)
    return [w * scale for w in widths]


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

SIGNIN_COLUMNS = [  # (title, weight): the signature gets the widest box, for a handwritten name
    (N_("No."), 6),
    (N_("Name"), 12),
    (N_("Building / unit"), 20),
    (N_("Position"), 9),
    (N_("Telephone"), 16),
    (N_("Signature"), 25),
    (N_("Remarks"), 8),
]


def signin_story(data: SigninData) -> list:
    st = styles()
    if not data.meeting.strip():
        raise PrintError(_("A sign-in sheet needs the meeting's name."))
    geometry = FORM
    title = data.title or _("Sign-in sheet: {meeting}").format(meeting=data.meeting)
    blank_line = "＿＿＿＿＿＿＿＿"
    if data.header is not None:
        info_lines = [x for x in data.header if x]  # a sheet of its own (e.g. a volunteer activity's): one line each
    else:
        # One line per item (never a break inside the meeting's name in the middle of the line), and
        # lines for the host and the date, filled in by hand when not given.
        info_lines = [_("Meeting: {meeting}").format(meeting=data.meeting)]
        info_lines.append("　　".join(x for x in (
            _("Time: {time}").format(time=data.time or blank_line),
            _("Place: {place}").format(place=data.place or blank_line)) if x))
        info_lines.append("　　".join((
            _("Host: {host}").format(host=getattr(data, "host", "") or blank_line),
            _("Meeting date: {date}").format(date=getattr(data, "date", "") or "＿＿＿＿年＿＿月＿＿日"))))
    titles = [_(t) for t, _w in SIGNIN_COLUMNS]
    titles[2] = data.unit_title or titles[2]
    titles[3] = data.role_title or titles[3]
    cols = [Column(t, w) for t, (_t, w) in zip(titles, SIGNIN_COLUMNS, strict=True)]
    prefilled = [["", p.name, p.unit, p.role, masked(p.phone, "phone", data.show_full), "", p.note]
                 for p in data.people]
    widths = fit_titles([c.title for c in cols], _widths(cols, geometry.block_w), HEI, 10.5, values=prefilled,
                        value_size=10.5)
    cell = CellMaker(st["cell"], where=_("the sign-in sheet"))
    rows: list[list] = [[title_lines(t, w, HEI, 10.5) for t, w in zip(titles, widths, strict=True)]]
    head = CellMaker(st["cell_head"], where=_("the sign-in sheet"))
    rows[0] = [head(t, w) for t, w in zip(rows[0], widths, strict=True)]
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
    heights = [max(9 * mm, needed_height(rows[0], widths))] + [max(10 * mm, needed_height(r, widths))
                                                                for r in rows[1:]]
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
        *[Paragraph(markup(line, HEI, where=_("the header")), st["form_info"]) for line in info_lines],
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
    widths = fit_titles([c.title for c in data.columns], _widths(data.columns, geometry.block_w), HEI, 10.5)
    head_cell = CellMaker(st["cell_head"], where=_("the header row"))
    cell = CellMaker(st["cell_small"], where=_("the list"))
    header = [head_cell(title_lines(c.title, w, HEI, 10.5), w) for c, w in zip(data.columns, widths, strict=True)]
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
