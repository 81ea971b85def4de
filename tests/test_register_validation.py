"""Validators used by the register: ID numbers, dates, phones, person checks (messages in Chinese)."""

import datetime as dt

import pytest

from db.errors import ValidationError, ValidationErrors
from db.register.persons import check_person
from db.validation import check_character, mask_id, mask_phone, parse_id_number

TODAY = dt.date(2026, 11, 25)


def make_id(prefix17: str) -> str:
    return prefix17 + check_character(prefix17)


@pytest.mark.parametrize("number, birth, sex", [
    ("11010519491231002X", "1949-12-31", "女"),  # the standard's example, check character X
    (make_id("42010219800101001"), "1980-01-01", "男"),
    (make_id("81000019900228002"), "1990-02-28", "女"),  # Hong Kong residence permit
    (make_id("99999920000101003"), "2000-01-01", "男"),  # unknown region code: accepted
    ("110105491231002", "1949-12-31", "女"),  # legacy 15 digits
])
def test_good_id_numbers(number, birth, sex):
    info = parse_id_number(number, today=TODAY)
    assert info.birth_date.isoformat() == birth
    assert info.sex == sex


def test_lowercase_x_and_full_width_digits_are_normalised():
    info = parse_id_number("１１０１０５１９４９１２３１００２x", today=TODAY)
    assert info.number == "11010519491231002X"


def test_residence_permit_is_recognised():
    assert parse_id_number(make_id("82000019900228002"), today=TODAY).residence_permit


@pytest.mark.parametrize("number, words", [
    ("110105194912310021", "校验码"),  # wrong check character
    (make_id("11010519490231002"), "不存在"),  # 31 February: impossible date
    (make_id("11010520300101002"), "晚于今天"),  # birth date in the future
    ("1101051949123100", "18 位"),  # wrong length
    ("4.20102E+17", "丢失"),  # a spreadsheet lost the digits
])
def test_bad_id_numbers_say_what_is_wrong(number, words):
    with pytest.raises(ValidationError) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.field == "id_number"
    assert words in exc.value.message


def test_check_person_derives_birth_and_sex_and_flags_conflicts():
    checked = check_person({"name": "张三", "id_number": "11010519491231002X"}, on=TODAY)
    assert checked.values["birth_date"] == "1949-12-31"
    assert checked.values["sex"] == "女"
    assert checked.age == 76
    assert not checked.warnings
    flagged = check_person({"name": "张三", "id_number": "11010519491231002X", "birth_date": "1950-01-01",
                            "sex": "男"}, on=TODAY)
    assert {w.field for w in flagged.warnings} == {"birth_date", "sex"}
    assert flagged.values["birth_date"] == "1950-01-01"  # entered values are kept, only flagged


def test_check_person_reports_every_bad_field_at_once():
    with pytest.raises(ValidationErrors) as exc:
        check_person({"name": " ", "phone": "12345", "birth_date": "2030-01-01", "sex": "x",
                      "id_number": "110105194912310021"}, on=TODAY)
    fields = {e.field for e in exc.value.errors}
    assert fields == {"name", "phone", "birth_date", "sex", "id_number"}
    assert "姓名" in exc.value.message


def test_passport_numbers_are_not_checked_as_citizen_ids():
    checked = check_person({"name": "Anna Smith", "id_type": "护照", "id_number": "e1234567"}, on=TODAY)
    assert checked.values["id_number"] == "E1234567"


def test_masks():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
