"""Validators shared by every register and the importers; messages in the user's language.

Citizen ID numbers follow GB 11643-1999: 18 characters (region, YYYYMMDD, sequence, check) or the
legacy 15 digits (YYMMDD, no check). Unknown region codes are accepted (abolished codes stay
valid; 810000/820000/830000 are Hong Kong/Macao/Taiwan residence permits).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from dataclasses import dataclass

from db.errors import ValidationError
from i18n import _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$|^\d{7,8}$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
RESIDENCE_PERMIT_PREFIXES = ("81", "82", "83")


def normalize_text(value: object) -> str:
    """Full-width digits and letters to half-width, stray spaces removed at both ends."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return text.replace("\u3000", " ").strip()


_ZERO_OFFSET = 48 * sum(_WEIGHTS)  # "0" is byte 48: subtracting this turns byte codes into digits


def check_character(first17: str) -> str:
    """GB 11643 check character of 17 digits (bulk imports call this 150,000 times: byte arithmetic)."""
    if first17.isascii() and first17.isdigit() and len(first17) == 17:
        total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _ZERO_OFFSET
    else:  # other digits (full-width, other scripts) as int() reads them; a wrong length raises
        total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    sex: str  # 男 / 女
    legacy: bool = False
    residence_permit: bool = False

    def age_on(self, day: dt.date) -> int:
        return age_on(self.birth_date, day)


def looks_like_lost_digits(value: object) -> bool:
    """True for an ID number that a spreadsheet stored as a number (4.20102E+17): digits are lost."""
    if isinstance(value, float):
        return value >= 1e14
    text = normalize_text(value)
    return bool(_SCIENTIFIC.match(text)) or (text.endswith(".0") and text[:-2].isdigit() and len(text) > 16)


def parse_id_number(value: object, *, today: dt.date | None = None) -> IdInfo:
    """Validate a citizen ID number and derive birth date and sex; raises ValidationError."""
    if looks_like_lost_digits(value):
        raise ValidationError(
            _("The ID number {value} was stored as a number by a spreadsheet, and its last digits are "
              "lost. Format the column as text in the spreadsheet and type the numbers again.").format(
                value=value), field="id_number")
    text = normalize_text(value).upper().replace(" ", "")
    if not text:
        raise ValidationError(_("The ID number is empty."), field="id_number")
    today = today or dt.date.today()
    if _ID18.match(text):
        birth = _date_or_none(text[6:14])
        if birth is None:
            raise ValidationError(
                _("The ID number {value} contains an impossible birth date ({date}).").format(
                    value=mask_id(text), date=text[6:14]), field="id_number")
        expected = check_character(text[:17])
        if text[17] != expected:
            # Not "the last digit should be X": the typo is usually elsewhere, and changing the
            # check character to fit would make a wrong number look right.
            raise ValidationError(
                _("The ID number {value} fails its check: a digit is wrong or two are swapped. Compare every "
                  "digit with the ID card (not only the last one).").format(value=mask_id(text)),
                field="id_number")
        legacy = False
        sequence = int(text[14:17])
    elif _ID15.match(text):
        birth = _date_or_none("19" + text[6:12])
        if birth is None:
            raise ValidationError(
                _("The ID number {value} contains an impossible birth date ({date}).").format(
                    value=mask_id(text), date=text[6:12]), field="id_number")
        legacy = True
        sequence = int(text[12:15])
    else:
        raise ValidationError(
            _("The ID number {value} is not valid: it must have 18 characters (17 digits and a digit or "
              "X) or 15 digits; it has {n}.").format(value=mask_id(text), n=len(text)), field="id_number")
    if birth > today:
        raise ValidationError(
            _("The ID number {value} gives a birth date in the future ({date}).").format(
                value=mask_id(text), date=birth.isoformat()), field="id_number")
    if birth.year < 1880:
        raise ValidationError(
            _("The ID number {value} gives an impossible birth year ({year}).").format(
                value=mask_id(text), year=birth.year), field="id_number")
    return IdInfo(text, birth, "男" if sequence % 2 else "女", legacy,
                  text.startswith(RESIDENCE_PERMIT_PREFIXES) and not legacy)


def _date_or_none(yyyymmdd: str) -> dt.date | None:
    try:
        return dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


def id_conflicts(info: IdInfo, *, birth_date: str | None, sex: str | None) -> list[str]:
    """Messages for entered values that disagree with the ID number (flagged, not refused)."""
    problems = []
    if birth_date and birth_date != info.birth_date.isoformat():
        problems.append(_("The birth date {entered} differs from the ID number's {derived}.").format(
            entered=birth_date, derived=info.birth_date.isoformat()))
    if sex and sex != info.sex:
        problems.append(_("The sex {entered} differs from the ID number's {derived}.").format(
            entered=sex, derived=info.sex))
    return problems


def normalize_phone(value: object) -> str:
    """A mobile (11 digits, 1[3-9]…) or landline number; raises ValidationError otherwise."""
    text = normalize_text(value).replace(" ", "").replace("(", "").replace(")", "")
    if text.startswith("+86"):
        text = text[3:]
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise ValidationError(
        _("The phone number {value} is not valid: use an 11-digit mobile number or a landline with "
          "area code.").format(value=text), field="phone")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object, *, field: str = "date", allow_future: bool = False,
               today: dt.date | None = None) -> dt.date | None:
    """Dates as people type them: 2023-01-05, 2023/1/5, 2023年1月5日, 20230105, Excel serials."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise ValidationError(_("{value} is not a date.").format(value=value), field=field)
        day = _EXCEL_EPOCH + dt.timedelta(days=int(value))
    else:
        text = normalize_text(value).split(" ")[0]
        day = None
        for pattern in _DATE_PATTERNS:
            m = pattern.match(text)
            if m:
                try:
                    day = dt.date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    day = None
                break
        if day is None:
            raise ValidationError(
                _("“{value}” is not a date; write it like 2023-01-05 or 2023年1月5日.").format(value=text),
                field=field)
    if not allow_future and day > (today or dt.date.today()):
        raise ValidationError(
            _("The date {value} is in the future.").format(value=day.isoformat()), field=field)
    return day


def mask_id(number: str | None) -> str:
    """First 6 and last 4 characters shown: 110105********1234."""
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 2)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(number: str | None) -> str:
    """138****5678 for mobiles; landlines keep area code and last 2 digits."""
    if not number:
        return ""
    if len(number) == 11 and number.isdigit():
        return number[:3] + "****" + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[:-6] + "****" + number[-2:]


# The fields (and printed column kinds) that hold personal numbers, and how each is masked.
MASKED_FIELDS = {"id_number": mask_id, "phone": mask_phone, "owner_phone": mask_phone, "id": mask_id}


def mask(field: str, value: str | None, *, full: bool = False) -> str | None:
    """The one masking rule of every screen, printout and export: an ID or phone number (by its
    field, or a printed column's kind "id"/"phone") with its middle hidden unless `full`; any other
    field's value as it is."""
    masker = MASKED_FIELDS.get(field)
    if masker is None or full or not value:
        return value
    return masker(value)


def age_on(birth: dt.date | str | None, on: dt.date | None = None) -> int | None:
    """Full years on `on` (today by default) of someone born on `birth` (a date or ISO text);
    None when the birth date is unknown or not a date. The one age rule of the register."""
    if not birth:
        return None
    if isinstance(birth, str):
        try:
            birth = dt.date.fromisoformat(birth[:10])
        except ValueError:
            return None
    on = on or dt.date.today()
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
