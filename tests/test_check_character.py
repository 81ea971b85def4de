"""The GB 11643 check character (byte arithmetic) agrees with the textbook formula."""

from __future__ import annotations

import random

import pytest

from db.validation import check_character

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # the standard's weights, from their definition


def textbook(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def test_agrees_with_the_standard_on_many_numbers():
    rnd = random.Random(11643)
    for _ in range(20_000):
        first17 = "".join(rnd.choice("0123456789") for _ in range(17))
        assert check_character(first17) == textbook(first17)
    assert check_character("11010519491231002") == "X"  # the standard's own example


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100X"])
def test_refuses_what_is_not_17_digits(bad):
    with pytest.raises(ValueError):
        check_character(bad)


def test_other_digits_count_as_int_reads_them():
    assert check_character("１１０１０５１９４９１２３１００２") == "X"
