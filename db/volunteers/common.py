"""Shared pieces of the volunteer services: settings, times, errors, the edit recorder."""

from __future__ import annotations

import datetime as dt
import uuid

from db.errors import ValidationError, ValidationErrors
from i18n import N_, _

TEAM_KINDS = ["生活帮困", "医疗救助", "应急抢修", "治安巡逻", "环境保护", "文化教育", "法律服务", "邻里守望"]
SKILLS = ["购物代办", "陪伴聊天", "家电维修", "水电维修", "医疗护理", "理发", "法律咨询", "心理疏导",
          "课业辅导", "巡逻", "环境清洁", "文艺", "电脑手机", "驾驶"]
WEEKDAYS = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")]
POOL = "pool"  # the time bank's shared pool account

# Settings (kept in this database's meta table) and their defaults.
DEFAULTS = {
    "vol_min_share": "0.6",  # share of the set length an activity must cover to count
    "vol_star_preset": "national",
    "vol_notice_days": "7",  # public-notice period before a star is awarded
    "vol_bank_cap_hours": "1500",  # time-bank cap per account (南京: 1,500 h)
    "vol_transfer_min_age": "60",  # transfers only to relatives of this age or older
}

_NAMESPACE = uuid.UUID("0d6c3f9e-8a51-5b7e-a2c4-564f4c554e54")


def derived_id(*parts: str) -> str:
    """A row id that every laptop computes alike (e.g. the deposit of one service record)."""
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def setting(store, key: str) -> str:
    return store.get_meta(key) or DEFAULTS[key]


def setting_float(store, key: str) -> float:
    try:
        return float(setting(store, key))
    except ValueError:
        return float(DEFAULTS[key])


def fail(message: str, field: str) -> None:
    raise ValidationErrors([ValidationError(message, field=field)])


def parse_moment(value, *, field: str, label: str) -> dt.datetime:
    """'2026-11-05 09:30', '2026-11-05T09:30' or a datetime; minutes precision."""
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    text = str(value or "").strip().replace("T", " ")
    if not text:
        fail(_("{field}: it is required.").format(field=label), field)
    try:
        return dt.datetime.fromisoformat(text).replace(second=0, microsecond=0)
    except ValueError:
        fail(_("{field}: “{value}” is not a time; write it like 2026-11-05 09:30.").format(
            field=label, value=text), field)
    raise AssertionError  # unreachable


def parse_clock(value, *, field: str, label: str) -> str:
    """'9:00' -> '09:00'."""
    text = str(value or "").strip().replace("：", ":")
    try:
        hour, minute = text.split(":")
        h, m = int(hour), int(minute)
        if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
            raise ValueError
    except ValueError:
        fail(_("{field}: “{value}” is not a time of day; write it like 09:00.").format(field=label, value=text),
             field)
    return f"{h:02d}:{m:02d}"


def moment_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def now_text() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def hours_text(minutes: int | None) -> str:
    """Minutes as hours with one decimal: 90 -> '1.5'."""
    value = (minutes or 0) / 60
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
