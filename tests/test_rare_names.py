"""Rare characters (生僻字) in the register: search by the character, pinyin and initials (with
readings people add for characters pypinyin lacks), stable order, bundles, private-use warnings."""

from __future__ import annotations

import pytest
import rare_chars
from sync_helpers import make_replicas

from db import oplog
from db.errors import ValidationErrors
from db.register import households, persons, readings
from db.register.search import Filters, fetch_rows, search_ids
from db.sync import exchange, identity
from tests.register_helpers import first_unit


def _family(store) -> None:
    households.register_household(store, household={"unit_id": first_unit(store), "door": "101"}, members=[
        {"relation": "户主", "name": "王𠮷", "birth_date": "1960-01-01"},
        {"relation": "配偶", "name": "赵孟𫖯", "birth_date": "1961-01-01"},
        {"relation": "子女", "name": "李䶮", "birth_date": "1990-01-01"},
        {"relation": "子女", "name": "陈𰻞", "birth_date": "1992-01-01"}])


def names(store, text: str) -> list[str]:
    found = search_ids(store, Filters(text=text)).ids
    rows = fetch_rows(store, found)
    return [rows[r]["name"] for r in found]


def test_search_by_the_rare_character_its_pinyin_and_initials(store):
    _family(store)
    for term, expected in [("𫖯", ["赵孟𫖯"]), ("孟𫖯", ["赵孟𫖯"]), ("赵孟𫖯", ["赵孟𫖯"]), ("zmf", ["赵孟𫖯"]),
                           ("zhaomengfu", ["赵孟𫖯"]), ("䶮", ["李䶮"]), ("liyan", ["李䶮"]), ("ly", ["李䶮"]),
                           ("𠮷", ["王𠮷"]), ("王𠮷", ["王𠮷"]), ("𰻞", ["陈𰻞"]), ("cb", ["陈𰻞"])]:
        assert names(store, term) == expected, term
    assert names(store, "wj") == []  # pypinyin has no reading for 𠮷


def test_a_reading_people_add_is_synced_and_indexed(store, tmp_path):
    _family(store)
    order = names(store, "")
    changes = readings.add_reading(store, char="𠮷", reading="jí")
    assert [c.table for c in changes] == ["char_reading"]
    assert names(store, "wj") == ["王𠮷"] and names(store, "wangji") == ["王𠮷"]
    assert names(store, "") == order  # the list order does not depend on readings
    assert readings.add_reading(store, char="𠮷", reading="ji2") == []  # the same reading again
    assert oplog.compare_with_log(store) == []
    assert [c.char for c in readings.find_characters("ji", store=store)][0] == "𠮷"
    # Removed: the name loses that pinyin again.
    (entry,) = readings.list_readings(store)
    readings.remove_reading(store, reading_id=entry["id"])
    assert names(store, "wj") == []


def test_a_bad_reading_changes_nothing(store):
    for char, reading in [("ab", "ji"), ("𠮷", "吉"), ("𠮷", "j1x"), ("\ue000", "ji")]:
        with pytest.raises(ValidationErrors):
            readings.add_reading(store, char=char, reading=reading)
    assert readings.list_readings(store) == []


def test_bundles_carry_four_byte_names_and_readings(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        _family(a)
        readings.add_reading(a, char="𠮷", reading="ji")
        data = exchange.export_bundle(a, full=True, for_device=identity.identity(b).device_id).data
    with b.activated():
        exchange.import_bundle(b, exchange.read_bundle(b, data))
        stored = {r[0] for r in b.db.execute_sql("select name from person")}
        assert stored == {"王𠮷", "赵孟𫖯", "李䶮", "陈𰻞"}
        assert names(b, "wj") == ["王𠮷"] and names(b, "𫖯") == ["赵孟𫖯"]
        assert oplog.compare_with_log(b) == []


def test_character_picker_lookup_by_pinyin_code_point_and_character(store):
    (fu,) = readings.find_characters("2B5AF")
    assert fu.char == "𫖯" and fu.code == "U+2B5AF" and fu.block == "扩展C" and fu.readings == ("fǔ",)
    assert fu.standard == 7399  # in the 通用规范汉字表
    assert [c.char for c in readings.find_characters("u+20bb7")] == ["𠮷"]
    assert [c.char for c in readings.find_characters("0x4DAE")] == ["䶮"]
    found = [c.char for c in readings.find_characters("fu")]
    assert "𫖯" in found and found.index("𫖯") < 200  # standard characters first
    assert [c.char for c in readings.find_characters("fǔ")][:5] == [c for c in found if "fǔ" in
                                                                   readings.char_info(c).readings][:5]
    assert [c.char for c in readings.find_characters("赵孟𫖯")] == ["赵", "孟", "𫖯"]
    assert readings.find_characters("xyzzy") == [] and readings.find_characters("E000") == []


def test_every_standard_character_is_an_ideograph_of_a_known_block():
    for char in rare_chars.tongyong_guifan():
        assert readings.block_of(char), f"U+{ord(char):04X}"


def test_private_use_characters_in_a_typed_name_are_flagged(store):
    checked = persons.check_person({"name": "王\ue3c1明"})
    (warning,) = [w for w in checked.warnings if w.field == "name"]
    assert "U+E3C1" in warning.message and "第 2 个字" in warning.message and "造字" in warning.message
    assert checked.values["name"] == "王\ue3c1明"  # flagged, not refused
    assert readings.private_use_chars("𫖯\U000f0001") == [(2, "\U000f0001")]  # plane 15 too
    assert not persons.check_person({"name": "赵孟𫖯"}).warnings
