"""Turning one spreadsheet cell into one validated GridDesk value (or a ValidationError).

Cells arrive as the reader gives them: str, float (Excel stores every number as a float), date,
datetime, bool or "". Each converter takes the raw value and returns a str or None.
"""

from __future__ import annotations

import datetime as dt
import re

from db.errors import ValidationError
from db.register.common import CHINESE_ID_TYPES, HOUSE_USES, RELATIONS, SEXES
from db.validation import (
    MASKED_FIELDS,
    looks_like_lost_digits,
    mask_id,
    mask_phone,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_id_number,
)
from i18n import _

_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\U00020000-\U0002ffff])\s+(?=[\u3400-\u9fff\U00020000-\U0002ffff])")
_SPACES = re.compile(r"\s+")

# The register's own lists (db/register/common.py) plus the spellings ledgers use for them.
CITIZEN_ID_TYPES = ("", "身份证", "二代身份证", "公民身份证", *CHINESE_ID_TYPES)
SEX_VALUES = {**{s: s for s in SEXES}, "男性": "男", "女性": "女", "m": "男", "f": "女", "1": "男", "2": "女"}
RELATION_VALUES = {"本人": "户主", "户主本人": "户主", "之妻": "配偶", "之夫": "配偶", "妻": "配偶", "夫": "配偶",
                   "妻子": "配偶", "丈夫": "配偶", "儿子": "子女", "女儿": "子女", "之子": "子女", "之女": "子女",
                   "长子": "子女", "次子": "子女", "长女": "子女", "次女": "子女", "父亲": "父母", "母亲": "父母",
                   "孙子": "孙子女", "孙女": "孙子女", "儿媳": "媳婿", "女婿": "媳婿", "外孙": "孙子女",
                   "外孙女": "孙子女", "哥哥": "兄弟姐妹", "弟弟": "兄弟姐妹", "姐姐": "兄弟姐妹", "妹妹": "兄弟姐妹",
                   "祖父": "祖父母", "祖母": "祖父母", "爷爷": "祖父母", "奶奶": "祖父母", "外祖父": "祖父母",
                   "外祖母": "祖父母", "岳父": "岳父母或公婆", "岳母": "岳父母或公婆", "公公": "岳父母或公婆",
                   "婆婆": "岳父母或公婆", "父": "父母", "母": "父母", "子": "子女", "女": "子女"}
DATE_FIELDS = ("birth_date", "move_in_date")
PHONE_FIELDS = ("phone", "owner_phone")


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: object) -> str:
    """Text of a cell: integral floats lose their .0, full-width becomes half-width, spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = normalize_text(value)
    if " " in text or "\t" in text or "\n" in text:
        text = _CJK_GAP.sub("", text)
        text = _SPACES.sub(" ", text)
    return text


def display(value: object) -> str:
    """How a raw cell looked in the spreadsheet, for messages and the error workbook."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.15g}"
    if isinstance(value, float) and abs(value) >= 1e15:
        return f"{value:.5E}"  # as Excel shows it: 4.20102E+17
    return as_text(value)


def convert_text(value: object, field: str) -> str | None:
    return as_text(value) or None


def convert_name(value: object, field: str) -> str | None:
    text = as_text(value)
    if not text:
        raise ValidationError(_("The name is empty."), field=field)
    return text


def convert_sex(value: object, field: str) -> str | None:
    text = as_text(value)
    if not text:
        return None
    sex = SEX_VALUES.get(text.lower())
    if sex is None:
        raise ValidationError(_("“{value}” is not a sex: write 男 or 女.").format(value=text), field=field)
    return sex


def convert_relation(value: object, field: str) -> str | None:
    """A census relation code; other words (侄子, 保姆) become 其他 (the preview says so)."""
    text = as_text(value)
    if not text:
        return None
    code = RELATION_VALUES.get(text, text)
    return code if code in RELATIONS else "其他"


def convert_house_use(value: object, field: str) -> str | None:
    text = as_text(value)
    if text and text not in HOUSE_USES:
        raise ValidationError(_("Unknown house use “{value}”; choose one of {choices}.").format(
            value=text, choices="、".join(HOUSE_USES)), field=field)
    return text or None


def _refuse_masked(text: str, field: str) -> None:
    """A number with its middle hidden (420102********8205, 131****9930), as exported by default."""
    if "*" in text or "＊" in text:
        raise ValidationError(_(
            "“{value}” has hidden digits (a masked number, as in an export made with masked numbers): it "
            "cannot be imported. Export again with full numbers, or type the full number.").format(value=text),
            field=field)


def convert_phone(value: object, field: str) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float):
        value = as_text(value)
    _refuse_masked(as_text(value), field)
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        exc.field = field
        raise


def convert_date(value: object, field: str) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer() and 19000101 <= value <= 21001231:
        value = str(int(value))  # 20230105 typed into a number cell
    day = parse_date(value, field=field)
    return day.isoformat() if day else None


def convert_id_number(value: object, id_type: str | None) -> tuple[str | None, object]:
    """(normalised number, IdInfo or None). Citizen IDs are checked fully; other papers as text."""
    if isinstance(value, float) and value.is_integer() and 1e14 <= value < 1e15:
        value = str(int(value))  # a legacy 15-digit number fits a spreadsheet number exactly
    if isinstance(value, float) and looks_like_lost_digits(value):
        value = display(value)  # explained as Excel shows it: 4.20102E+17
    if isinstance(value, str):
        _refuse_masked(value.strip(), "id_number")
    if (id_type or "") in CITIZEN_ID_TYPES:
        if isinstance(value, float) and value.is_integer():
            value = str(int(value))
        info = parse_id_number(value)
        return info.number, info
    if looks_like_lost_digits(value):
        parse_id_number(value)  # raises the explanation
    text = as_text(value).upper().replace(" ", "")
    if not text:
        raise ValidationError(_("The ID number is empty."), field="id_number")
    return text, None


CONVERTERS = {
    "name": convert_name,
    "sex": convert_sex,
    "relation": convert_relation,
    "house_use": convert_house_use,
    "birth_date": convert_date,
    "move_in_date": convert_date,
    "phone": convert_phone,
    "owner_phone": convert_phone,
}


def converter(field: str):
    return CONVERTERS.get(field, convert_text)


_ID_LIKE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
_PHONE_LIKE = re.compile(r"^(1\d{10}|0\d{9,11})$")


def masked_sample(text: str, field: str | None = None) -> str:
    """A cell's text as a screen may show it: ID and phone numbers masked.

    Masked by the column's field when it is one of the numbers, and by the look of the value
    otherwise, so an unmapped or mis-mapped column never shows a number in full either.
    """
    text = text or ""
    if looks_like_lost_digits(text):
        return text  # 4.20102E+17: its digits are already lost; shown as Excel shows it
    compact = normalize_text(text)
    for junk in (" ", "-", "(", ")"):
        compact = compact.replace(junk, "")
    if compact.startswith("+86"):
        compact = compact[3:]
    mask = MASKED_FIELDS.get((field or "").removeprefix("household."))
    if mask is not None:
        return mask(compact)
    if _ID_LIKE.match(compact):
        return mask_id(compact)
    if _PHONE_LIKE.match(compact):
        return mask_phone(compact)
    return text
