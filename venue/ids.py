"""Order ids and command sequence numbers, unique across gateways and restarts.

``id = (microseconds since the epoch << 6) | gateway_id``, forced strictly increasing per
gateway: unique across the (up to 64) gateways, and across restarts of one gateway as long as
the wall clock does not step back by more than the ids issued ahead of it (one id per
microsecond on average is the sustained limit). 2^57 microseconds last 4,500 years.
"""

from __future__ import annotations

from venue.clock import Clock

GATEWAY_BITS = 6
MAX_GATEWAYS = 1 << GATEWAY_BITS
OPERATOR_ID = MAX_GATEWAYS - 1  # operator tools (bootstrap, kill switch); gateways use 0..62


class IdAllocator:
    def __init__(self, gateway_id: int, clock: Clock) -> None:
        if not 0 <= gateway_id < MAX_GATEWAYS:
            raise ValueError(f"gateway_id must be 0..{MAX_GATEWAYS - 1}")
        self.gateway_id = gateway_id
        self.clock = clock
        self.last = 0

    def next(self) -> int:
        return self.next_at(self.clock.now_ns())

    def next_at(self, now_ns: int) -> int:
        """``next()`` for a caller that has just read the clock (``now_ns``, from this
        allocator's clock): one clock read for the id and the command's timestamp."""
        candidate = ((now_ns // 1000) << GATEWAY_BITS) | self.gateway_id
        if candidate <= self.last:
            candidate = self.last + MAX_GATEWAYS
        self.last = candidate
        return candidate
