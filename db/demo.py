"""A realistic, reproducible demo community of any size: `griddesk demo --households N`.

Same seed, same community (names, numbers, structure); row ids are fresh UUIDv7s.
Grids of ~600 households, compounds of buildings, units, floors and doors; households of one to
six persons with census relations; valid GB 11643 ID numbers whose birth date and sex match the
person; mobile numbers; special-population tags with periods.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from db import oplog
from db.ids import new_id
from db.models.register import Building, Compound, Grid, Household, Membership, Person, PersonTag, Tag, Unit
from db.register import index
from db.register.demo_history import add_history
from db.validation import check_character

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平刚桂兰玉梅红霞春燕鹏辉志文斌宇浩凯晨欣怡"
         "子涵梓萱思雨佳琪俊博浩然一诺嘉懿晓东海燕淑珍桂芝凤兰秀珍立新建华永刚晓明丹丹婷婷雪梅德胜")
RARE = "喆堃昇珺赟䶮"
COMPOUND_NAMES = ("百步亭花园", "幸福里", "建设新村", "和平小区", "长青苑", "阳光城", "丹水池",
                  "后湖家园", "江岸花园", "惠民苑", "安居小区", "四季花城", "东方明珠苑", "春和景明")
REGIONS = ("420102", "420103", "420104", "420105", "420106", "420107", "420111", "420115",
           "420116", "420117", "421002", "421182", "429004", "411302", "430602", "360111", "110105",
           "810000", "820000")
ETHNIC = (("汉族", 95), ("回族", 2), ("土家族", 1), ("满族", 1), ("壮族", 1))
HOUSE_USE = (("自住", 70), ("出租", 15), ("群租", 1), ("出借", 3), ("商用", 2), ("空置", 6), ("待查", 3))
RESIDENCE = (("人户一致", 80), ("人在户不在", 12), ("户在人不在", 8))
PERSON_TYPE = (("户籍", 72), ("常住", 13), ("流动", 14), ("境外", 1))
POLITICAL = (("群众", 80), ("中共党员", 10), ("共青团员", 8), ("民主党派", 2))
EDUCATION = (("小学", 10), ("初中", 25), ("高中", 22), ("大专", 18), ("本科", 20), ("研究生", 5))
EMPLOYMENT = (("在职", 55), ("退休", 20), ("无业", 8), ("学生", 15), ("个体", 2))

BATCH = 2000


def _weighted(rng: random.Random, table):
    total = sum(w for _, w in table)
    x = rng.random() * total
    for value, w in table:
        x -= w
        if x < 0:
            return value
    return table[-1][0]


class _People:
    def __init__(self, rng: random.Random, today: dt.date):
        self.rng = rng
        self.today = today
        self.sequences: set[str] = set()

    def name(self, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choice(SURNAMES)
        n = 1 if rng.random() < 0.3 else 2
        given = "".join(rng.choice(GIVEN) for _ in range(n))
        if rng.random() < 0.004:
            given = given[:-1] + rng.choice(RARE)
        return surname + given

    def id_number(self, birth: dt.date, sex: str) -> str:
        rng = self.rng
        region = rng.choice(REGIONS)
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if sex == "男" else 0)
            first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            if first17 not in self.sequences:
                self.sequences.add(first17)
                return first17 + check_character(first17)

    def birth(self, age_lo: int, age_hi: int) -> dt.date:
        age_lo, age_hi = max(0, age_lo), max(age_lo, age_hi)
        days = self.rng.randrange(age_lo * 365, age_hi * 365 + 364)
        return self.today - dt.timedelta(days=days + 1)

    def phone(self) -> str:
        rng = self.rng
        return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"


def _household_members(rng: random.Random, people: _People, address: str, hukou: str):
    """A family: head, maybe a spouse, children, maybe parents; returns (person, relation) pairs."""
    members: list[tuple[dict, str]] = []
    shape = rng.random()
    head_age = rng.randrange(24, 88)
    head_sex = "男" if rng.random() < 0.6 else "女"
    surname = rng.choice(SURNAMES)

    def person(name: str, sex: str, birth: dt.date, relation: str) -> None:
        age = (people.today - birth).days // 365
        row = {
            "id": new_id(), "name": name, "sex": sex, "ethnicity": _weighted(rng, ETHNIC),
            "id_type": "居民身份证", "id_number": people.id_number(birth, sex),
            "birth_date": birth.isoformat(),
            "phone": people.phone() if age >= 14 and rng.random() < 0.92 else None,
            "hukou_address": hukou, "current_address": address,
            "political_status": _weighted(rng, POLITICAL) if age >= 14 else "群众",
            "education": _weighted(rng, EDUCATION) if age >= 7 else None,
            "marital_status": ("已婚" if relation in ("户主", "配偶") and shape > 0.15 else "未婚")
            if age >= 20 else "未婚",
            "employment": ("退休" if age >= 60 else "学生" if age < 22 else _weighted(rng, EMPLOYMENT)),
            "residence_status": _weighted(rng, RESIDENCE), "person_type": _weighted(rng, PERSON_TYPE),
            "move_in_date": (people.today - dt.timedelta(days=rng.randrange(30, 9000))).isoformat(),
        }
        if row["id_number"].startswith(("81", "82")):
            row["id_type"] = "港澳台居民居住证"
        members.append((row, relation))

    person(people.name(surname), head_sex, people.birth(head_age, head_age), "户主")
    if shape < 0.12:  # living alone
        return members
    if shape > 0.15:
        spouse_age = max(20, head_age + rng.randrange(-5, 6))
        person(people.name(), "女" if head_sex == "男" else "男", people.birth(spouse_age, spouse_age), "配偶")
    if head_age < 70 and rng.random() < 0.75:
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            child_age = max(0, head_age - rng.randrange(22, 36))
            sex = rng.choice("男女")
            person(people.name(surname), sex, people.birth(child_age, child_age), "子女")
    if head_age < 50 and rng.random() < 0.2:
        parent_age = head_age + rng.randrange(24, 32)
        person(people.name(surname), "男", people.birth(parent_age, parent_age), "父母")
    if rng.random() < 0.05:
        person(people.name(), rng.choice("男女"), people.birth(18, 80), "其他")
    return members


def _tags_for(rng: random.Random, person: dict, household_size: int, today: dt.date) -> list[str]:
    age = (today - dt.date.fromisoformat(person["birth_date"])).days // 365
    tags = []
    if age >= 70 and household_size == 1:
        tags.append("独居老人")
    elif age >= 65 and household_size == 2 and rng.random() < 0.5:
        tags.append("空巢老人")
    if age < 16 and rng.random() < 0.02:
        tags.append(rng.choice(("留守儿童", "困境儿童")))
    if rng.random() < 0.015:
        tags.append("残疾人")
    if rng.random() < 0.012:
        tags.append("低保")
    if age >= 40 and person["sex"] == "男" and rng.random() < 0.03:
        tags.append("退役军人")
    if 18 <= age < 60 and rng.random() < 0.002:
        tags.append(rng.choice(("社区矫正", "安置帮教", "严重精神障碍")))
    if person["person_type"] == "流动":
        tags.append("流动人口")
    return tags


def _standard_tags(store) -> dict[str, str]:
    """The standard tag list (created once, same ids everywhere); returns name -> tag id."""
    from db.register.tags import ensure_default_tags

    ensure_default_tags(store)
    return {t.name: t.id for t in Tag.select().where(Tag.deleted == 0)}


def generate(store, *, households: int, seed: int = 1,
             progress: Callable[[int, int], bool] | None = None,
             today: dt.date | None = None) -> dict[str, int]:
    """Build the community; progress(done, total) may return False to stop (what is done stays)."""
    rng = random.Random(seed)
    today = today or dt.date(2026, 11, 1)
    people = _People(rng, today)
    counts = {"grids": 0, "compounds": 0, "buildings": 0, "units": 0, "households": 0, "persons": 0,
              "tags": 0}
    with store.db.atomic():
        tag_ids = _standard_tags(store)
    store.set_meta(demo="1")  # made-up people: the app shows a banner (db.register.community)
    per_grid = 600
    n_grids = max(1, (households + per_grid - 1) // per_grid)
    grids = [{"id": new_id(), "name": f"第{i + 1}网格", "code": f"G{i + 1:03d}",
              "worker": people.name()} for i in range(n_grids)]
    done = 0
    pending: dict[str, list[dict]] = {"compound": [], "building": [], "unit": [], "household": [],
                                      "person": [], "membership": [], "person_tag": []}

    def flush() -> None:
        # One search-index refresh per batch instead of one per table written.
        with store.db.atomic(), index.deferred(store):
            for model, key in ((Compound, "compound"), (Building, "building"), (Unit, "unit"),
                               (Household, "household"), (Person, "person"),
                               (Membership, "membership"), (PersonTag, "person_tag")):
                if pending[key]:
                    oplog.write(store, model, pending[key])
                    pending[key] = []

    with store.db.atomic():
        oplog.write(store, Grid, grids)
    counts["grids"] = n_grids
    compound_no = 0
    stop = False
    roster: list = []  # what the register history (visits, life events) is generated from
    while done < households and not stop:
        grid = grids[min(done // per_grid, n_grids - 1)]
        compound_no += 1
        cname = COMPOUND_NAMES[(compound_no - 1) % len(COMPOUND_NAMES)]
        if compound_no > len(COMPOUND_NAMES):
            cname += f"{(compound_no - 1) // len(COMPOUND_NAMES) + 1}期"
        compound = {"id": new_id(), "grid": grid["id"], "name": cname}
        pending["compound"].append(compound)
        counts["compounds"] += 1
        for b in range(rng.randrange(4, 12)):
            building = {"id": new_id(), "compound": compound["id"], "name": f"{b + 1}栋"}
            pending["building"].append(building)
            counts["buildings"] += 1
            floors = rng.randrange(6, 19)
            doors = rng.choice((2, 2, 3, 4))
            for u in range(rng.choice((1, 2, 2, 3))):
                unit = {"id": new_id(), "building": building["id"], "name": f"{u + 1}单元"}
                pending["unit"].append(unit)
                counts["units"] += 1
                for floor in range(1, floors + 1):
                    for d in range(1, doors + 1):
                        if done >= households:
                            break
                        door = f"{floor}{d:02d}"
                        address = f"{cname}{b + 1}栋{u + 1}单元{door}室"
                        use = _weighted(rng, HOUSE_USE)
                        hh = {"id": new_id(), "number": f"{grid['code']}-{done + 1:06d}",
                              "grid": grid["id"], "unit": unit["id"], "door": door,
                              "address": address, "house_use": use}
                        if use in ("出租", "群租", "出借"):
                            hh["owner_name"] = people.name()
                            hh["owner_phone"] = people.phone()
                        pending["household"].append(hh)
                        done += 1
                        if use != "空置":
                            hukou = "湖北省武汉市江岸区" + address if rng.random() < 0.75 else "外省市"
                            members = _household_members(rng, people, address, hukou)
                            roster_members: list = []
                            tagged = False
                            for person, relation in members:
                                pending["person"].append(person)
                                membership_id = new_id()
                                pending["membership"].append(
                                    {"id": membership_id, "household": hh["id"], "person": person["id"],
                                     "relation": relation, "since": person["move_in_date"]})
                                roster_members.append((person["id"], person["name"], person["birth_date"],
                                                       relation, membership_id))
                                for tag in _tags_for(rng, person, len(members), today):
                                    tagged = True
                                    pending["person_tag"].append(
                                        {"person": person["id"], "tag": tag_ids[tag],
                                         "start_date": person["move_in_date"], "reason": "入户核实"})
                                    counts["tags"] += 1
                            counts["persons"] += len(members)
                            roster.append((hh["id"], grid["worker"], roster_members, tagged))
                        if len(pending["household"]) >= BATCH:
                            flush()
                            if progress and progress(done, households) is False:
                                stop = True
                    if stop:
                        break
                if stop:
                    break
            if stop:
                break
    flush()
    counts["households"] = done
    if not stop:
        counts.update(add_history(store, roster, seed=seed, today=today))
        from db.volunteers.demo import generate_volunteers  # volunteers, teams, a year of service, rotas

        counts.update(generate_volunteers(store, seed=seed, today=today))
        from db.meetings.demo import generate as meetings_demo  # meetings, attendance, votes, matters

        counts.update(meetings_demo(store, seed=seed, today=today, households=done))
    if progress:
        progress(done, households)
    return counts
