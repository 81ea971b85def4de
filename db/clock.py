"""Hybrid logical clock: physical milliseconds + counter + node, never going backwards.

A timestamp is text that sorts in time order: "0001764070000000-000000-<node>".
"""

from __future__ import annotations

import time
from collections.abc import Callable

SKEW_LIMIT_MS = 5 * 60 * 1000
_MAX_COUNTER = 999_999


def format_hlc(ms: int, counter: int, node: str) -> str:
    return f"{ms:016d}-{counter:06d}-{node}"


def parse_hlc(value: str) -> tuple[int, int, str]:
    ms, counter, node = value.split("-", 2)
    return int(ms), int(counter), node


def hlc_millis(value: str) -> int:
    return int(value[:16])


class HybridClock:
    """Issues increasing timestamps for one node; persisted by the caller after each write."""

    def __init__(self, node: str, last: str | None = None, wall: Callable[[], float] = time.time):
        self.node = node
        self._wall = wall
        if last:
            self._ms, self._counter, _ = parse_hlc(last)
        else:
            self._ms, self._counter = 0, 0

    @property
    def last(self) -> str:
        return format_hlc(self._ms, self._counter, self.node)

    def _physical(self) -> int:
        return int(self._wall() * 1000)

    def now(self) -> str:
        """A timestamp for a local event, later than every one issued or observed before."""
        pt = self._physical()
        if pt > self._ms:
            self._ms, self._counter = pt, 0
        else:
            self._counter += 1
            if self._counter > _MAX_COUNTER:
                self._ms, self._counter = self._ms + 1, 0
        return self.last

    def now_many(self, n: int) -> list[str]:
        """n increasing timestamps for a batch of local events (one reading of the wall clock)."""
        pt = self._physical()
        ms, counter = (pt, -1) if pt > self._ms else (self._ms, self._counter)
        out: list[str] = []
        suffix = f"-{self.node}"
        left = n
        while left > 0:
            first = counter + 1
            if first > _MAX_COUNTER:
                ms, first = ms + 1, 0
            take = min(left, _MAX_COUNTER + 1 - first)
            prefix = f"{ms:016d}-"
            out += [f"{prefix}{c:06d}{suffix}" for c in range(first, first + take)]
            counter = first + take - 1
            left -= take
        if n:
            self._ms, self._counter = ms, counter
        return out

    def observe(self, remote: str) -> bool:
        """Take a remote timestamp into account; returns True when it looks skewed (far ahead).

        A skewed clock is flagged to the caller, never a reason to refuse the data.
        """
        rms, rcounter, _ = parse_hlc(remote)
        pt = self._physical()
        skewed = rms - pt > SKEW_LIMIT_MS
        if rms > self._ms:
            self._ms, self._counter = rms, rcounter
        elif rms == self._ms and rcounter > self._counter:
            self._counter = rcounter
        return skewed
