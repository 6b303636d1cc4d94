"""Ending a trading session by hand: ``venue end-of-session [SYMBOL]``.

The engine's clock ticker ends the trading day by itself at ``engine.session_end_utc``. An
operator can end it earlier (a half day, a test), or run without an automatic end
(``session_end_utc = ""``) and end every day by hand. Without a symbol this is the day's
end: DAY orders of every instrument expire and the gateways forget the day's finished orders
(and write their order-book snapshots). With a symbol, only that instrument's DAY orders
expire; the day goes on.

The command goes into the command log like any other (EndOfSession), so it is replayed
exactly; the answer is read back from the event stream.
"""

from __future__ import annotations

import asyncio

import asyncpg

from engine import commands as c
from engine import wire
from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.clock import SystemClock
from venue.config import Config
from venue.ids import OPERATOR_ID, IdAllocator


async def end_of_session(
    conn: asyncpg.Connection, nats_url: str, config: Config, symbol: str | None = None, *, timeout_s: float = 10.0
) -> str:
    instrument = 0
    if symbol:
        found = await conn.fetchval("SELECT instrument_id FROM instruments WHERE symbol = $1", symbol)
        if found is None:
            raise ValueError(f"unknown instrument {symbol!r}")
        instrument = int(found)
    bus = await JetStreamBus.connect(nats_url, config.bus, name="venue-end-of-session")
    try:
        first_event = await bus.last_seq(StreamKind.EVENTS) + 1
        clock = SystemClock()
        cmd = c.EndOfSession(seq=IdAllocator(OPERATOR_ID, clock).next(), ts=clock.now_ns(), instrument=instrument)
        env = Envelope(1, "cmd", "end-of-session", cmd.ts, 0, 1, wire.encode_command(cmd))
        seq = await bus.append(StreamKind.COMMANDS, encode_envelope(env), shard=config.engine.shard)
        what = f"session of {symbol}" if symbol else "trading day"
        try:
            expired = await asyncio.wait_for(_answer(bus, first_event, seq, config.engine.shard), timeout_s)
        except TimeoutError:
            return f"end of {what} appended (command {seq}); the engine has not answered yet: is it running?"
        return f"{what} ended: {expired} DAY order(s) expired" + ("" if symbol else "; gateways forget the finished orders")
    finally:
        await bus.close()


async def _answer(bus: JetStreamBus, first_event: int, command_seq: int, shard: str) -> int:
    """The number of DAY orders the engine expired for command record ``command_seq``."""
    async for rec in bus.read(StreamKind.EVENTS, first_event, shard=shard):
        env = decode_envelope(rec.payload)
        if env.answers != command_seq:
            continue
        for ev in wire.decode_events(env.body):
            if isinstance(ev, c.Acknowledged) and ev.command == c.CmdType.END_OF_SESSION:
                return int(ev.value)
        raise ValueError(f"the engine refused the end of session: {wire.decode_events(env.body)}")
    raise ValueError("the event stream ended")
