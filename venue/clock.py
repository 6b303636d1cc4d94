"""The injectable clock. Domain code never calls ``time.time()``; it is handed a Clock.

Times are integers: nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def monotonic_ns(self) -> int: ...


class SystemClock:
    """Wall clock for ``now_ns``, a monotonic clock for measuring intervals."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class TestClock:
    """A clock that moves only when a test moves it."""

    __test__ = False  # not a pytest test class

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now = start_ns
        self._mono = 0

    def now_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> None:
        step = ns + round(seconds * 1_000_000_000)
        if step < 0:
            raise ValueError("a clock does not go backwards")
        self._now += step
        self._mono += step

    def set(self, now_ns: int) -> None:
        self._now = now_ns
