"""The injected clock: nanoseconds since the Unix epoch (UTC). No time.time() in the machine."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> int: ...


system_clock: Clock = time.time_ns


class TestClock:
    """A clock tests drive by hand."""

    __test__ = False  # not a pytest class

    def __init__(self, now_ns: int = 1_763_769_600_000_000_000) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1_000_000_000)


__all__ = ["Clock", "TestClock", "system_clock"]
