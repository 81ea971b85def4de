"""Service records as .xlsx for the national volunteer system's bulk upload (全国志愿服务信息系统
批量补录), and a record sheet per volunteer.

The column names follow the fields the 2020 recording measures require per service (name, ID type
and number, activity, date, place, content, hours, person in charge, recorder). The header of the
system's current upload template was searched for and not found (see README, "Volunteers", for what
was searched and what turned up): rename the header row if the system's template differs. The system matches volunteers by ID
number, so an upload needs the numbers in full: that is a choice (full_ids) and leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from db import oplog
from db.models.register import AuditEntry
from db.validation import mask_id
from db.volunteers.common import hours_text
from i18n import _

UPLOAD_COLUMNS = ("序号", "姓名", "证件类型", "证件号码", "志愿者编号", "项目名称", "服务开始时间", "服务结束时间",
                  "服务时长（小时）", "服务地点", "服务对象", "服务内容", "负责人", "记录人")
WIDTHS = (6, 10, 12, 22, 11, 18, 17, 17, 10, 18, 14, 24, 10, 10)


def _rows(store, *, since: str | None, until: str | None, volunteer_id: str | None,
          full_ids: bool) -> Iterator[tuple]:
    where = ["s.status = 'approved'", "s.deleted = 0", "s.sign_in >= ?", "s.sign_in < ?"]
    params: list[Any] = [since or "", until or "9999"]
    if volunteer_id:
        where.append("s.volunteer_id = ?")
        params.append(volunteer_id)
    sql = ("select coalesce(p.name, v.name), coalesce(p.id_type, v.id_type), coalesce(p.id_number, v.id_number), "
           "v.number, a.title, s.sign_in, s.sign_out, s.minutes, a.place, a.beneficiaries, a.content, "
           "a.person_in_charge, coalesce(s.recorder, a.recorder) from vol_service s join vol_activity a on "
           "a.id = s.activity_id join volunteer v on v.id = s.volunteer_id left join person p on p.id = v.person_id "
           f"where {' and '.join(where)} order by s.sign_in, v.number")
    for n, r in enumerate(store.db.execute_sql(sql, params), 1):
        id_number = r[2] or ""
        yield (n, r[0] or "", r[1] or "居民身份证", id_number if full_ids else mask_id(id_number), r[3] or "",
               r[4] or "", (r[5] or "").replace("T", " "), (r[6] or "").replace("T", " "), hours_text(r[7]),
               r[8] or "", r[9] or "", r[10] or r[4] or "", r[11] or "", r[12] or "")


def export_services(store, path: str | Path, *, since: str | None = None, until: str | None = None,
                    volunteer_id: str | None = None, full_ids: bool = False) -> int:
    """Approved service records (signed in from `since`, before `until`) to an .xlsx; rows written."""
    from rustpy_xlsxwriter import Format, write_worksheet

    path = Path(path)
    count = [0]

    def records() -> Iterator[dict[str, Any]]:
        for row in _rows(store, since=since, until=until, volunteer_id=volunteer_id, full_ids=full_ids):
            count[0] += 1
            yield {c: (v if c == "序号" else str(v)) for c, v in zip(UPLOAD_COLUMNS, row, strict=True)}
        if count[0] == 0:
            yield dict.fromkeys(UPLOAD_COLUMNS, "")

    header = Format().set_bold().set_background_color("#DDEBF7").set_border("thin").set_text_wrap()
    tmp = path.with_name(path.name + ".part")
    write_worksheet(records(), str(tmp), sheet_name=_("Service records"), header_row=0, freeze_row=1,
                    column_widths=[float(w) for w in WIDTHS], header_format=header, autofilter=True)
    tmp.replace(path)
    with store.db.atomic():
        oplog.write(store, AuditEntry, [{
            "at": dt.datetime.now().isoformat(timespec="seconds"), "user": store.user,
            "action": "export_unmasked" if full_ids else "export", "target_table": "vol_service",
            "target_id": volunteer_id, "detail": json.dumps({"file": path.name, "rows": count[0], "since": since,
                                                             "until": until}, ensure_ascii=False)}])
    return count[0]
