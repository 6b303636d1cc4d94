"""The engine's clock ticker: AdvanceClock every tick, EndOfSession once per trading day."""

from __future__ import annotations

import datetime

from engine import commands as c
from engine import wire
from engine.service import ClockTicker, session_end_between
from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.memory import MemoryBus
from venue.bus.protocol import StreamKind
from venue.clock import TestClock

NS = 1_000_000_000
MIDNIGHT = datetime.time(0, 0)


def at(text: str) -> int:
    """ns since the epoch of an ISO UTC time."""
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()) * NS


def test_session_end_between() -> None:
    end = datetime.time(21, 30)
    assert session_end_between(at("2026-11-22T21:29:59"), at("2026-11-22T21:30:00"), end) == at("2026-11-22T21:30:00")
    assert session_end_between(at("2026-11-22T21:30:00"), at("2026-11-22T21:30:01"), end) is None  # already past
    assert session_end_between(at("2026-11-22T10:00:00"), at("2026-11-22T21:00:00"), end) is None
    # days apart (a venue down over several ends): the latest end
    assert session_end_between(at("2026-11-19T12:00:00"), at("2026-11-22T08:00:00"), end) == at("2026-11-21T21:30:00")
    assert session_end_between(at("2026-11-22T23:59:59"), at("2026-11-23T00:00:00"), MIDNIGHT) == at("2026-11-23T00:00:00")


async def commands(bus: MemoryBus) -> list[tuple[c.Command | None, str]]:
    out: list[tuple[c.Command | None, str]] = []
    for seq in range(1, await bus.last_seq(StreamKind.COMMANDS) + 1):
        async for rec in bus.read(StreamKind.COMMANDS, seq):
            env = decode_envelope(rec.payload)
            out.extend((cmd, env.source) for _, _, _, cmd in wire.iter_commands(env.body))
            break
    return out


async def test_end_of_session_is_appended_once_when_the_day_ends() -> None:
    bus, clock = MemoryBus(), TestClock(at("2026-11-22T23:59:58"))
    ticker = ClockTicker(bus, clock, session_end=MIDNIGHT)
    await ticker.start()  # empty log: nothing known yet
    await ticker.tick()
    clock.advance(1.5)
    await ticker.tick()  # 23:59:59.5
    clock.advance(1.0)
    await ticker.tick()  # 00:00:00.5: the day ended
    clock.advance(1.0)
    await ticker.tick()
    kinds = [type(cmd).__name__ for cmd, _ in await commands(bus)]
    assert kinds == ["AdvanceClock", "AdvanceClock", "AdvanceClock", "EndOfSession", "AdvanceClock"]


async def test_an_end_missed_while_down_is_caught_up_and_replicas_append_it_once() -> None:
    bus, clock = MemoryBus(), TestClock(at("2026-11-23T09:00:00"))
    before = wire.encode_command(c.AdvanceClock(seq=0, ts=at("2026-11-22T18:00:00")))
    await bus.append(StreamKind.COMMANDS, encode_envelope(Envelope(1, "cmd", "clock", 1, 0, 1, before)))
    one, two = ClockTicker(bus, clock, session_end=MIDNIGHT), ClockTicker(bus, clock, session_end=MIDNIGHT)
    await one.start()
    await two.start()
    await one.tick()
    await two.tick()
    kinds = [type(cmd).__name__ for cmd, _ in await commands(bus)]
    assert kinds == ["AdvanceClock", "AdvanceClock", "EndOfSession", "AdvanceClock"]


async def test_no_session_end_configured_means_no_end_of_session() -> None:
    bus, clock = MemoryBus(), TestClock(at("2026-11-22T23:59:59"))
    ticker = ClockTicker(bus, clock, session_end=None)
    await ticker.start()
    for _ in range(3):
        await ticker.tick()
        clock.advance(1.0)
    assert {type(cmd).__name__ for cmd, _ in await commands(bus)} == {"AdvanceClock"}
