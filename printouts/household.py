"""Forms about one household: 入户登记表 (household and members) and 入户走访记录 (a home visit)."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from db.errors import Cancelled
from i18n import N_, _
from printouts.data import HouseholdFormData, VisitRecordData, chinese_date
from printouts.fonts import HEI, markup
from printouts.layout import FORM, CancelledFn, ProgressFn, build_pdf, styles
from printouts.tables import PAD, CellMaker, fit_titles, masked, needed_height, title_lines

LABEL_BG = colors.HexColor("#f0f0f0")
BLANK_DATE = "＿＿＿＿年＿＿月＿＿日"


def _kv_table(rows: list[tuple], *, min_heights: dict[int, float] | None = None) -> Table:
    """A label/value grid, four cells wide. A row is (label, value, label, value) or
    (label, value) spanning the three right cells."""
    st = styles()
    total = FORM.block_w
    widths = [total * 0.17, total * 0.33, total * 0.17, total * 0.33]
    label_cell = CellMaker(st["cell_head"], where=_("the form"))

    def label(text, width):
        return label_cell(title_lines(text, width, HEI, 10.5), width)

    value = CellMaker(st["cell"], where=_("the form"))
    data: list[list] = []
    style = [
        ("FONTNAME", (0, 0), (-1, -1), HEI),
        ("FONTSIZE", (0, 0), (-1, -1), 10.5),
        ("LEADING", (0, 0), (-1, -1), 13.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("BACKGROUND", (0, 0), (0, -1), LABEL_BG),
        ("ALIGN", (0, 0), (0, -1), "CENTER"),
    ]
    heights = []
    for i, row in enumerate(rows):
        if len(row) == 2:
            cells = [
                label(row[0], widths[0]),
                value(row[1], sum(widths[1:]), row=i + 1, column=row[0]),
                "",
                "",
            ]
            style.append(("SPAN", (1, i), (3, i)))
            need = needed_height([cells[1]], [sum(widths[1:])])
            if min_heights and i in min_heights:
                style.append(("VALIGN", (1, i), (1, i), "TOP"))
        else:
            cells = [
                label(row[0], widths[0]),
                value(row[1], widths[1], row=i + 1, column=row[0]),
                label(row[2], widths[2]),
                value(row[3], widths[3], row=i + 1, column=row[2]),
            ]
            style.append(("BACKGROUND", (2, i), (2, i), LABEL_BG))
            style.append(("ALIGN", (2, i), (2, i), "CENTER"))
            need = needed_height(cells, widths)
        heights.append(max(9 * mm, need, (min_heights or {}).get(i, 0)))
        data.append(cells)
    table = Table(data, colWidths=widths, rowHeights=heights)
    table.setStyle(TableStyle(style))
    return table


def _heading(text: str) -> Paragraph:
    st = styles()
    return Paragraph(markup(text, HEI), st["form_info"])


# -- 入户登记表 -----------------------------------------------------------------------------------

# Every column as wide as its title and its values at 9 pt (IDs and phone numbers on one line):
# 人员类型 and 人户状态 sit in the second table, where there is room.
MEMBER_COLUMNS = [
    (N_("No."), 6),
    (N_("Name"), 11),
    (N_("Relation to head"), 13),
    (N_("Sex"), 7),
    (N_("Ethnicity"), 7),
    (N_("ID number"), 23),
    (N_("Date of birth"), 14),
    (N_("Telephone"), 15),
]
MORE_COLUMNS = [
    (N_("Name"), 11),
    (N_("Person type"), 10),
    (N_("Residence status"), 10),
    (N_("Political status"), 10),
    (N_("Education"), 10),
    (N_("Employer / occupation"), 22),
    (N_("Special groups"), 22),
]


def _member_table(header: list[str], rows: list[list[str]], weights: list[int], blank_rows: int) -> Table:
    st = styles()
    total = sum(weights)
    widths = fit_titles(header, [FORM.block_w * w / total for w in weights], HEI, 9, values=rows)
    head = CellMaker(_small_head_style(), where=_("the members table"))
    cell = CellMaker(st["cell_small"], where=_("the members table"))
    data: list[list] = [[head(title_lines(h, w, HEI, 9), w) for h, w in zip(header, widths, strict=True)]]
    for r, values in enumerate(rows, 1):
        data.append([cell(v, w, row=r, column=h) for v, w, h in zip(values, widths, header, strict=True)])
    data.extend([[""] * len(header) for _i in range(blank_rows)])
    heights = [max(8 * mm, needed_height(row, widths)) for row in data]
    table = Table(data, colWidths=widths, rowHeights=heights, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), HEI),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("LEADING", (0, 0), (-1, -1), 11.5),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
                ("BACKGROUND", (0, 0), (-1, 0), LABEL_BG),
            ]
        )
    )
    return table


def household_story(data: HouseholdFormData) -> list:
    st = styles()
    full = data.show_full
    place = "".join(x for x in (data.building, data.unit, data.door) if x)
    owner = "　".join(x for x in (data.owner_name, masked(data.owner_phone, "phone", full)) if x)
    info = _kv_table(
        [
            (_("Household no."), data.number, _("Grid"), data.grid),
            (_("Compound"), data.compound, _("Building / unit / door"), place),
            (_("Address"), data.address),
            (_("Use of the dwelling"), data.house_use, _("Owner / telephone"), owner),
            (_("Notes"), data.notes),
        ]
    )
    members = [
        [
            str(i),
            m.name,
            m.relation,
            m.sex,
            m.ethnicity,
            (f"{m.id_type}：" if m.id_type and m.id_type != "居民身份证" else "")
            + masked(m.id_number, "id", full),
            m.birth_date,
            masked(m.phone, "phone", full),
        ]
        for i, m in enumerate(data.members, 1)
    ]
    more = [[m.name, m.person_type, m.residence_status, m.political_status, m.education, m.employer, m.tags]
            for m in data.members]
    sign = "　　".join(
        [
            _("Registered by: {blank}").format(blank="＿＿＿＿＿＿"),
            _("Head of household: {blank}").format(blank="＿＿＿＿＿＿"),
            _("Date: {date}").format(date=BLANK_DATE),
        ]
    )
    # The whole page: room for members added by hand, the visit's notes, and the community's seal.
    blank_members = max(1, 5 - len(data.members))
    community = data.community or "＿＿＿＿＿＿＿＿"
    return [
        Paragraph(markup(_("Household registration form"), st["form_title"].fontName), st["form_title"]),
        Paragraph(markup(_("Community: {community}").format(community=community), HEI), st["form_info"]),
        Spacer(1, 6),
        _heading(_("Basic household information")),
        info,
        Spacer(1, 8),
        _heading(_("Members ({n})").format(n=len(data.members))),
        _member_table([_(h) for h, _w in MEMBER_COLUMNS], members, [w for _h, w in MEMBER_COLUMNS], blank_members),
        Spacer(1, 8),
        _heading(_("Further information on the members")),
        _member_table([_(h) for h, _w in MORE_COLUMNS], more, [w for _h, w in MORE_COLUMNS], blank_members),
        Spacer(1, 8),
        _kv_table([(_("Situation and requests"), "")], min_heights={0: 22 * mm}),
        Spacer(1, 14),
        KeepTogether([
            Paragraph(markup(sign, HEI), st["footer"]),
            Spacer(1, 10),
            Paragraph(markup(_("{community} residents' committee (seal)").format(
                community=data.community or "＿＿＿＿＿＿"), HEI), _seal_style()),
        ]),
    ]


def household_pdf(
    data: HouseholdFormData | list[HouseholdFormData],
    *,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> bytes:
    """One 入户登记表, or a batch (every household of a building), each starting a new page."""
    return _batch_pdf(data, household_story, _("Household registration form"), progress, cancelled)


def _batch_pdf(data, story_of, title: str, progress: ProgressFn | None, cancelled: CancelledFn | None) -> bytes:
    """One form or a batch of them, each starting on a new page; cancellable between forms."""
    items = data if isinstance(data, list) else [data]
    story: list = []
    for i, item in enumerate(items):
        if cancelled is not None and cancelled():
            raise Cancelled(_("Printing was cancelled."))
        if i:
            story.append(PageBreak())
        story.extend(story_of(item))
    return build_pdf(story, geometry=FORM, title=title, progress=progress, cancelled=cancelled)


# -- 入户走访记录 ---------------------------------------------------------------------------------


def visit_story(data: VisitRecordData) -> list:
    st = styles()
    full = data.show_full
    if data.not_home:
        met = _("Nobody at home") + (f"（{data.met}）" if data.met else "")
    else:
        met = data.met
    head = "　".join(x for x in (data.head, masked(data.phone, "phone", full)) if x)
    tall = 32 * mm
    table = _kv_table(
        [
            (_("Visit date"), chinese_date(data.visit_date) or BLANK_DATE, _("Visitor"), data.visitor),
            (_("Address"), data.address),
            (_("Household no."), data.household_number, _("Head / telephone"), head),
            (_("Received by"), met, _("Follow-up date"), chinese_date(data.follow_up_date)),
            (_("Purpose"), data.purpose),
            (_("Situation"), data.situation),
            (_("Requests"), data.requests),
            (_("Outcome"), data.outcome),
        ],
        min_heights={4: 18 * mm, 5: tall, 6: tall, 7: tall},
    )
    sign = "　　".join(
        [
            _("Visitor's signature: {blank}").format(blank="＿＿＿＿＿＿"),
            _("Resident's signature: {blank}").format(blank="＿＿＿＿＿＿"),
        ]
    )
    return [
        Paragraph(markup(_("Home visit record"), st["form_title"].fontName), st["form_title"]),
        Spacer(1, 10),
        table,
        Spacer(1, 18),
        Paragraph(markup(sign, HEI), st["footer"]),
    ]


def visit_pdf(
    data: VisitRecordData | list[VisitRecordData],
    *,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> bytes:
    """One 入户走访记录, or a batch, each starting a new page."""
    return _batch_pdf(data, visit_story, _("Home visit record"), progress, cancelled)


def _seal_style():
    """Right-aligned, with room above for the community's seal (never drawn: GB/T 9704 habit)."""
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    footer = styles()["footer"]
    return ParagraphStyle("seal", parent=footer, alignment=TA_RIGHT, spaceBefore=12 * mm, rightIndent=8 * mm)


def _small_head_style():
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    return ParagraphStyle("cell_small_head", parent=styles()["cell_small"], alignment=TA_CENTER)
