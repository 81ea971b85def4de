"""Speed-ups of bulk imports that must not change results: the GB 11643 check character by byte
arithmetic, and the garbage collector paused during bulk ledger work."""

from __future__ import annotations

import random
from pathlib import Path

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


def test_bulk_ledger_work_pauses_the_garbage_collector_and_always_resumes_it(store, tmp_path):
    import gc

    from db.ledger.preview import build_preview, plan_import
    from db.ledger.progress import gc_paused

    seen = []

    class State:
        def set_progress(self, done, total, text=None):
            seen.append(gc.isenabled())

        def is_cancelled(self):
            return False

    plan = plan_import(Path(__file__).parent / "fixtures" / "ledger" / "community.xlsx",
                       store=store)
    assert gc.isenabled()
    build_preview(store, plan, state=State())
    assert seen and not any(seen)  # paused while working
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("stopped")
    assert gc.isenabled()  # resumed although the work stopped with an exception
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
