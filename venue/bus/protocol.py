"""The Bus seam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from enum import Enum
from typing import NamedTuple, Protocol


class StreamKind(str, Enum):
    COMMANDS = "cmd"
    EVENTS = "evt"


class Record(NamedTuple):
    seq: int  # the stream sequence number: the order
    payload: bytes


class WrongLastSequence(RuntimeError):
    """An append with ``expect_last_seq`` found the stream at another sequence: someone else
    appended, or an earlier pipelined append failed. Nothing was stored."""


class WrongLastMsgId(WrongLastSequence):
    """An append with ``expect_last_msg_id`` found another message (or one without a
    ``msg_id``) last in the stream: someone else appended, or the append it follows was
    refused. Nothing was stored."""


class AckLost(ConnectionError):
    """The connection to the log was lost before an append's acknowledgement came: the
    append may or may not be stored. Append it again with the same ``msg_id`` (stored once
    within the duplicate window), or confirm it another way."""


class Bus(Protocol):
    async def ensure_streams(self) -> None:
        """Create the command and event streams if missing (idempotent)."""
        ...

    async def append(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> int:
        """Durably append one message; return its stream sequence. Re-appending a
        ``msg_id`` seen within the duplicate window returns the original sequence (and
        stores nothing, whatever ``expect_last_msg_id`` says). With ``expect_last_seq`` the
        append succeeds only if the stream's last sequence is that (else WrongLastSequence):
        a single writer's guarantee of a gap-free log. With ``expect_last_msg_id`` it
        succeeds only if the stream's last message was appended with that ``msg_id`` (else
        WrongLastMsgId): a chain of appends that one foreign message breaks for good, where
        expected sequences would realign after it."""
        ...

    def append_soon(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> asyncio.Future[int]:
        """Start an append and return the future of its sequence (pipelining). Nothing is
        awaited, so a callback may append: the append is made now, in order with every
        other append and ``append_unacked_soon`` of this bus, and the future gives its
        sequence (or why it failed). Raises at once only when the bus cannot take the append
        at all (closed, or disconnected with its outgoing buffer full)."""
        ...

    def append_unacked_soon(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> None:
        """Send an append without asking for its outcome (made now, as ``append_soon``): a
        refused one is not reported. Only for a writer that chains its appends with
        ``expect_last_msg_id``: a later append that is acknowledged vouches for every one
        before it in the chain, and re-appending the newest ``msg_id`` with
        ``expect_last_msg_id`` set to itself confirms it (its sequence if it is stored,
        WrongLastMsgId if it is not)."""
        ...

    def appends_in_doubt(self) -> bool:
        """True while an append made before the connection to the log was lost is neither
        acknowledged nor failed (``AckLost``): it may or may not be stored, and if it is
        not, it will be appended again after anything appended meanwhile. A writer whose
        appends must stay in order holds new ones while this is True."""
        ...

    async def append_many(
        self,
        kind: StreamKind,
        payloads: Sequence[bytes],
        *,
        msg_ids: Sequence[str | None] | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
    ) -> list[int]:
        """Append several messages pipelined (one round trip's latency for all), in order.
        With ``expect_last_seq`` message i expects ``expect_last_seq + i``: if one fails
        because an earlier one did, every later one fails too. (A foreign message in between
        realigns the expectations for the ones after it; chain with ``expect_last_msg_id``
        where that matters.)"""
        ...

    def read(
        self, kind: StreamKind, start_seq: int = 1, *, shard: str | None = None,
        direct: Callable[[Record], bool] | None = None,
    ) -> AsyncGenerator[Record, None]:
        """Every message from ``start_seq`` on, in order, then waits for new ones (close the
        generator, e.g. with ``contextlib.aclosing``, to stop receiving).

        ``direct``: records that arrive while the reader waits for one may be handed to it as
        they come, from a plain callback, instead of being yielded (no task woken for them).
        It returns False to decline a record: that one and every one after it are yielded
        instead, until the reader waits again. Each record goes to exactly one of the two,
        in order. An implementation may yield every record and never call it."""
        ...

    def hold_deliveries(self, held: bool) -> None:
        """A hint from a reader that works in batches (the persistence writer): while
        held, nothing is taken off this bus's connection, so the records a ``read`` is
        delivered wait in the server and the socket instead of waking this process one by
        one; released, they arrive together, in order, none lost. Acknowledgements of
        appends on this bus wait too: only for a bus that reads. May do nothing."""
        ...

    async def last(self, kind: StreamKind) -> Record | None:
        """The last message of the stream, or None when it is empty."""
        ...

    async def stream_id(self, kind: StreamKind) -> int:
        """A non-zero 63-bit identity of the stream that tells it from one deleted and
        created again under the same name (snapshots are only valid for the stream they were
        taken from; the records themselves may be the same: the same bootstrap)."""
        ...

    async def last_seq(self, kind: StreamKind) -> int:
        """The highest sequence in the stream (0 when empty)."""
        ...

    async def close(self) -> None: ...

