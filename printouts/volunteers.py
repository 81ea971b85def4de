"""Volunteer forms: 志愿服务时长证明 (certificate, 民发〔2015〕149号 fields, room for the seal),
and the lists (花名册, 值班/巡逻排班表, time-bank passbook page, star 公示 list) on the register
list layout. Plain data in, PDF bytes out; ID and phone numbers masked unless show_full.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from i18n import _
from printouts.data import chinese_date
from printouts.fonts import HEI, SONG, markup
from printouts.layout import BODY_LEADING, OFFICIAL, build_pdf, styles
from printouts.notice import SignatureBlock
from printouts.tables import _grid_style, masked


@dataclass
class CertificateData:
    number: str
    name: str
    id_type: str
    id_number: str
    volunteer_number: str
    hours: str  # e.g. "123.5"
    content: str
    period_from: str
    period_to: str
    issuer: str
    person_in_charge: str
    handler: str
    contact: str
    issued: str  # ISO date
    show_full: bool = False


def certificate_story(data: CertificateData) -> list:
    st = styles()
    where = _("the certificate")
    number_style = ParagraphStyle("cert_number", parent=st["form_info"], alignment=TA_RIGHT, fontSize=12, leading=18)
    period = ""
    if data.period_from or data.period_to:
        period = _("from {start} to {end}, ").format(start=chinese_date(data.period_from) or "—",
                                                     end=chinese_date(data.period_to) or "—")
    body = _("This is to certify that {name} ({id_type}: {id_number}; volunteer number {number}) {period}took part "
             "in {content} and other volunteer services organised by us, with a total volunteer service time of "
             "{hours} hours.").format(name=data.name, id_type=data.id_type or _("ID card"),
                              id_number=masked(data.id_number, "id", data.show_full) or "—",
                              number=data.volunteer_number, period=period, content=data.content or "—",
                              hours=data.hours)
    face = st["body"].fontName
    rows = [[_("Issuing organisation"), data.issuer], [_("Person in charge"), data.person_in_charge or ""],
            [_("Handled by"), data.handler or ""], [_("Contact"), data.contact or ""]]
    cell = st["cell"]
    table = Table([[Paragraph(markup(a, HEI, where=where), cell), Paragraph(markup(b, HEI, where=where), cell)]
                   for a, b in rows], colWidths=[40 * mm, OFFICIAL.block_w - 40 * mm],
                  rowHeights=[10 * mm] * len(rows))
    grid = _grid_style(10.5, 13.5, header_rows=0)
    table.setStyle(TableStyle([s for s in grid if s[0] not in ("BACKGROUND", "ALIGN")]))
    return [
        Paragraph(markup(_("Certificate of volunteer service hours"), SONG, where=where), st["title"]),
        Paragraph(markup(_("No. {number}").format(number=data.number), HEI, where=where), number_style),
        Spacer(1, BODY_LEADING * 0.5),
        Paragraph(markup(body, face, where=where), st["body"]),
        Paragraph(markup(_("Hereby certified."), face, where=where), st["body"]),
        Spacer(1, BODY_LEADING * 0.5),
        table,
        Spacer(1, BODY_LEADING * 0.5),
        # Issuer and date at the bottom right, blank room above for the seal (never drawn).
        SignatureBlock(data.issuer, chinese_date(data.issued), seal_lines=3),
        Paragraph(markup(_("(seal)"), HEI, where=where),
                  ParagraphStyle("seal_hint", fontName=HEI, fontSize=9, leading=12, alignment=TA_RIGHT)),
    ]


def certificate_pdf(data: CertificateData) -> bytes:
    return build_pdf(certificate_story(data), geometry=OFFICIAL,
                     title=_("Certificate of volunteer service hours") + f" {data.number}")

