"""A small real community written through the op log, and the printing screen, for the printing tests."""

from __future__ import annotations

import random

from db import oplog
from db.models.register import (
    Building,
    Compound,
    Grid,
    Household,
    Membership,
    Person,
    PersonTag,
    Tag,
    Unit,
    Visit,
)
from db.validation import check_character

RARE = "喆堃昇珺赟䶮"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"


def id_number(rng: random.Random, birth: str, male: bool) -> str:
    seq = rng.randrange(0, 50) * 2 + (1 if male else 0)
    first17 = "420102" + birth.replace("-", "") + f"{seq:03d}"
    return first17 + check_character(first17)


def make_community(store, *, buildings: int = 2, units: int = 2, doors: int = 3, seed: int = 1) -> dict:
    """幸福里小区 with `buildings` x `units` x `doors` households of 1-4 members; returns ids."""
    rng = random.Random(seed)
    ids: dict = {"buildings": [], "households": [], "persons": [], "visits": []}
    with store.db.atomic():
        grid = oplog.write(store, Grid, [{"name": "幸福里第二网格", "worker": "张网格"}])[0].row_id
        compound = oplog.write(store, Compound, [{"grid_id": grid, "name": "幸福里小区"}])[0].row_id
        tag = oplog.write(store, Tag, [{"name": "独居老人", "visit_interval_days": 30}])[0].row_id
        ids.update(grid=grid, compound=compound, tag=tag)
        rare = iter(RARE)
        for b in range(1, buildings + 1):
            building = oplog.write(store, Building, [{"compound_id": compound, "name": f"{b}栋"}])[0].row_id
            ids["buildings"].append(building)
            for u in range(1, units + 1):
                unit = oplog.write(store, Unit, [{"building_id": building, "name": f"{u}单元"}])[0].row_id
                for d in range(1, doors + 1):
                    door = f"{d + 1}0{u}室"
                    household = oplog.write(store, Household, [{
                        "number": f"XFL-{b:02d}{u}{d:02d}", "grid_id": grid, "unit_id": unit, "door": door,
                        "house_use": rng.choice(["自住", "出租"]), "owner_name": "房东" + rng.choice(GIVEN),
                        "owner_phone": f"139{rng.randrange(10**8):08d}"}])[0].row_id
                    ids["households"].append(household)
                    for m, relation in enumerate(["户主", "配偶", "子女", "父母"][:rng.randint(1, 4)]):
                        male = rng.random() < 0.5
                        year = 1950 + rng.randrange(60)
                        birth = f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                        given = next(rare, None) or rng.choice(GIVEN)
                        name = rng.choice(SURNAMES) + given + ("" if m else rng.choice(GIVEN))
                        person = oplog.write(store, Person, [{
                            "name": name, "sex": "男" if male else "女", "ethnicity": "汉族",
                            "id_type": "居民身份证", "id_number": id_number(rng, birth, male),
                            "birth_date": birth, "phone": f"138{rng.randrange(10**8):08d}",
                            "person_type": "常住", "residence_status": "人户一致"}])[0].row_id
                        ids["persons"].append(person)
                        oplog.write(store, Membership, [{"household_id": household, "person_id": person,
                                                         "relation": relation}])
                        if year < 1956:
                            oplog.write(store, PersonTag, [{"person_id": person, "tag_id": tag,
                                                            "start_date": "2025-01-01"}])
                    visit = oplog.write(store, Visit, [{
                        "household_id": household, "visitor": "张网格", "visit_date": "2026-11-20",
                        "met": "户主", "purpose": "例行走访", "situation": "家庭情况稳定。",
                        "requests": "希望楼道加装照明。", "outcome": "已转物业。",
                        "follow_up_date": "2026-12-20"}])[0].row_id
                    ids["visits"].append(visit)
    return ids


def printing_screen(ctx, qtbot, **community):
    """The printing screen on ctx (the conftest fixture), 1100 x 750 and shown. Given sizes
    (buildings=, units=, doors=), first make_community with them, its ids in widget.ids."""
    from views.printing import PrintingScreen

    ids = make_community(ctx.store, **community) if community else None
    widget = PrintingScreen(ctx)
    widget.ids = ids
    qtbot.addWidget(widget)
    widget.resize(1100, 750)
    widget.show()
    return widget
