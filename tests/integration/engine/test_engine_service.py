"""The engine service against real JetStream: answers, crash recovery, exact replay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import wire
from engine.core import MatchingEngine
from engine.service import EngineService
from engine.snapshots import SnapshotStore
from tests.property.engine_streams import StreamGen, funded_setup
from tests.support.buses import isolated_bus, isolated_bus_config
from venue.bus.envelope import (
    Envelope,
    RequestMeta,
    decode_envelope,
    decode_meta,
    encode_envelope,
    encode_meta,
)
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.config import EngineConfig


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[JetStreamBus]:
    async with isolated_bus(nats_url, isolated_bus_config("E")) as b:
        yield b


def _batches(seed: int, n_batches: int, size: int) -> list[bytes]:
    gen = StreamGen(seed)
    return [funded_setup()] + [gen.batch(size) for _ in range(n_batches)]


async def _publish(bus: JetStreamBus, bodies: list[bytes], meta: bool = False) -> None:
    payloads = []
    for i, body in enumerate(bodies, 1):
        m = encode_meta([RequestMeta(seq=i, session="S", cl_ord_id=f"c{i}")]) if meta else b""
        payloads.append(encode_envelope(Envelope(1, "cmd", "test", i, 0, len(body) // wire.CMD_SIZE, body, m)))
    for k in range(0, len(payloads), 50):
        await bus.append_many(StreamKind.COMMANDS, payloads[k : k + 50])


async def _answers(bus: JetStreamBus, n: int) -> list[Envelope]:
    out: list[Envelope] = []

    async def go() -> None:
        async for rec in bus.read(StreamKind.EVENTS, 1):
            out.append(decode_envelope(rec.payload))
            if len(out) == n:
                return

    await asyncio.wait_for(go(), 60)
    return out


async def _until_applied(service: EngineService, seq: int) -> None:
    for _ in range(3000):
        if service.applied_seq >= seq:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"engine stuck at {service.applied_seq}, wanted {seq}")


async def test_every_command_record_is_answered_in_order(bus: JetStreamBus, tmp_path: Path) -> None:
    bodies = _batches(seed=1, n_batches=40, size=50)
    await _publish(bus, bodies, meta=True)
    service = EngineService(bus, SnapshotStore(tmp_path), EngineConfig())
    task = asyncio.create_task(service.run())
    answers = await _answers(bus, len(bodies))
    task.cancel()

    assert [a.answers for a in answers] == list(range(1, len(bodies) + 1))
    assert decode_meta(answers[3].meta) == [RequestMeta(seq=4, session="S", cl_ord_id="c4")]
    oracle = MatchingEngine()
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.body == oracle.apply_batch(body)  # bit for bit
    assert service.engine.state_hash() == oracle.state_hash()


async def test_crash_mid_stream_then_recover_gives_the_clean_replay_hash(bus: JetStreamBus, tmp_path: Path) -> None:
    bodies = _batches(seed=2, n_batches=120, size=40)
    store = SnapshotStore(tmp_path, keep=2)
    config = EngineConfig(snapshot_every=25)
    await _publish(bus, bodies[:70])

    first = EngineService(bus, store, config)
    task = asyncio.create_task(first.run())
    await _until_applied(first, 70)
    task.cancel()  # like kill -9: no final snapshot, acks maybe in flight
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.latest() is not None

    await _publish_more(bus, bodies, 70)
    second = EngineService(bus, store, config)
    task = asyncio.create_task(second.run())
    answers = await _answers(bus, len(bodies))
    await _until_applied(second, len(bodies))
    task.cancel()

    # Exactly one answer per command record, in order, none duplicated, none missing.
    assert [a.answers for a in answers] == list(range(1, len(bodies) + 1))
    oracle = MatchingEngine()
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.body == oracle.apply_batch(body)
    assert second.engine.state_hash() == oracle.state_hash()


async def _publish_more(bus: JetStreamBus, bodies: list[bytes], start: int) -> None:
    payloads = [
        encode_envelope(Envelope(1, "cmd", "test", i, 0, len(b) // wire.CMD_SIZE, b))
        for i, b in enumerate(bodies[start:], start + 1)
    ]
    for k in range(0, len(payloads), 50):
        await bus.append_many(StreamKind.COMMANDS, payloads[k : k + 50])


async def test_malformed_records_are_answered_empty_and_change_nothing(bus: JetStreamBus, tmp_path: Path) -> None:
    setup = funded_setup()
    await bus.append(StreamKind.COMMANDS, encode_envelope(Envelope(1, "cmd", "t", 1, 0, 0, setup)))
    await bus.append(StreamKind.COMMANDS, b"\x00not an envelope")
    await bus.append(StreamKind.COMMANDS, encode_envelope(Envelope(1, "cmd", "t", 2, 0, 0, b"short")))
    service = EngineService(bus, SnapshotStore(tmp_path))
    task = asyncio.create_task(service.run())
    answers = await _answers(bus, 3)
    task.cancel()
    assert [(a.answers, a.count, a.body) for a in answers[1:]] == [(2, 0, b""), (3, 0, b"")]
    oracle = MatchingEngine()
    oracle.apply_batch(setup)
    assert service.engine.state_hash() == oracle.state_hash()


async def test_a_second_writer_cannot_interleave_events(bus: JetStreamBus, tmp_path: Path) -> None:
    from venue.bus.protocol import WrongLastSequence

    await _publish(bus, _batches(seed=3, n_batches=3, size=10))
    service = EngineService(bus, SnapshotStore(tmp_path))
    await service.recover()
    await bus.append(StreamKind.EVENTS, b"intruder")  # someone else wrote to the event log
    rec = await bus.last(StreamKind.COMMANDS)
    assert rec is not None
    await service.step(1, (await _first(bus)).payload)
    with pytest.raises(WrongLastSequence):
        await service.flush()


async def _first(bus: JetStreamBus):  # type: ignore[no-untyped-def]
    async for rec in bus.read(StreamKind.COMMANDS, 1):
        return rec


async def test_a_snapshot_of_another_command_log_is_never_used(tmp_path: Path, nats_url: str) -> None:
    """The command log was deleted and started again while the snapshots stayed: once the new
    log is longer than an old snapshot's sequence, that snapshot would fit by number. Its
    stream identity (the log's first record) tells it apart: the engine replays instead and
    reaches the clean replay's state."""
    store = SnapshotStore(tmp_path, keep=5)
    old_bodies = _batches(seed=3, n_batches=20, size=30)
    config = isolated_bus_config("RE")  # the same stream names both times
    async with isolated_bus(nats_url, config) as old_bus:  # (deletes its streams at the end)
        await _publish(old_bus, old_bodies)
        old = EngineService(old_bus, store, EngineConfig(snapshot_every=10_000))
        task = asyncio.create_task(old.run())
        await _until_applied(old, len(old_bodies))
        await old.snapshot()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    [stale] = [s for s in (store.latest(),) if s is not None]
    assert stale.seq == len(old_bodies)

    new_bodies = _batches(seed=4, n_batches=40, size=30)
    async with isolated_bus(nats_url, config) as new_bus:
        await _publish(new_bus, new_bodies)
        first = EngineService(new_bus, store, EngineConfig(snapshot_every=10_000))
        task = asyncio.create_task(first.run())
        await _until_applied(first, len(new_bodies))  # answers the whole new log
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        again = EngineService(new_bus, store, EngineConfig(snapshot_every=10_000))
        await again.recover()
        assert again.applied_seq == 0  # the old snapshot (seq 21 <= 41 answered) was not taken
        oracle = MatchingEngine()
        for body in new_bodies:
            oracle.apply_batch(body)
        assert first.engine.state_hash() == oracle.state_hash()
