"""Meeting forms: 会议记录 (minutes), 表决票 (paper ballots), 民事办理回执 (receipt for the resident).

Plain data in, PDF bytes out. The notice (会议通知), sign-in sheet (签到表) and the postings
(决议公示 / 办理结果公示) reuse printouts.notice and printouts.tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from i18n import N_, _
from printouts.data import chinese_date
from printouts.fonts import HEI, PrintError, markup
from printouts.household import _heading, _kv_table
from printouts.layout import FORM, CancelledFn, ProgressFn, build_pdf, styles
from printouts.tables import CellMaker, _grid_style, needed_height


@dataclass
class MotionLine:
    title: str
    method: str = ""
    votes_for: str = ""
    votes_against: str = ""
    votes_abstain: str = ""
    result: str = ""
    reason: str = ""
    # A motion with several options: one line each (label, votes_for, votes_against, votes_abstain, result).
    options: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ResolutionLine:
    text: str
    owner: str = ""
    deadline: str = ""


@dataclass
class MinutesData:
    """会议记录: name, date, time, place, chair, recorder, attendance, agenda, votes, resolutions."""

    title: str
    kind: str = ""
    date: str = ""
    time: str = ""  # 19:00-20:30
    place: str = ""
    chair: str = ""
    recorder: str = ""
    entitled: int = 0
    present: int = 0
    proxies: int = 0
    attending: list[str] = field(default_factory=list)  # 列席
    absent: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    present_names: list[str] = field(default_factory=list)
    quorum: str = ""  # the rule and whether it was met, in words
    agenda: list[tuple[str, str]] = field(default_factory=list)  # (title, main points)
    motions: list[MotionLine] = field(default_factory=list)
    resolutions: list[ResolutionLine] = field(default_factory=list)
    summary: str = ""


@dataclass
class BallotData:
    """表决票: one slip per voter, several slips a page, numbered."""

    meeting: str
    motion: str
    date: str = ""
    copies: int = 1
    names: list[str] = field(default_factory=list)  # pre-filled voter names (or blank slips)
    area: bool = False  # owners' ballots ask for the floor area
    options: list[str] = field(default_factory=list)  # a motion with options: for/against/abstain on each
    pick_one: bool = True  # with options: mark "for" on one option only


@dataclass
class ReceiptData:
    """民事办理回执: tells the resident who raised a matter what happened to it."""

    number: str
    raised_by: str
    raised_on: str
    title: str
    category: str = ""
    decision: str = ""
    owner: str = ""
    deadline: str = ""
    result: str = ""
    done_on: str = ""
    issuer: str = ""
    date: str = ""
    contact: str = ""


def _title(text: str) -> Paragraph:
    st = styles()
    return Paragraph(markup(text, st["form_title"].fontName, where=_("the title")), st["form_title"])


def _para(text: str, style: str = "form_info") -> Paragraph:
    st = styles()
    return Paragraph(markup(text, HEI, where=_("the minutes")), st[style])


def _names(names: list[str]) -> str:
    return "、".join(n for n in names if n) or _("none")


MOTION_COLUMNS = [(N_("Motion"), 34), (N_("Method"), 12), (N_("For"), 8), (N_("Against"), 8),
                  (N_("Abstain"), 8), (N_("Result"), 30)]
RESOLUTION_COLUMNS = [(N_("No."), 6), (N_("Resolution"), 54), (N_("Responsible person"), 20), (N_("Deadline"), 20)]


def _table(header: list[tuple[str, int]], rows: list[list[str]], *, where: str) -> Table:
    st = styles()
    total = sum(w for _h, w in header)
    widths = [FORM.block_w * w / total for _h, w in header]
    cell = CellMaker(st["cell"], where=where)
    data: list[list] = [[_(h) for h, _w in header]]
    for r, values in enumerate(rows, 1):
        data.append([cell(v, w, row=r, column=_(h)) for v, w, (h, _x) in zip(values, widths, header, strict=True)])
    heights = [8 * mm] + [max(8 * mm, needed_height(row, widths)) for row in data[1:]]
    table = Table(data, colWidths=widths, rowHeights=heights, repeatRows=1)
    table.setStyle(TableStyle(_grid_style(10.5, 13.5)))
    return table


def minutes_story(data: MinutesData) -> list:
    if not data.title.strip():
        raise PrintError(_("The minutes need the meeting's name."))
    absent = [f"{n}（{r}）" if r else n for n, r in data.absent]
    attendance = _("Expected {e}, present {p} (of them {x} by proxy), attending without vote {a}, absent {b}").format(
        e=data.entitled, p=data.present + data.proxies, x=data.proxies, a=len(data.attending), b=len(data.absent))
    story: list = [
        _title(_("Minutes of the meeting")),
        _kv_table([
            (_("Meeting"), data.title, _("Kind"), data.kind),
            (_("Date"), chinese_date(data.date), _("Time"), data.time),
            (_("Place"), data.place),
            (_("Chair"), data.chair, _("Recorder"), data.recorder),
            (_("Attendance"), attendance),
            (_("Quorum"), data.quorum),
            (_("Present"), _names(data.present_names)),
            (_("Attending (列席)"), _names(data.attending)),
            (_("Absent, with reason"), _names(absent)),
        ]),
        Spacer(1, 6),
    ]
    story.append(_heading(_("Agenda and main points")))
    if data.agenda:
        for i, (title, notes) in enumerate(data.agenda, 1):
            story.append(_para(f"{i}. {title}"))
            if notes:
                story.append(_para("　　" + notes))
    else:
        story.append(_para(_("(none recorded)")))
    if data.summary:
        story.append(_para("　　" + data.summary))
    story.append(Spacer(1, 6))
    story.append(_heading(_("Votes")))
    if data.motions:
        rows = []
        for m in data.motions:
            rows.append([m.title, m.method, m.votes_for, m.votes_against, m.votes_abstain, m.reason or m.result])
            for i, o in enumerate(m.options, 1):
                rows.append([f"　{i}. {o['label']}", "", o["votes_for"], o["votes_against"], o["votes_abstain"],
                             o["result"]])
        story.append(_table(MOTION_COLUMNS, rows, where=_("the votes table")))
    else:
        story.append(_para(_("(no votes)")))
    story.append(Spacer(1, 6))
    story.append(_heading(_("Resolutions")))
    if data.resolutions:
        rows = [[str(i), r.text, r.owner, chinese_date(r.deadline)] for i, r in enumerate(data.resolutions, 1)]
        story.append(_table(RESOLUTION_COLUMNS, rows, where=_("the resolutions table")))
    else:
        story.append(_para(_("(no resolutions)")))
    story.append(Spacer(1, 14))
    # Two lines, so the date is never split after its 月 on an A4 page.
    sign = [_("Chair (signature): ＿＿＿＿＿＿＿＿　　Recorder (signature): ＿＿＿＿＿＿＿＿"),
            _("Date: ＿＿＿＿年＿＿月＿＿日")]
    story.append(KeepTogether([_para(line, "footer") for line in sign]))
    return story


def minutes_pdf(data: MinutesData | list[MinutesData], *, progress: ProgressFn | None = None,
                cancelled: CancelledFn | None = None) -> bytes:
    items = data if isinstance(data, list) else [data]
    story: list = []
    for i, item in enumerate(items):
        if i:
            story.append(PageBreak())
        story.extend(minutes_story(item))
    return build_pdf(story, geometry=FORM, title=_("Minutes: {meeting}").format(meeting=items[0].title),
                     page_numbers=True, progress=progress, cancelled=cancelled)


# -- 表决票 ---------------------------------------------------------------------------------------

SLIPS_PER_PAGE = 3


def _ballot(data: BallotData, number: int, name: str) -> Table:
    st = styles()
    w = FORM.block_w
    head = CellMaker(st["cell_head"], where=_("the ballot"))
    cell = CellMaker(st["cell"], where=_("the ballot"))
    box = "□"
    choices = f"{box} {_('For')}　　{box} {_('Against')}　　{box} {_('Abstain')}"
    rows = [
        [head(_("Ballot"), w), "", "", ""],
        [_("Meeting"), cell(data.meeting, w * 0.5), _("No."), f"{number:03d}"],
        [_("Motion"), cell(data.motion, w * 0.8), "", ""],
        [_("Voter"), name or "", _("Floor area (m²)") if data.area else _("Date"),
         "" if data.area else chinese_date(data.date)],
    ]
    if data.options:
        hint = _("Mark “for” on one option only.") if data.pick_one else _("Mark each option.")
        rows.append([_("Your vote"), cell(hint, w * 0.8), "", ""])
        for i, label in enumerate(data.options, 1):
            rows.append([f"{i}.", cell(label, w * 0.5), choices, ""])
    else:
        rows.append([_("Your vote"), choices.replace("　　", "　　　"), "", ""])
    rows.append([_("Signature"), "", "", ""])
    last = len(rows) - 1
    widths = [w * 0.16, w * 0.5, w * 0.16, w * 0.18]
    heights = [10 * mm, max(9 * mm, needed_height(rows[1], widths)),
               max(9 * mm, needed_height([rows[2][1]], [w * 0.84])), 9 * mm]
    style = _grid_style(10.5, 13.5)
    style += [("SPAN", (0, 0), (3, 0)), ("SPAN", (1, 2), (3, 2)), ("SPAN", (1, last), (3, last))]
    if data.options:
        heights.append(8 * mm)
        style.append(("SPAN", (1, 4), (3, 4)))
        for r in range(5, last):
            heights.append(max(9 * mm, needed_height([rows[r][1]], [w * 0.5])))
            style += [("SPAN", (2, r), (3, r)), ("FONTSIZE", (2, r), (2, r), 11)]
    else:
        heights.append(11 * mm)
        style += [("SPAN", (1, 4), (3, 4)), ("FONTSIZE", (1, 4), (1, 4), 12)]
    heights.append(11 * mm)
    table = Table(rows, colWidths=widths, rowHeights=heights)
    table.setStyle(TableStyle(style))
    return table


def ballot_pdf(data: BallotData | list[BallotData], *, progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> bytes:
    """Slips of every motion, numbered from 001, three a page with a cutting gap between them."""
    items = data if isinstance(data, list) else [data]
    story: list = []
    on_page = 0
    for item in items:
        if not item.motion.strip():
            raise PrintError(_("A ballot needs the motion to vote on."))
        # A slip with options is taller: fewer a page, and a slip is never cut by a page break.
        per_page = SLIPS_PER_PAGE if not item.options else 2 if len(item.options) <= 4 else 1
        names = item.names or [""] * max(1, item.copies)
        for i, name in enumerate(names, 1):
            gap: list = []
            if on_page >= per_page:
                story.append(PageBreak())
                on_page = 0
            elif on_page:
                gap = [Spacer(1, 6 * mm),
                       _para("- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -"),
                       Spacer(1, 4 * mm)]
            story.append(KeepTogether([*gap, _ballot(item, i, name)]))
            on_page += 1
    return build_pdf(story, geometry=FORM, title=_("Ballot: {motion}").format(motion=items[0].motion),
                     progress=progress, cancelled=cancelled)


# -- 民事办理回执 -----------------------------------------------------------------------------------

def receipt_pdf(data: ReceiptData | list[ReceiptData], *, progress: ProgressFn | None = None,
                cancelled: CancelledFn | None = None) -> bytes:
    items = data if isinstance(data, list) else [data]
    story: list = []
    for i, d in enumerate(items):
        if i:
            story.append(PageBreak())
        story += [
            _title(_("Receipt: how your matter was handled")),
            _para(_("No. {number}").format(number=d.number)),
            Spacer(1, 4),
            _kv_table([
                (_("Raised by"), d.raised_by, _("Raised on"), chinese_date(d.raised_on)),
                (_("Matter"), d.title),
                (_("Category"), d.category),
                (_("Decision"), d.decision or _("(not yet decided)")),
                (_("Carried out by"), d.owner, _("Deadline"), chinese_date(d.deadline)),
                (_("Result"), d.result or _("(in progress)")),
                (_("Done on"), chinese_date(d.done_on)),
                (_("Your evaluation"), "□ 满意　　□ 基本满意　　□ 不满意"),
                (_("Comments"), ""),
            ], min_heights={8: 25 * mm}),
            Spacer(1, 10),
            _para(_("Contact: {contact}").format(contact=d.contact) if d.contact else ""),
            Spacer(1, 10),
            _para(f"{d.issuer}　　{chinese_date(d.date)}", "footer"),
        ]
    return build_pdf(story, geometry=FORM, title=_("Receipt: how your matter was handled"),
                     progress=progress, cancelled=cancelled)
