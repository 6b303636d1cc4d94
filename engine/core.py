"""Per-command convenience API over the C core (``engine._book.Engine``).

For throughput use ``apply_batch`` with ``engine.wire`` records; ``apply`` encodes one command,
runs it as a batch of one and decodes the resulting events.
"""

from __future__ import annotations

from engine import commands as c
from engine import wire
from engine._book import Engine


class MatchingEngine:
    """The C engine with command/event objects. Same surface as ``ReferenceEngine``."""

    def __init__(self, core: Engine | None = None) -> None:
        self.core = core if core is not None else Engine()

    def apply(self, cmd: c.Command) -> list[c.Event]:
        return wire.decode_events(self.core.apply_batch(wire.encode_command(cmd)))

    def apply_many(self, cmds: list[c.Command]) -> list[c.Event]:
        return wire.decode_events(self.core.apply_batch(wire.encode_commands(cmds)))

    def apply_batch(self, buf: bytes) -> bytes:
        return self.core.apply_batch(buf)

    def state_hash(self) -> int:
        return self.core.state_hash()

    def snapshot(self) -> bytes:
        return self.core.snapshot()

    @classmethod
    def restore(cls, data: bytes) -> MatchingEngine:
        return cls(Engine.restore(data))

    def resting_orders(self) -> int:
        return self.core.order_count()
