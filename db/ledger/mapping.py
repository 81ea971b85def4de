"""Which spreadsheet column is which GridDesk field: header row detection and Chinese synonyms.

Ledgers usually have a title row or two above the column titles, sometimes a two-row header with
merged cells (住址 spanning 楼栋 / 单元 / 门牌), and their own names for every column. The mapping
found here is only a proposal: the user adjusts it and may save it under a name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from db.errors import GridDeskError
from db.ledger.readers import Sheet
from db.validation import normalize_text
from i18n import N_, _


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # English msgid, translated when shown
    target: str  # person | household | membership | place
    synonyms: tuple[str, ...] = ()


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", N_("Name"), "person", ("姓名", "名字", "居民姓名", "人员姓名", "成员姓名")),
    FieldSpec("former_name", N_("Former name"), "person", ("曾用名",)),
    FieldSpec("sex", N_("Sex"), "person", ("性别",)),
    FieldSpec("ethnicity", N_("Ethnicity"), "person", ("民族",)),
    FieldSpec("id_type", N_("ID type"), "person", ("证件类型", "证件种类")),
    FieldSpec("id_number", N_("ID number"), "person",
              ("公民身份号码", "身份证号", "身份证号码", "证件号码", "证件号", "身份证", "身份号码")),
    FieldSpec("birth_date", N_("Birth date"), "person", ("出生日期", "出生年月日", "出生年月", "生日")),
    FieldSpec("phone", N_("Phone"), "person",
              ("联系电话", "手机号", "手机号码", "电话", "电话号码", "联系方式", "手机")),
    FieldSpec("wechat", N_("WeChat"), "person", ("微信", "微信号")),
    FieldSpec("hukou_address", N_("Hukou address"), "person",
              ("户籍地址", "户籍地", "户籍所在地", "户口所在地", "户籍地详址")),
    FieldSpec("current_address", N_("Current address"), "person",
              ("现住址", "居住地址", "现居住地址", "现居住地", "住址", "家庭住址", "现住地址")),
    FieldSpec("political_status", N_("Political status"), "person", ("政治面貌",)),
    FieldSpec("education", N_("Education"), "person", ("文化程度", "学历")),
    FieldSpec("marital_status", N_("Marital status"), "person", ("婚姻状况", "婚姻状态")),
    FieldSpec("health", N_("Health"), "person", ("健康状况",)),
    FieldSpec("disability", N_("Disability"), "person", ("残疾情况", "残疾类别", "残疾等级")),
    FieldSpec("employment", N_("Employment"), "person", ("从业状况", "就业状况", "职业")),
    FieldSpec("employer", N_("Employer"), "person", ("工作单位", "服务处所", "工作单位及职务")),
    FieldSpec("residence_status", N_("Residence status"), "person", ("人户状态", "人户一致情况")),
    FieldSpec("person_type", N_("Person type"), "person", ("人员类型", "人口类型", "人员类别", "人口类别")),
    FieldSpec("move_in_date", N_("Move-in date"), "person", ("迁入日期", "入住日期", "迁入时间", "入住时间")),
    FieldSpec("notes", N_("Notes"), "person", ("备注", "说明")),
    FieldSpec("relation", N_("Relation to head"), "membership",
              ("与户主关系", "与户主的关系", "家庭关系", "关系")),
    FieldSpec("household_number", N_("Household number"), "household", ("户号", "户编号", "户编码", "住户编号")),
    FieldSpec("grid", N_("Grid"), "place", ("网格", "所属网格", "网格名称")),
    FieldSpec("compound", N_("Compound"), "place", ("小区", "小区名称", "所属小区", "小区名")),
    FieldSpec("building", N_("Building"), "place", ("楼栋", "楼号", "栋号", "楼栋号", "栋")),
    FieldSpec("unit", N_("Unit"), "place", ("单元", "单元号")),
    FieldSpec("door", N_("Door"), "household", ("门牌", "门牌号", "房号", "房间号", "室", "户室号")),
    FieldSpec("house_use", N_("House use"), "household", ("房屋用途", "房屋性质", "房屋类型", "居住类型")),
    FieldSpec("owner_name", N_("Owner"), "household", ("房东", "房主", "产权人", "房东姓名", "房主姓名")),
    FieldSpec("owner_phone", N_("Owner phone"), "household", ("房东电话", "房主电话", "产权人电话")),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
# The ledger fields that land on a person row, in mapping order.
PERSON_FIELDS = tuple(f.key for f in FIELDS if f.target == "person")
IGNORED_HEADERS = ("序号", "编号", "No", "NO")

_SYNONYMS: list[tuple[str, str]] = sorted(
    ((syn, f.key) for f in FIELDS for syn in f.synonyms), key=lambda s: -len(s[0]))
_EXACT = {syn: key for syn, key in _SYNONYMS}
_PARENS = re.compile(r"[（(【\[].*?[)）】\]]")
_NOISE = re.compile(r"[\s*＊:：、/\\_\-—]+")


def field_label(key: str | None) -> str:
    if not key:
        return _("(ignore)")
    return _(FIELD_BY_KEY[key].label)


def clean_header(value: object) -> str:
    """The comparable form of a header cell: half-width, no spaces, marks or bracketed notes."""
    text = normalize_text(value)
    text = _PARENS.sub("", text)
    return _NOISE.sub("", text)


def guess_field(header: object) -> str | None:
    text = clean_header(header)
    if not text or len(text) > 16:
        return None
    if text in _EXACT:
        return _EXACT[text]
    for syn, key in _SYNONYMS:
        if len(syn) >= 2 and syn in text:
            return key
    return None


def _is_header_like(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 30


def _row_score(row: list) -> int:
    return sum(1 for v in row if _is_header_like(v) and guess_field(v))


@dataclass
class Layout:
    """Where the table of a sheet is: its header rows and the column titles it implies."""

    header_row: int  # 0-based row of the (upper) header
    data_row: int  # 0-based first data row
    headers: list[str]


def detect_layout(sheet: Sheet, scan: int = 25) -> Layout:
    """Find the header row (title rows above it are skipped) and combine a two-row header."""
    rows = sheet.head  # the first rows: a title or two, then the column titles
    best, best_score = -1, 0
    for i, row in enumerate(rows[:scan]):
        score = _row_score(row)
        if score > best_score:
            best, best_score = i, score
    if best < 0 or best_score < 2:
        raise GridDeskError(
            _("No header row was found in sheet “{sheet}”: the first rows should contain column titles "
              "such as 姓名 and 身份证号.").format(sheet=sheet.name))
    width = max(len(r) for r in rows[: best + 2])
    upper = _filled_across_merges(sheet, best, width)
    headers = [normalize_text(v) if _is_header_like(v) else "" for v in upper]
    data_row = best + 1
    if best + 1 < len(rows):
        lower = list(rows[best + 1]) + [""] * (width - len(rows[best + 1]))
        texts = [normalize_text(v) if isinstance(v, str) else None for v in lower]
        filled = [t for t in texts if t]
        numbers = [v for v in lower if v not in ("", None) and not isinstance(v, str)]
        mapped = [t for t in filled if guess_field(t)]
        if filled and not numbers and mapped and len(mapped) * 2 >= len(filled):
            # A second header row: its titles refine the merged cell above them.
            for col, text in enumerate(texts):
                if text:
                    headers[col] = text
            data_row = best + 2
    return Layout(best, data_row, headers)


def _filled_across_merges(sheet: Sheet, row_index: int, width: int) -> list:
    rows = sheet.head
    row = list(rows[row_index]) + [""] * (width - len(rows[row_index]))
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 <= row_index <= r1:
            value = rows[r0][c0] if c0 < len(rows[r0]) else ""
            for c in range(c0, min(c1 + 1, width)):
                if row[c] in ("", None):
                    row[c] = value
    return row


def auto_mapping(headers: list[str]) -> dict[int, str]:
    """Column index -> field, each field used at most once (the first, most exact match wins)."""
    mapping: dict[int, str] = {}
    used: set[str] = set()
    # Exact matches first, so 房东电话 does not lose 电话's column to a looser match.
    for exact in (True, False):
        for col, header in enumerate(headers):
            if col in mapping or not header or clean_header(header) in IGNORED_HEADERS:
                continue
            text = clean_header(header)
            key = _EXACT.get(text) if exact else guess_field(header)
            if key and key not in used:
                mapping[col] = key
                used.add(key)
    return mapping


def mapping_from_template(headers: list[str], saved: dict[str, str | None]) -> dict[int, str]:
    """Apply a saved mapping (by header text); columns it does not name are guessed."""
    mapping = {}
    used = set()
    for col, header in enumerate(headers):
        key = clean_header(header)
        if key in saved:
            if saved[key] and saved[key] not in used:
                mapping[col] = saved[key]
                used.add(saved[key])
    for col, key in auto_mapping(headers).items():
        if col not in mapping and clean_header(headers[col]) not in saved and key not in used:
            mapping[col] = key
            used.add(key)
    return mapping


# -- saved mappings ---------------------------------------------------------------------------------

def save_mapping(store, *, name: str, headers: list[str], mapping: dict[int, str]) -> None:
    """Save a mapping under a name (replacing one of the same name)."""
    from db.models.ledger import ImportMapping

    name = normalize_text(name)
    if not name:
        raise GridDeskError(_("Give the mapping a name."))
    by_header = {clean_header(h): mapping.get(col) for col, h in enumerate(headers) if clean_header(h)}
    with store.activated(), store.db.atomic():
        ImportMapping.insert(name=name, mapping=json.dumps(by_header, ensure_ascii=False),
                             created_at=dt.datetime.now().isoformat(timespec="seconds")).on_conflict_replace().execute()


def load_mapping(store, name: str) -> dict[str, str | None]:
    from db.models.ledger import ImportMapping

    with store.activated():
        row = ImportMapping.get_or_none(ImportMapping.name == name)
    if row is None:
        raise GridDeskError(_("There is no saved mapping named “{name}”.").format(name=name))
    return json.loads(row.mapping)


def mapping_names(store) -> list[str]:
    from db.models.ledger import ImportMapping

    with store.activated():
        return [m.name for m in ImportMapping.select(ImportMapping.name).order_by(ImportMapping.name)]
