"""In-memory MessageStore: the reference implementation of the contract (nothing persists)."""

from __future__ import annotations

from collections.abc import Sequence

from fix_gateway.store import MessageStore
from fix_gateway.stores.sent import SentMessages


class MemoryMessageStore:
    def __init__(self, session_id: str = "", creation_time_ns: int = 0) -> None:
        self.session_id = session_id
        self._next_sender = 1
        self._next_target = 1
        self._creation = creation_time_ns
        self._sent = SentMessages()

    @property
    def next_sender_seq(self) -> int:
        return self._next_sender

    @property
    def next_target_seq(self) -> int:
        return self._next_target

    @property
    def creation_time_ns(self) -> int:
        return self._creation

    async def open(self) -> None:
        return None

    def set_next_sender_seq(self, seq: int) -> None:
        self._next_sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        self._next_target = seq

    def store_sent(self, seq: int, raw: bytes) -> None:
        self._sent.add(seq, raw)
        self._next_sender = seq + 1

    def store_sent_run(self, first_seq: int, raws: Sequence[bytes]) -> None:
        if raws:
            self._sent.add_run(first_seq, raws)
            self._next_sender = first_seq + len(raws)

    def sent_range(self, begin: int, end: int) -> Sequence[tuple[int, bytes]]:
        return self._sent.range(begin, end)

    def first_held(self) -> int:
        return 1  # everything: memory is all this store has

    async def load_held(self, begin: int, end: int) -> None:
        return None

    def reset(self, creation_time_ns: int) -> None:
        self._next_sender = 1
        self._next_target = 1
        self._creation = creation_time_ns
        self._sent.clear()

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None


class MemoryStoreFactory:
    """A MessageStoreFactory keeping one MemoryMessageStore per session id."""

    def __init__(self) -> None:
        self.stores: dict[str, MemoryMessageStore] = {}

    def __call__(self, session_id: str) -> MessageStore:
        store = self.stores.get(session_id)
        if store is None:
            store = self.stores[session_id] = MemoryMessageStore(session_id)
        return store


def memory_store_factory() -> MemoryStoreFactory:
    return MemoryStoreFactory()


__all__ = ["MemoryMessageStore", "MemoryStoreFactory", "memory_store_factory"]
