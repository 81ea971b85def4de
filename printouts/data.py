"""Plain data that goes into a printout (no database, no Qt). ID and phone numbers come in raw;
the printouts mask them unless `show_full` is set (the caller records that choice)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def chinese_date(value: str | dt.date | None) -> str:
    """2026-11-25 -> 2026年11月25日 (Arabic numerals, as GB/T 9704 asks); other text unchanged."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class Block:
    """One paragraph of an official notice. kind: para | h1 (一、) | h2 (（一）) | h3 (1.)."""

    kind: str
    text: str
    rest: str = ""  # body text run on after a heading on the same line (一、会议时间：……)
    sep: str = "："  # what joins the heading and its run-on text (： or the heading's own 。)


@dataclass
class NoticeData:
    """A free-text notice (stairwells) or any official document: title, body, issuer, date."""

    title: str
    body: list[Block] | str
    issuer: str = ""
    date: str | dt.date | None = None
    addressee: str = ""


@dataclass
class MeetingNoticeData:
    """会议通知: 关于召开……的通知."""

    meeting: str  # e.g. 3号楼居民议事会
    time: str
    place: str
    issuer: str
    date: str | dt.date | None = None
    addressee: str = ""
    intro: str = ""
    attendees: str = ""
    agenda: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    contact: str = ""
    contact_phone: str = ""
    title: str = ""  # default: 关于召开{meeting}的通知


@dataclass
class SigninPerson:
    name: str
    unit: str = ""  # 楼栋/单位
    role: str = ""  # 职务
    phone: str = ""
    note: str = ""


@dataclass
class SigninData:
    """签到表: header, pre-filled names, blank rows, footer 应到/实到/缺席."""

    meeting: str
    time: str = ""
    place: str = ""
    people: list[SigninPerson] = field(default_factory=list)
    blank_rows: int = 5
    show_full: bool = False
    host: str = ""  # 主持人 (a line to fill in by hand when empty)
    date: str = ""

    # A sheet that is not a meeting's (e.g. a volunteer activity's): its own title and header line items,
    # printed instead of "Sign-in sheet: …" and "Meeting: … Time: … Place: …" (one line per header item).
    title: str | None = None
    header: list[str] | None = None
    # Other titles for the unit and position columns (e.g. team and volunteer number), already translated.
    unit_title: str | None = None
    role_title: str | None = None


@dataclass
class MemberRow:
    name: str
    relation: str = ""
    sex: str = ""
    ethnicity: str = ""
    id_type: str = ""
    id_number: str = ""
    birth_date: str = ""
    phone: str = ""
    person_type: str = ""
    residence_status: str = ""
    political_status: str = ""
    education: str = ""
    employer: str = ""
    tags: str = ""


@dataclass
class HouseholdFormData:
    """入户登记表 for one household and its members."""

    address: str
    number: str = ""
    grid: str = ""
    compound: str = ""
    building: str = ""
    unit: str = ""
    door: str = ""
    house_use: str = ""
    owner_name: str = ""
    owner_phone: str = ""
    notes: str = ""
    members: list[MemberRow] = field(default_factory=list)
    show_full: bool = False
    community: str = ""  # printed above the form (db.register.community)


@dataclass
class VisitRecordData:
    """入户走访记录: one visit, or a blank form for a household (fields empty)."""

    address: str
    household_number: str = ""
    head: str = ""
    phone: str = ""
    visit_date: str = ""
    visitor: str = ""
    met: str = ""
    not_home: bool = False
    purpose: str = ""
    situation: str = ""
    requests: str = ""
    outcome: str = ""
    follow_up_date: str = ""
    show_full: bool = False


@dataclass
class Column:
    """A column of a register list. kind: text | id (masked) | phone (masked) | date."""

    title: str
    width: float  # relative weight
    kind: str = "text"


@dataclass
class RegisterListData:
    """Any filtered list of the register: many pages, header row repeated, 第 N 页 共 M 页."""

    title: str
    columns: list[Column]
    rows: list[list[str]]
    subtitle: str = ""
    landscape: bool = True
    show_full: bool = False
