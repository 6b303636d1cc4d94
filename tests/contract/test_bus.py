"""The Bus contract: every implementation (JetStream, memory) passes the same suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.buses import isolated_bus, isolated_bus_config
from venue.bus.memory import MemoryBus
from venue.bus.protocol import Bus, StreamKind


@pytest.fixture(params=["memory", "jetstream"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        memory = MemoryBus()
        await memory.ensure_streams()
        yield memory
        await memory.close()
        return
    config = isolated_bus_config("T", storage="memory")
    async with isolated_bus(request.getfixturevalue("nats_url"), config) as jetstream:
        await jetstream.ensure_streams()  # idempotent
        yield jetstream


async def _take(bus: Bus, kind: StreamKind, start: int, n: int, shard: str | None = None) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []

    async def go() -> None:
        async for rec in bus.read(kind, start, shard=shard):
            out.append((rec.seq, rec.payload))
            if len(out) == n:
                return

    await asyncio.wait_for(go(), 10)
    return out


async def test_append_returns_increasing_sequences(bus: Bus) -> None:
    seqs = [await bus.append(StreamKind.COMMANDS, f"c{i}".encode()) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert await bus.last_seq(StreamKind.COMMANDS) == 5
    assert await bus.last_seq(StreamKind.EVENTS) == 0


async def test_read_from_a_sequence_in_order(bus: Bus) -> None:
    await bus.append_many(StreamKind.COMMANDS, [f"c{i}".encode() for i in range(1, 11)])
    got = await _take(bus, StreamKind.COMMANDS, 4, 7)
    assert got == [(i, f"c{i}".encode()) for i in range(4, 11)]


async def test_read_waits_for_new_messages(bus: Bus) -> None:
    reader = asyncio.create_task(_take(bus, StreamKind.EVENTS, 1, 3))
    await asyncio.sleep(0.1)
    for i in range(3):
        await bus.append(StreamKind.EVENTS, bytes([i]))
    assert [p for _, p in await reader] == [b"\x00", b"\x01", b"\x02"]


async def test_duplicate_msg_id_is_stored_once(bus: Bus) -> None:
    first = await bus.append(StreamKind.COMMANDS, b"batch-1", msg_id="gw1:1")
    again = await bus.append(StreamKind.COMMANDS, b"batch-1", msg_id="gw1:1")
    other = await bus.append(StreamKind.COMMANDS, b"batch-2", msg_id="gw1:2")
    assert again == first
    assert other == first + 1
    assert await bus.last_seq(StreamKind.COMMANDS) == 2


async def test_append_many_keeps_order_and_dedups(bus: Bus) -> None:
    seqs = await bus.append_many(
        StreamKind.COMMANDS, [b"a", b"b", b"c"], msg_ids=["m1", "m2", "m3"]
    )
    assert seqs == [1, 2, 3]
    again = await bus.append_many(StreamKind.COMMANDS, [b"b", b"d"], msg_ids=["m2", "m4"])
    assert again == [2, 4]


async def test_shards_share_one_sequence_and_filter_on_read(bus: Bus) -> None:
    await bus.append(StreamKind.COMMANDS, b"a0", shard="0")
    await bus.append(StreamKind.COMMANDS, b"b1", shard="1")
    await bus.append(StreamKind.COMMANDS, b"c0", shard="0")
    assert await _take(bus, StreamKind.COMMANDS, 1, 2, shard="0") == [(1, b"a0"), (3, b"c0")]
    assert await _take(bus, StreamKind.COMMANDS, 1, 3) == [(1, b"a0"), (2, b"b1"), (3, b"c0")]


async def test_large_batches_survive(bus: Bus) -> None:
    payload = bytes(range(256)) * 2048  # 512 KiB: one big batch
    seq = await bus.append(StreamKind.EVENTS, payload)
    assert await _take(bus, StreamKind.EVENTS, seq, 1) == [(seq, payload)]


async def test_expected_last_sequence_guards_a_single_writer(bus: Bus) -> None:
    from venue.bus.protocol import WrongLastSequence

    assert await bus.append(StreamKind.EVENTS, b"e1", expect_last_seq=0) == 1
    assert await bus.append_many(StreamKind.EVENTS, [b"e2", b"e3"], expect_last_seq=1) == [2, 3]
    with pytest.raises(WrongLastSequence):
        await bus.append(StreamKind.EVENTS, b"stale", expect_last_seq=1)
    with pytest.raises(WrongLastSequence):
        await bus.append_many(StreamKind.EVENTS, [b"x", b"y"], expect_last_seq=1)
    assert await bus.last_seq(StreamKind.EVENTS) == 3


async def test_expected_last_msg_id_chains_appends_that_one_foreign_append_breaks(bus: Bus) -> None:
    from venue.bus.protocol import WrongLastMsgId

    assert await bus.append(StreamKind.EVENTS, b"a", msg_id="a", expect_last_seq=0) == 1
    assert await bus.append(StreamKind.EVENTS, b"b", msg_id="b", expect_last_msg_id="a") == 2
    assert await bus.append(StreamKind.EVENTS, b"foreign") == 3
    with pytest.raises(WrongLastMsgId):
        await bus.append(StreamKind.EVENTS, b"c", msg_id="c", expect_last_msg_id="b")
    with pytest.raises(WrongLastMsgId):  # the chain does not realign, as sequences would
        await bus.append(StreamKind.EVENTS, b"d", msg_id="d", expect_last_msg_id="c")
    assert await bus.last_seq(StreamKind.EVENTS) == 3


async def test_re_appending_a_msg_id_that_expects_itself_confirms_it(bus: Bus) -> None:
    """The confirmation of an unacknowledged append: its sequence if it is stored (even with
    others after it), an error if it is not, and nothing stored either way."""
    from venue.bus.protocol import WrongLastMsgId

    await bus.append(StreamKind.EVENTS, b"a", msg_id="a")
    assert await bus.append(StreamKind.EVENTS, b"", msg_id="a", expect_last_msg_id="a") == 1
    await bus.append(StreamKind.EVENTS, b"foreign")
    assert await bus.append(StreamKind.EVENTS, b"", msg_id="a", expect_last_msg_id="a") == 1
    with pytest.raises(WrongLastMsgId):
        await bus.append(StreamKind.EVENTS, b"", msg_id="never", expect_last_msg_id="never")
    assert await bus.last_seq(StreamKind.EVENTS) == 2


async def test_unacked_appends_are_stored_or_refused_without_a_word(bus: Bus) -> None:
    from venue.bus.protocol import WrongLastMsgId

    bus.append_unacked_soon(StreamKind.EVENTS, b"x", msg_id="x", expect_last_seq=0)
    bus.append_unacked_soon(StreamKind.EVENTS, b"y", msg_id="y", expect_last_msg_id="x")
    bus.append_unacked_soon(StreamKind.EVENTS, b"z", msg_id="z", expect_last_msg_id="nobody")
    bus.append_unacked_soon(StreamKind.EVENTS, b"w", msg_id="w", expect_last_msg_id="z")
    # an acknowledged append after them is handled after them
    assert await bus.append(StreamKind.EVENTS, b"", msg_id="y", expect_last_msg_id="y") == 2
    with pytest.raises(WrongLastMsgId):
        await bus.append(StreamKind.EVENTS, b"", msg_id="w", expect_last_msg_id="w")
    assert await _take(bus, StreamKind.EVENTS, 1, 2) == [(1, b"x"), (2, b"y")]
    assert await bus.last_seq(StreamKind.EVENTS) == 2


async def test_appends_made_from_a_callback_keep_their_order(bus: Bus) -> None:
    """append_soon / append_unacked_soon need no coroutine: made from a plain callback, mixed
    with each other, they land in the order they were made, and each future gives its own
    sequence or its own refusal."""
    from venue.bus.protocol import WrongLastSequence

    made: list[asyncio.Future[int]] = []

    def callback() -> None:
        made.append(bus.append_soon(StreamKind.COMMANDS, b"a", msg_id="a"))
        bus.append_unacked_soon(StreamKind.COMMANDS, b"b", msg_id="b", expect_last_msg_id="a")
        made.append(bus.append_soon(StreamKind.COMMANDS, b"c", expect_last_seq=2))
        made.append(bus.append_soon(StreamKind.COMMANDS, b"refused", expect_last_seq=7))
        made.append(bus.append_soon(StreamKind.COMMANDS, b"a again", msg_id="a"))  # a duplicate

    asyncio.get_running_loop().call_soon(callback)
    while len(made) < 4:
        await asyncio.sleep(0.001)
    results = await asyncio.wait_for(asyncio.gather(*made, return_exceptions=True), 10)
    assert results[:2] == [1, 3]
    assert isinstance(results[2], WrongLastSequence)
    assert results[3] == 1
    assert await _take(bus, StreamKind.COMMANDS, 1, 3) == [(1, b"a"), (2, b"b"), (3, b"c")]


async def test_no_append_is_in_doubt_on_a_bus_that_stays_connected(bus: Bus) -> None:
    future = bus.append_soon(StreamKind.COMMANDS, b"x")
    assert not bus.appends_in_doubt()  # (waiting for its acknowledgement is not doubt)
    assert await asyncio.wait_for(future, 10) == 1
    assert not bus.appends_in_doubt()


async def test_a_closed_bus_refuses_an_append_at_once(bus: Bus) -> None:
    await bus.close()
    with pytest.raises(ConnectionError):
        bus.append_soon(StreamKind.COMMANDS, b"x")
    with pytest.raises(ConnectionError):
        bus.append_unacked_soon(StreamKind.COMMANDS, b"x")


async def test_a_reader_with_a_direct_handler_sees_each_record_once_in_order(bus: Bus) -> None:
    """Records handed to ``direct`` are not yielded; one it declines is yielded, and so is
    every one after it until the reader waits again; none is lost, none comes twice, the
    order holds across both ways. The reader awaits between records (a slow step), so
    records also pile up while it is busy."""
    from venue.bus.protocol import Record

    seen: list[tuple[str, int]] = []

    def direct(record: Record) -> bool:
        if record.seq % 3 == 0:
            return False  # declined: yielded instead
        seen.append(("direct", record.seq))
        return True

    async def read() -> None:
        async for rec in bus.read(StreamKind.EVENTS, 1, direct=direct):
            seen.append(("yielded", rec.seq))
            await asyncio.sleep(0.002)
            if len(seen) >= 60:
                return

    reader = asyncio.ensure_future(read())
    for i in range(20):
        await bus.append(StreamKind.EVENTS, f"e{i}".encode())
        await asyncio.sleep(0.005)  # the reader is waiting: direct may take it
    for i in range(20, 60):
        bus.append_unacked_soon(StreamKind.EVENTS, f"e{i}".encode())  # a burst
    await asyncio.wait_for(reader, 10)
    assert [seq for _, seq in seen] == list(range(1, 61))
    assert all(how == "yielded" for how, seq in seen if seq % 3 == 0)


async def test_a_stream_has_a_stable_identity(bus: Bus) -> None:
    before = await bus.stream_id(StreamKind.EVENTS)
    await bus.append_many(StreamKind.EVENTS, [b"a", b"b"])
    assert await bus.stream_id(StreamKind.EVENTS) == before != 0
    assert await bus.stream_id(StreamKind.COMMANDS) not in (0, before)


async def test_last_returns_the_newest_record(bus: Bus) -> None:
    assert await bus.last(StreamKind.COMMANDS) is None
    await bus.append_many(StreamKind.COMMANDS, [b"a", b"b"])
    assert await bus.last(StreamKind.COMMANDS) == (2, b"b")


async def test_a_waiting_read_ends_when_the_bus_closes(bus: Bus) -> None:
    await bus.append(StreamKind.EVENTS, b"x")
    got: list[int] = []

    async def go() -> None:
        async for rec in bus.read(StreamKind.EVENTS, 1):
            got.append(rec.seq)

    reader = asyncio.create_task(go())
    await asyncio.sleep(0.2)  # the record is read; the reader waits for the next
    await asyncio.wait_for(bus.close(), 5)  # (a drain that waited for the reader took 30 s)
    await asyncio.wait_for(reader, 5)
    assert got == [1]


async def test_a_paused_reader_gets_every_record_in_order(bus: Bus) -> None:
    """A reader that stops between records (as the persistence writer does while a batch
    waits) misses nothing and sees no duplicate, from any start, filtered by shard (the
    stream's sequence then skips the other shard's records)."""
    for i in range(30):
        await bus.append(StreamKind.EVENTS, b"%d" % i, shard="0" if i % 3 else "1")
    got: list[tuple[int, bytes]] = []

    async def go() -> None:
        async for rec in bus.read(StreamKind.EVENTS, 5, shard="0"):
            got.append((rec.seq, rec.payload))
            if len(got) % 4 == 0:
                await asyncio.sleep(0.05)  # paused: records pile up meanwhile
            if len(got) == 26:
                return

    reader = asyncio.create_task(go())
    await asyncio.sleep(0.1)
    for i in range(30, 45):
        await bus.append(StreamKind.EVENTS, b"%d" % i, shard="0" if i % 3 else "1")
    await asyncio.wait_for(reader, 10)
    assert got == [(i + 1, b"%d" % i) for i in range(4, 45) if i % 3][:26]


async def test_deliveries_held_arrive_all_in_order_when_released(bus: Bus) -> None:
    got: list[tuple[int, bytes]] = []
    first = asyncio.Event()

    async def go() -> None:
        async for rec in bus.read(StreamKind.EVENTS, 1):
            got.append((rec.seq, rec.payload))
            first.set()
            if len(got) == 40:
                return

    reader = asyncio.create_task(go())
    await bus.append(StreamKind.EVENTS, b"e1")
    await asyncio.wait_for(first.wait(), 10)
    bus.hold_deliveries(True)
    bus.hold_deliveries(True)  # (twice: still one hold)
    for i in range(2, 41):  # appends without acknowledgements: a held bus reads nothing
        bus.append_unacked_soon(StreamKind.EVENTS, f"e{i}".encode())
    await asyncio.sleep(0.2)
    held = len(got)
    bus.hold_deliveries(False)
    bus.hold_deliveries(False)
    await asyncio.wait_for(reader, 10)
    assert got == [(i, f"e{i}".encode()) for i in range(1, 41)]
    if isinstance(bus, MemoryBus):
        return
    assert held == 1  # nothing was taken off the connection while held
    assert await bus.append(StreamKind.EVENTS, b"after") == 41  # the connection works on
