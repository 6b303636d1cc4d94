"""The Bus seam."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from enum import Enum
from typing import NamedTuple, Protocol


class StreamKind(str, Enum):
    COMMANDS = "cmd"
    EVENTS = "evt"


class Record(NamedTuple):
    seq: int  # the stream sequence number: the order
    payload: bytes


class Bus(Protocol):
    async def ensure_streams(self) -> None:
        """Create the command and event streams if missing (idempotent)."""
        ...

    async def append(
        self, kind: StreamKind, payload: bytes, *, msg_id: str | None = None, shard: str = "0"
    ) -> int:
        """Durably append one message; return its stream sequence. Re-appending a
        ``msg_id`` seen within the duplicate window returns the original sequence."""
        ...

    async def append_many(
        self,
        kind: StreamKind,
        payloads: Sequence[bytes],
        *,
        msg_ids: Sequence[str | None] | None = None,
        shard: str = "0",
    ) -> list[int]:
        """Append several messages pipelined (one round trip's latency for all), in order."""
        ...

    def read(
        self, kind: StreamKind, start_seq: int = 1, *, shard: str | None = None
    ) -> AsyncIterator[Record]:
        """Every message from ``start_seq`` on, in order, then waits for new ones."""
        ...

    async def last_seq(self, kind: StreamKind) -> int:
        """The highest sequence in the stream (0 when empty)."""
        ...

    async def close(self) -> None: ...
