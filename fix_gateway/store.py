"""The MessageStore seam: sequence numbers and sent messages of one FIX session.

The session state machine is synchronous and sans-IO, so every method it calls on the
per-message path is synchronous and must not block: implementations keep the session's
state in memory and persist it asynchronously in batches (``flush``). ``open`` loads the
persisted state before the session starts; ``close`` flushes and releases resources.
A restarted gateway that opens the same session id resumes its sequence numbers and can
answer resend requests for everything that was flushed.

Every implementation passes ``tests/contract/test_message_store.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class MessageStore(Protocol):
    @property
    def next_sender_seq(self) -> int: ...

    @property
    def next_target_seq(self) -> int: ...

    @property
    def creation_time_ns(self) -> int:
        """When this session's sequence began (reset); nanoseconds since the epoch."""
        ...

    async def open(self) -> None: ...

    def set_next_sender_seq(self, seq: int) -> None: ...

    def set_next_target_seq(self, seq: int) -> None: ...

    def store_sent(self, seq: int, raw: bytes) -> None:
        """Record an outgoing message (the exact bytes sent) and advance next_sender_seq
        to seq + 1."""
        ...

    def store_sent_run(self, first_seq: int, raws: Sequence[bytes]) -> None:
        """``store_sent(first_seq + i, raws[i])`` for each i, in one call (a run of messages
        sent together)."""
        ...

    def sent_range(self, begin: int, end: int) -> Sequence[tuple[int, bytes]]:
        """Stored outgoing messages with begin <= seq <= end (end 0 = to the last), in
        sequence order; gaps (admin messages not stored) are simply absent."""
        ...

    def first_held(self) -> int:
        """The lowest sequence number from which every stored message is held in memory
        (``sent_range`` answers from there); 1 when all of them are. A store that bounds its
        memory keeps older messages only in its database: ``load_held`` brings them back."""
        ...

    async def load_held(self, begin: int, end: int) -> None:
        """Bring the stored messages begin..end back into memory, for a resend that reaches
        below ``first_held`` (they stay until the store next evicts; the session replays them
        at once). Raises when they cannot be read."""
        ...

    def reset(self, creation_time_ns: int) -> None:
        """Start a new sequence: both next seqs = 1, stored messages dropped."""
        ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...


class MessageStoreFactory(Protocol):
    def __call__(self, session_id: str) -> MessageStore: ...
