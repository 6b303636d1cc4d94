"""PostgresMessageStore under adversity (PostgreSQL only, beyond the MessageStore contract):
the database connection is cut by a TCP fault proxy while the session keeps sending; the
store must keep serving from memory, keep the batch, report the failure on ``flush`` and
persist everything once the database is reachable again."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from fix_gateway.stores.postgres import BLOCK_MESSAGES, PostgresMessageStore
from tests.support.faultproxy import proxy_for

DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@contextlib.asynccontextmanager
async def opened(sid: str, url: str, **options: Any) -> AsyncIterator[PostgresMessageStore]:
    store = PostgresMessageStore(sid, dsn=url, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def fetch_rows(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_outage_keeps_the_batch_and_recovers(database_url: str) -> None:
    proxy, url = await proxy_for(database_url)
    sid = f"FIX.4.4:ISLD->FAULT-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=url, retry_delay=0.05)
    await store.open()
    try:
        store.store_sent(1, b"one")
        await store.flush()

        proxy.cut()
        for seq in (2, 3, 4):  # the per-message path never touches the database
            store.store_sent(seq, b"m%d" % seq)
        store.set_next_target_seq(7)
        assert [s for s, _ in store.sent_range(1, 0)] == [1, 2, 3, 4]
        with pytest.raises(DB_ERRORS):
            await asyncio.wait_for(store.flush(), 10)
        store.store_sent(5, b"m5")  # arrives during the outage, after the failed flush

        proxy.restore()
        await asyncio.wait_for(store.flush(), 10)
    finally:
        await store.close()
        await proxy.stop()

    again = PostgresMessageStore(sid, dsn=database_url)
    await again.open()
    try:
        assert (again.next_sender_seq, again.next_target_seq) == (6, 7)
        assert list(again.sent_range(1, 0)) == [
            (1, b"one"),
            (2, b"m2"),
            (3, b"m3"),
            (4, b"m4"),
            (5, b"m5"),
        ]
    finally:
        await again.close()


async def test_reset_during_outage_wins_over_the_failed_batch(database_url: str) -> None:
    proxy, url = await proxy_for(database_url)
    sid = f"FIX.4.4:ISLD->FAULT-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=url, retry_delay=0.05)
    await store.open()
    try:
        store.store_sent(1, b"old-1")
        await store.flush()
        proxy.cut()
        store.store_sent(2, b"old-2")
        with pytest.raises(DB_ERRORS):
            await asyncio.wait_for(store.flush(), 10)
        store.reset(42)
        store.store_sent(1, b"new-1")
        proxy.restore()
        await asyncio.wait_for(store.flush(), 10)
    finally:
        await store.close()
        await proxy.stop()

    again = PostgresMessageStore(sid, dsn=database_url)
    await again.open()
    try:
        assert (again.next_sender_seq, again.creation_time_ns) == (2, 42)
        assert list(again.sent_range(1, 0)) == [(1, b"new-1")]
    finally:
        await again.close()


async def test_after_an_unclean_stop_the_sender_sequence_skips_ahead(database_url: str) -> None:
    """A gateway killed with kill -9 may have sent messages its store never wrote; the
    reopened store must not hand out those numbers again (the counterparty would log out
    with "MsgSeqNum too low"): it skips ahead, and a clean stop does not."""
    from fix_gateway.stores.postgres import UNCLEAN_SEQ_SKIP

    sid = f"FIX.4.4:VENUE->CRASH-{uuid.uuid4().hex[:8]}"
    first = PostgresMessageStore(sid, dsn=database_url, flush_interval=60)
    await first.open()
    for seq in (1, 2, 3):
        first.store_sent(seq, b"msg %d" % seq)
    await first.flush()
    first.store_sent(4, b"sent but never written")  # the crash comes before the next flush
    await first.abandon()  # kill -9: no close(), no final flush

    second = PostgresMessageStore(sid, dsn=database_url)
    await second.open()
    try:
        assert second.next_sender_seq == 4 + UNCLEAN_SEQ_SKIP
        assert [seq for seq, _ in second.sent_range(1, 0)] == [1, 2, 3]
    finally:
        await second.close()

    third = PostgresMessageStore(sid, dsn=database_url)
    await third.open()  # after a clean stop: no skip
    try:
        assert third.next_sender_seq == 4 + UNCLEAN_SEQ_SKIP
    finally:
        await third.close()


async def test_a_message_number_stored_twice_is_overwritten(database_url: str) -> None:
    """A number already stored (a retried batch whose first attempt did commit, or numbers
    reused without a reset) is stored again in a later block; the later copy wins."""
    sid = f"FIX.4.4:ISLD->TWICE-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=database_url)
    await store.open()
    try:
        store.store_sent(1, b"one")
        store.store_sent(2, b"two")
        await store.flush()
        store.set_next_sender_seq(2)  # numbers go back without a reset
        store.store_sent(2, b"two again")
        store.store_sent(3, b"three")
        await asyncio.wait_for(store.flush(), 10)
    finally:
        await store.close()

    again = PostgresMessageStore(sid, dsn=database_url)
    await again.open()
    try:
        assert list(again.sent_range(1, 0)) == [(1, b"one"), (2, b"two again"), (3, b"three")]
        assert again.next_sender_seq == 4
    finally:
        await again.close()


async def test_memory_is_bounded_and_older_messages_come_back_from_the_database(database_url: str) -> None:
    """Past ``memory_limit`` the oldest persisted messages leave memory (``first_held``
    moves up); ``load_held`` reads them back; a reopened store loads only the newest."""
    sid = f"FIX.4.4:ISLD->WINDOW-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=database_url, memory_limit=3)
    await store.open()
    try:
        for seq in range(1, 11):
            store.store_sent(seq, b"m%d" % seq)
        assert [s for s, _ in store.sent_range(1, 0)] == list(range(1, 11))  # not persisted yet
        await store.flush()
        assert store.first_held() == 8
        assert [s for s, _ in store.sent_range(1, 0)] == [8, 9, 10]

        await store.load_held(2, 7)
        assert store.first_held() == 2
        assert list(store.sent_range(2, 0)) == [(s, b"m%d" % s) for s in range(2, 11)]

        store.store_sent(11, b"m11")
        await store.flush()
        assert store.first_held() == 9 and [s for s, _ in store.sent_range(1, 0)] == [9, 10, 11]
    finally:
        await store.close()

    small = PostgresMessageStore(sid, dsn=database_url, memory_limit=3)
    await small.open()
    try:
        assert small.first_held() == 9 and [s for s, _ in small.sent_range(1, 0)] == [9, 10, 11]
        assert small.next_sender_seq == 12
    finally:
        await small.close()
    large = PostgresMessageStore(sid, dsn=database_url, memory_limit=100)
    await large.open()
    try:
        assert large.first_held() == 1 and [s for s, _ in large.sent_range(1, 0)] == list(range(1, 12))
    finally:
        await large.close()


async def test_unpersisted_messages_are_never_dropped_from_memory(database_url: str) -> None:
    proxy, url = await proxy_for(database_url)
    sid = f"FIX.4.4:ISLD->KEEP-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=url, memory_limit=2, retry_delay=0.05)
    await store.open()
    try:
        store.store_sent(1, b"m1")
        await store.flush()
        proxy.cut()
        for seq in range(2, 7):
            store.store_sent(seq, b"m%d" % seq)
        with pytest.raises(DB_ERRORS):
            await asyncio.wait_for(store.flush(), 10)
        assert store.first_held() == 1 and [s for s, _ in store.sent_range(1, 0)] == list(range(1, 7))
        proxy.restore()
        await asyncio.wait_for(store.flush(), 10)
        assert store.first_held() == 5 and [s for s, _ in store.sent_range(1, 0)] == [5, 6]
    finally:
        await store.close()
        await proxy.stop()


async def test_a_later_block_wins_where_blocks_overlap(database_url: str) -> None:
    """Numbers reused from below an earlier block: the later block starts lower but is
    newer, on open and on load_held alike; the earlier block's other messages stay."""
    sid = f"FIX.4.4:ISLD->OVERLAP-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=database_url)
    await store.open()
    try:
        for seq in range(5, 11):
            store.store_sent(seq, b"old%d" % seq)
        await store.flush()
        store.set_next_sender_seq(3)
        for seq in range(3, 8):
            store.store_sent(seq, b"new%d" % seq)
        await store.flush()
        store.set_next_sender_seq(11)
    finally:
        await store.close()
    expected = [(s, b"new%d" % s) for s in range(3, 8)] + [(s, b"old%d" % s) for s in range(8, 11)]

    async with opened(sid, database_url) as again:
        assert list(again.sent_range(1, 0)) == expected
    async with opened(sid, database_url, memory_limit=4) as four:
        # the newest four: 7 from the later block, which starts below them
        assert list(four.sent_range(1, 0)) == expected[-4:]
    async with opened(sid, database_url, memory_limit=1) as small:
        assert small.first_held() == 10
        await small.load_held(1, 9)
        assert list(small.sent_range(1, 0)) == expected
    rows = await fetch_rows(  # the view for ad-hoc SQL agrees
        database_url, "SELECT seq, raw FROM fix_messages WHERE session_id = $1 ORDER BY seq", sid
    )
    assert rows == expected


async def test_a_flush_is_one_row_and_a_backlog_splits(database_url: str) -> None:
    """One flush writes one fix_message_blocks row; a backlog beyond BLOCK_MESSAGES is split
    into rows of at most that many, in order."""
    sid = f"FIX.4.4:ISLD->BLOCKS-{uuid.uuid4().hex[:8]}"
    store = PostgresMessageStore(sid, dsn=database_url)
    await store.open()
    try:
        for seq in range(1, 4):
            store.store_sent(seq, b"m%d" % seq)
        await store.flush()
        for seq in range(4, 4 + BLOCK_MESSAGES + 10):
            store.store_sent(seq, b"m%d" % seq)
        await store.flush()
    finally:
        await store.close()
    rows = await fetch_rows(
        database_url, "SELECT first_seq, last_seq, n FROM fix_message_blocks WHERE session_id = $1 ORDER BY written", sid
    )
    assert rows == [
        (1, 3, 3), (4, 3 + BLOCK_MESSAGES, BLOCK_MESSAGES), (4 + BLOCK_MESSAGES, 13 + BLOCK_MESSAGES, 10)
    ]
