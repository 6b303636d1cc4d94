"""The MessageStore contract (fix_gateway/store.py), run against every implementation.

"Reopen" is what a restarted gateway does: for PostgreSQL a brand-new store object with its
own connection pool reading what the first one persisted; for memory the same factory (the
memory store's persistence boundary is its factory, i.e. the process).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from fix_gateway.store import MessageStore
from fix_gateway.stores.memory import memory_store_factory
from fix_gateway.stores.postgres import PostgresMessageStore

BACKENDS = ["memory", "postgres"]


@dataclass
class Kit:
    """Opens stores of one backend; closes whatever it opened at the end of the test."""

    make: Callable[[str], MessageStore]
    reopen_make: Callable[[str], MessageStore]
    opened: list[MessageStore] = field(default_factory=list)

    async def open(self, session_id: str) -> MessageStore:
        store = self.make(session_id)
        await store.open()
        self.opened.append(store)
        return store

    async def reopen(self, session_id: str) -> MessageStore:
        store = self.reopen_make(session_id)
        await store.open()
        self.opened.append(store)
        return store

    async def probe(self, session_id: str) -> tuple[int, int, list[tuple[int, bytes]]]:
        """What a restarted gateway would load right now (opens, reads, closes)."""
        store = self.reopen_make(session_id)
        await store.open()
        try:
            # A second store on a session that is still open sees an "unclean stop" and
            # skips its sender sequence ahead; report what was persisted.
            skipped = getattr(store, "skipped_after_unclean_stop", 0)
            return store.next_sender_seq - skipped, store.next_target_seq, list(store.sent_range(1, 0))
        finally:
            if store not in self.opened:  # (memory: the same, still used instance)
                abandon = getattr(store, "abandon", None)  # leave the live session's row as is
                await (abandon() if abandon is not None else store.close())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Kit:
    if request.param == "memory":
        factory = memory_store_factory()
        return Kit(factory, factory)
    url: str = request.getfixturevalue("database_url")  # tests/conftest.py: fresh, migrated

    def make(session_id: str) -> MessageStore:
        return PostgresMessageStore(session_id, dsn=url)

    return Kit(make, make)


@pytest.fixture
async def kit(backend: Kit) -> AsyncIterator[Kit]:
    k = backend
    yield k
    for store in reversed(k.opened):
        await store.close()


@pytest.fixture
def sid() -> str:
    return f"FIX.4.4:ISLD->TEST-{uuid.uuid4().hex[:8]}"


def msg(seq: int) -> bytes:
    return b"8=FIX.4.4\x019=5\x0135=D\x0134=" + str(seq).encode() + b"\x0110=000\x01"


async def test_fresh_session_starts_at_one(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    assert store.next_sender_seq == 1
    assert store.next_target_seq == 1
    assert list(store.sent_range(1, 0)) == []


async def test_store_sent_advances_sender_seq_and_keeps_exact_bytes(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    store.store_sent(1, msg(1))
    store.store_sent(2, msg(2))
    assert store.next_sender_seq == 3
    assert list(store.sent_range(1, 2)) == [(1, msg(1)), (2, msg(2))]


async def test_a_run_is_stored_as_its_messages_one_by_one(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    store.store_sent(1, msg(1))
    store.store_sent_run(2, [msg(2), msg(3), msg(4)])
    store.store_sent_run(5, [])  # nothing: nothing changes
    assert store.next_sender_seq == 5
    store.store_sent_run(3, [b"three again"])  # over a number held: replaced, as store_sent
    store.store_sent(6, msg(6))
    store.store_sent_run(7, [msg(s) for s in range(7, 5000)])  # across index pages
    assert store.next_sender_seq == 5000
    want = [(1, msg(1)), (2, msg(2)), (3, b"three again"), (4, msg(4)), *((s, msg(s)) for s in range(6, 5000))]
    assert list(store.sent_range(1, 0)) == want
    await store.close()
    again = await kit.reopen(sid)
    assert again.next_sender_seq == 5000
    assert list(again.sent_range(1, 0)) == want


async def test_sent_range_bounds_gaps_and_open_end(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    for seq in (2, 3, 5, 6, 9):  # 1, 4, 7, 8 were admin messages: not stored
        store.store_sent(seq, msg(seq))
    assert store.next_sender_seq == 10
    assert [s for s, _ in store.sent_range(1, 0)] == [2, 3, 5, 6, 9]
    assert [s for s, _ in store.sent_range(3, 6)] == [3, 5, 6]
    assert [s for s, _ in store.sent_range(4, 4)] == []
    assert [s for s, _ in store.sent_range(6, 0)] == [6, 9]
    assert [s for s, _ in store.sent_range(10, 0)] == []
    assert [s for s, _ in store.sent_range(7, 8)] == []


async def test_out_of_order_and_overwritten_messages(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    store.store_sent(5, msg(5))
    store.store_sent(3, msg(3))
    store.store_sent(3, b"replaced")
    assert list(store.sent_range(1, 0)) == [(3, b"replaced"), (5, msg(5))]


async def test_set_next_seqs(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    store.set_next_sender_seq(42)
    store.set_next_target_seq(17)
    assert (store.next_sender_seq, store.next_target_seq) == (42, 17)


async def test_reset_starts_a_new_sequence(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    for seq in range(1, 6):
        store.store_sent(seq, msg(seq))
    store.set_next_target_seq(9)
    store.reset(123_456_789)
    assert (store.next_sender_seq, store.next_target_seq) == (1, 1)
    assert store.creation_time_ns == 123_456_789
    assert list(store.sent_range(1, 0)) == []
    store.store_sent(1, b"after reset")
    assert list(store.sent_range(1, 0)) == [(1, b"after reset")]


async def test_restart_resumes_state_and_messages(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    store.reset(1_700_000_000_000_000_000)
    for seq in (1, 2, 4):
        store.store_sent(seq, msg(seq))
    store.set_next_sender_seq(6)
    store.set_next_target_seq(11)
    await store.close()

    again = await kit.reopen(sid)
    assert again.next_sender_seq == 6
    assert again.next_target_seq == 11
    assert again.creation_time_ns == 1_700_000_000_000_000_000
    assert list(again.sent_range(1, 0)) == [(1, msg(1)), (2, msg(2)), (4, msg(4))]
    again.store_sent(6, msg(6))  # and it keeps going from there
    assert again.next_sender_seq == 7


async def test_reset_survives_restart(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    for seq in range(1, 4):
        store.store_sent(seq, msg(seq))
    await store.flush()
    store.reset(99)
    store.store_sent(1, b"new")
    await store.close()
    again = await kit.reopen(sid)
    assert (again.next_sender_seq, again.next_target_seq, again.creation_time_ns) == (2, 1, 99)
    assert list(again.sent_range(1, 0)) == [(1, b"new")]


async def test_changes_persist_without_explicit_flush(kit: Kit, sid: str) -> None:
    """The background batch writer persists within a short time while the store stays open."""
    store = await kit.open(sid)
    store.store_sent(1, msg(1))
    store.set_next_target_seq(5)
    wanted = (2, 5, [(1, msg(1))])
    seen = await kit.probe(sid)
    for _ in range(50):
        if seen == wanted:
            break
        await asyncio.sleep(0.02)
        seen = await kit.probe(sid)
    assert seen == wanted


async def test_sessions_are_isolated(kit: Kit, sid: str) -> None:
    one = await kit.open(sid)
    two = await kit.open(sid + "-other")
    one.store_sent(1, b"one")
    two.store_sent(1, b"two")
    two.store_sent(2, b"two-2")
    await one.close()
    await two.close()
    assert list((await kit.reopen(sid)).sent_range(1, 0)) == [(1, b"one")]
    assert (await kit.reopen(sid + "-other")).next_sender_seq == 3


async def test_large_batch_round_trips(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    count = 5000
    for seq in range(1, count + 1):
        store.store_sent(seq, msg(seq))
    await store.flush()
    await store.close()
    again = await kit.reopen(sid)
    stored = again.sent_range(1, 0)
    assert len(stored) == count
    assert stored[0] == (1, msg(1))
    assert stored[-1] == (count, msg(count))
    assert again.next_sender_seq == count + 1


async def test_flush_and_close_are_idempotent(kit: Kit, sid: str) -> None:
    store = await kit.open(sid)
    await store.flush()
    await store.flush()
    await store.close()
    await store.close()


async def test_a_store_holding_everything_says_so(kit: Kit, sid: str) -> None:
    """``first_held`` is 1 while every stored message is in memory, and ``load_held`` of a
    range it holds changes nothing."""
    store = await kit.open(sid)
    for seq in range(1, 6):
        store.store_sent(seq, msg(seq))
    await store.flush()
    assert store.first_held() == 1
    await store.load_held(1, 5)
    assert list(store.sent_range(1, 0)) == [(q, msg(q)) for q in range(1, 6)]
