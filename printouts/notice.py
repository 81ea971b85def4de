"""Official notices in the GB/T 9704 layout: 会议通知 and free-text notices for stairwells."""

from __future__ import annotations

import re

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph

from i18n import _
from printouts.data import Block, MeetingNoticeData, NoticeData, chinese_date
from printouts.fonts import FANG, FANG_GRID, PrintError, draw_runs, markup, runs_width, text_runs
from printouts.layout import BODY_LEADING, BODY_PT, OFFICIAL, CancelledFn, ProgressFn, build_pdf, styles

CHINESE_NUMERALS = "一二三四五六七八九十"

_H1 = re.compile(r"^[一二三四五六七八九十]+、")
_H2 = re.compile(r"^（[一二三四五六七八九十]+）")
_H3 = re.compile(r"^\d+[.．、]")


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (一, 十一, 二十三)."""
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else CHINESE_NUMERALS[tens - 1]
    return head + "十" + (CHINESE_NUMERALS[ones - 1] if ones else "")


def blocks_from_text(text: str) -> list[Block]:
    """Split free text into paragraphs (one per non-empty line) and spot 一、/（一）/1. headings."""
    blocks = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if _H1.match(line):
            kind = "h1"
        elif _H2.match(line):
            kind = "h2"
        elif _H3.match(line):
            kind = "h3"
        else:
            kind = "para"
        blocks.append(_heading_block(kind, line))
    return blocks


def _heading_block(kind: str, line: str) -> Block:
    """GB/T 9704: only the heading itself is in the heading face (一、 黑体, （一） 楷体); what follows it
    on the same line (一、会议时间：…… or 一、总体要求。各单位……) stays in the body face."""
    if kind == "para":
        return Block(kind, line)
    for sep in ("：", ":", "。"):
        head, found, rest = line.partition(sep)
        if found and rest.strip() and len(head) <= 24:
            return Block(kind, head, rest.strip(), sep="：" if sep in "：:" else "。")
    return Block(kind, line)


def _is_addressee(line: str) -> bool:
    return len(line) <= 30 and line.endswith(("：", ":")) and "。" not in line


class SignatureBlock(Flowable):
    """Issuer centred over the date, the date four characters in from the right edge, with blank
    room above for the seal (GB/T 9704 7.3.5). The seal itself is never drawn."""

    def __init__(self, issuer: str, date: str, *, seal_lines: int = 2):
        super().__init__()
        self.issuer = issuer
        self.date = date
        self.seal_space = seal_lines * BODY_LEADING
        # Per character: an issuer with a rare character (𫖯) takes it from a fallback face.
        self.runs_issuer = text_runs(issuer, FANG, where=_("the issuer"))
        self.runs_date = text_runs(date, FANG, where=_("the date"))

    def wrap(self, avail_width, avail_height):
        self.avail_width = avail_width
        self.w_issuer = runs_width(self.runs_issuer, BODY_PT)
        self.w_date = runs_width(self.runs_date, BODY_PT)
        if max(self.w_issuer, self.w_date) > avail_width:
            raise PrintError(_("The issuer “{issuer}” is too long for one line.").format(issuer=self.issuer))
        lines = (1 if self.issuer else 0) + (1 if self.date else 0)
        self.height = self.seal_space + lines * BODY_LEADING
        return avail_width, self.height

    def draw(self):
        c = self.canv
        right = self.avail_width - 4 * BODY_PT
        centre = right - self.w_date / 2 if self.date else right - self.w_issuer / 2
        # Keep the issuer (which may be wider than the date) inside the text block.
        centre = min(centre, self.avail_width - self.w_issuer / 2)
        y = self.height - self.seal_space - BODY_PT
        if self.issuer:
            draw_runs(c, centre - self.w_issuer / 2, y, self.runs_issuer, BODY_PT)
            y -= BODY_LEADING
        if self.date:
            draw_runs(c, right - self.w_date, y, self.runs_date, BODY_PT)


def _paragraph(block: Block, st: dict) -> Paragraph:
    style = st.get(block.kind) or st["body"]
    where = _("the paragraph “{start}”").format(start=block.text[:12])
    text = markup(block.text, style.fontName, where=where)
    if block.rest:
        rest = markup(block.rest, FANG_GRID, where=where)
        text += f'<font face="{FANG_GRID}">{block.sep}{rest}</font>'
    return Paragraph(text, style)


def notice_story(data: NoticeData) -> list:
    st = styles()
    if not data.title.strip():
        raise PrintError(_("A notice needs a title."))
    story: list = [Paragraph(markup(data.title, st["title"].fontName, where=_("the title")), st["title"])]
    if data.addressee:
        story.append(Paragraph(markup(data.addressee, FANG_GRID, where=_("the addressee")), st["addressee"]))
    body = blocks_from_text(data.body) if isinstance(data.body, str) else data.body
    if not data.addressee and body and body[0].kind == "para" and _is_addressee(body[0].text):
        # Free text often starts with its addressee (各位居民：): it stands flush left.
        story.append(Paragraph(markup(body[0].text, FANG_GRID, where=_("the addressee")), st["addressee"]))
        body = body[1:]
    # Each heading stays on the page of the paragraph that follows it.
    groups: list[list] = []
    pending: list = []
    for block in body:
        pending.append(_paragraph(block, st))
        if block.kind not in ("h1", "h2") or block.rest:
            groups.append(pending)
            pending = []
    if pending:
        groups.append(pending)
    date = chinese_date(data.date)
    if data.issuer or date:
        last = groups.pop() if groups else []
        groups.append([*last, SignatureBlock(data.issuer, date)])
    for group in groups:
        story.append(group[0] if len(group) == 1 else KeepTogether(group))
    return story


def meeting_notice_blocks(data: MeetingNoticeData) -> NoticeData:
    """The usual sections of a 会议通知 from its facts."""
    missing = [label for label, value in ((_("meeting"), data.meeting), (_("time"), data.time),
                                          (_("place"), data.place)) if not value.strip()]
    if missing:
        raise PrintError(_("The meeting notice lacks: {fields}.").format(fields="、".join(missing)))
    title = data.title or _("Notice of the {meeting}").format(meeting=data.meeting)
    intro = data.intro or _("It has been decided to hold the {meeting}. The arrangements are as "
                            "follows:").format(meeting=data.meeting)
    body = [Block("para", intro)]
    # Short facts run on after their heading (一、会议时间：……); lists get their own lines.
    sections: list[tuple[str, str, list[Block]]] = [
        (_("Meeting time"), data.time, []),
        (_("Meeting place"), data.place, []),
    ]
    if data.attendees:
        sections.append((_("Attendees"), data.attendees, []))
    if data.agenda:
        sections.append((_("Agenda"), "", [Block("h2", f"（{chinese_number(i)}）{item}")
                                           for i, item in enumerate(data.agenda, 1)]))
    if data.requirements:
        sections.append((_("Requirements"), "", [Block("h3", f"{i}. {item}")
                                                 for i, item in enumerate(data.requirements, 1)]))
    if data.contact or data.contact_phone:
        text = _("{name}, telephone {phone}").format(name=data.contact, phone=data.contact_phone) \
            if data.contact_phone else data.contact
        sections.append((_("Contact details"), text, []))
    for i, (heading, rest, blocks) in enumerate(sections, 1):
        body.append(Block("h1", f"{chinese_number(i)}、{heading}", rest))
        body.extend(blocks)
    return NoticeData(title=title, body=body, issuer=data.issuer, date=data.date,
                      addressee=data.addressee or _("Dear residents:"))


def _many(stories: list[list], progress: ProgressFn | None, cancelled: CancelledFn | None,
          title: str) -> bytes:
    story: list = []
    for i, part in enumerate(stories):
        if i:
            story.append(PageBreak())
        story.extend(part)
    # A single notice of several pages gets GB/T 9704 page numbers; a batch of notices (one per
    # building) would number across notices, so it gets none.
    numbers = "official" if len(stories) == 1 else False
    return build_pdf(story, geometry=OFFICIAL, title=title, progress=progress, cancelled=cancelled,
                     page_numbers=numbers)


def notice_pdf(data: NoticeData | list[NoticeData], *, progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> bytes:
    """One or several free-text notices (each starts a new page)."""
    items = data if isinstance(data, list) else [data]
    return _many([notice_story(d) for d in items], progress, cancelled, items[0].title if items else "")


def meeting_notice_pdf(data: MeetingNoticeData | list[MeetingNoticeData], *,
                       progress: ProgressFn | None = None, cancelled: CancelledFn | None = None) -> bytes:
    """One or several 会议通知 (a batch, e.g. one per building, each on its own pages)."""
    items = data if isinstance(data, list) else [data]
    notices = [meeting_notice_blocks(d) for d in items]
    return _many([notice_story(n) for n in notices], progress, cancelled, notices[0].title if notices else "")
