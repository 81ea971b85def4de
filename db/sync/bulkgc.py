"""The cyclic garbage collector around bulk work on millions of objects (a big bundle's ops).

Paused during the work (it would walk the same objects again and again). At the end, what the
work left alive is moved to the permanent generation (gc.freeze) instead of staying in the young
generation: the next young collection would otherwise walk every one of those objects (~0.4 s per
pass for a million ops, twice as they age). Reference counting still frees them all when they are
dropped; the ops and rows made here hold no reference cycles.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FREEZE_FROM = 100_000  # objects left in the young generation; fewer are cheap to collect

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Usable as a decorator; nests (the collector resumes when the outermost one ends)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    ok = False
    try:
        yield
        ok = True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                # After a failure nothing is frozen: what an error keeps alive is left to the collector.
                if ok and gc.get_count()[0] >= FREEZE_FROM:
                    gc.freeze()
                if _was_enabled:
                    gc.enable()
