"""The engine service: the async shell around the synchronous, deterministic engine.

Invariants:

- Input is the command stream (``VENUE_CMD``, this shard's subject) in stream order; each
  record is an Envelope whose body is a batch of engine command records. The engine applies
  the batch in one C call.
- For every command record N there is exactly one event record answering it in
  ``VENUE_EVT`` (``Envelope.answers == N``, the command batch's ``meta`` copied along), in
  the order of N, with no gap: publishes carry ``Nats-Expected-Last-Sequence``, so if one is
  lost every later one fails too, and the service stops (the supervisor restarts it).
- Restart = newest intact snapshot of this command stream (``Bus.stream_id``)
  whose sequence is at most the last answered command, then
  replay of the command stream after it; events for records already answered are not
  published again. Same commands in, same events out, bit for bit (the state hash proves it).
- A snapshot is taken only when every event published so far is acknowledged.
- A malformed record (bad envelope, length not a multiple of the record size) is answered by
  an empty event batch and logged: it changes no state, on replay too.
- Time: the engine clock moves only through command timestamps; a ticker appends
  AdvanceClock commands to the log so GTD expiry happens, and replays, exactly.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import time
from pathlib import Path

import msgspec
from prometheus_client import Counter, Gauge

from engine import wire
from engine.commands import AdvanceClock, EndOfSession
from engine.core import MatchingEngine
from engine.snapshots import SnapshotStore
from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.protocol import Bus, StreamKind
from venue.clock import Clock, SystemClock
from venue.config import Config, EngineConfig, session_end_time
from venue.gctune import tune_gc
from venue.logs import get_logger

log = get_logger("engine.service")

RECORDS = Counter("venue_engine_command_records_total", "Command records applied")
COMMANDS = Counter("venue_engine_commands_total", "Engine commands applied")
LAST_APPLIED = Gauge("venue_engine_last_applied_seq", "Last command-stream sequence applied")
SNAPSHOTS = Counter("venue_engine_snapshots_total", "Snapshots written")

MAX_IN_FLIGHT = 4096


class EngineService:
    def __init__(
        self,
        bus: Bus,
        snapshots: SnapshotStore,
        config: EngineConfig | None = None,
        *,
        source: str = "engine-0",
        clock: Clock | None = None,
    ) -> None:
        self.bus = bus
        self.snapshots = snapshots
        self.config = config or EngineConfig()
        self.source = source
        self.clock = clock or SystemClock()
        self.engine = MatchingEngine()
        self.applied_seq = 0  # last command record applied to self.engine
        self.answered_seq = 0  # last command record whose events are in the event stream
        self._evt_last = 0  # the event stream's last sequence (for expected-last-sequence)
        self._in_flight: collections.deque[asyncio.Future[int]] = collections.deque()
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        self._stream = 0  # the command stream's identity (Bus.stream_id), from recover()

    async def recover(self) -> None:
        last = await self.bus.last(StreamKind.EVENTS)
        if last is not None:
            self.answered_seq = decode_envelope(last.payload).answers
            self._evt_last = last.seq
        self._stream = await self.bus.stream_id(StreamKind.COMMANDS)
        snap = self.snapshots.latest(max_seq=self.answered_seq, stream=self._stream)
        if snap is not None:
            self.engine, self.applied_seq = snap.engine, snap.seq
        log.info(
            "engine recovered",
            snapshot_seq=self.applied_seq,
            answered_seq=self.answered_seq,
            state_hash=f"{self.engine.state_hash():016x}",
        )

    def _apply_record(self, seq: int, payload: bytes) -> Envelope:
        try:
            env = decode_envelope(payload)
            events = self.engine.apply_batch(env.body)
            count = len(env.body) // wire.CMD_SIZE
        except (msgspec.DecodeError, ValueError) as exc:
            log.error("malformed command record answered empty", seq=seq, error=str(exc))
            return Envelope(1, "evt", self.source, seq, seq, 0, b"")
        COMMANDS.inc(count)
        return Envelope(1, "evt", self.source, seq, seq, count, events, env.meta)

    async def _publish(self, answer: Envelope) -> None:
        future = await self.bus.append_nowait(
            StreamKind.EVENTS,
            encode_envelope(answer),
            shard=self.config.shard,
            expect_last_seq=self._evt_last,
        )
        self._evt_last += 1
        self._in_flight.append(future)
        while self._in_flight and (self._in_flight[0].done() or len(self._in_flight) > MAX_IN_FLIGHT):
            await self._in_flight.popleft()  # raises if the append failed: stop, restart, recover

    async def flush(self) -> None:
        """Wait until every published answer is acknowledged (raises if one failed)."""
        while self._in_flight:
            await self._in_flight.popleft()

    async def step(self, seq: int, payload: bytes) -> None:
        """Apply one command record (and publish its answer unless already published)."""
        if seq <= self.applied_seq:
            return
        answer = self._apply_record(seq, payload)
        self.applied_seq = seq
        RECORDS.inc()
        LAST_APPLIED.set(seq)
        if seq > self.answered_seq:
            await self._publish(answer)
            self.answered_seq = seq
        self._since_snapshot += 1
        if self._since_snapshot >= self.config.snapshot_every or (
            time.monotonic() - self._snapshot_at >= self.config.snapshot_interval_s
        ):
            await self.snapshot()

    async def snapshot(self) -> Path | None:
        await self.flush()
        if self.applied_seq == 0:
            return None
        path = self.snapshots.save(self.applied_seq, self.engine, self._stream)
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        SNAPSHOTS.inc()
        log.info("snapshot written", seq=self.applied_seq, path=str(path))
        return path

    async def run(self) -> None:
        await self.recover()
        async for record in self.bus.read(StreamKind.COMMANDS, self.applied_seq + 1, shard=self.config.shard):
            await self.step(record.seq, record.payload)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()


def session_end_between(after_ns: int, upto_ns: int, end: datetime.time) -> int | None:
    """The latest end of a trading day (``end``, UTC, every day) in ``(after_ns, upto_ns]``, in
    ns since the epoch; None when there is none."""
    upto = datetime.datetime.fromtimestamp(upto_ns / 1e9, datetime.UTC)
    boundary = datetime.datetime.combine(upto.date(), end, datetime.UTC)
    boundary_ns = int(boundary.timestamp()) * 1_000_000_000
    if boundary_ns > upto_ns:
        boundary_ns -= 86_400 * 1_000_000_000
    return boundary_ns if boundary_ns > after_ns else None


class ClockTicker:
    """Appends AdvanceClock to the command log every ``interval_s`` (GTD expiry), and
    EndOfSession for every instrument when the trading day ends (``session_end``, UTC): DAY
    orders expire, and the gateways forget the day's finished orders.

    The day's end is judged against the newest command in the log, so an end that passed
    while the venue was down is caught up at start. Each end's EndOfSession carries the
    ``Nats-Msg-Id`` ``eos-<shard>-<end>``: tickers of several engine replicas append it once."""

    def __init__(
        self, bus: Bus, clock: Clock, shard: str = "0", interval_s: float = 1.0,
        session_end: datetime.time | None = None,
    ) -> None:
        self.bus, self.clock, self.shard, self.interval_s = bus, clock, shard, interval_s
        self.session_end = session_end
        self._batch = 0
        self._last_ns = 0  # the newest command time known to be in the log

    async def start(self) -> None:
        """Learn the newest command time in the log (0: an empty log)."""
        last = await self.bus.last(StreamKind.COMMANDS)
        if last is None:
            return
        with contextlib.suppress(msgspec.DecodeError, ValueError, IndexError):
            body = decode_envelope(last.payload).body
            if len(body) >= wire.CMD_SIZE:
                self._last_ns = wire.decode_command(body[-wire.CMD_SIZE:])[2]

    async def tick(self) -> None:
        now = self.clock.now_ns()
        await self._append(AdvanceClock(seq=0, ts=now))
        if self.session_end is not None and self._last_ns:
            end = session_end_between(self._last_ns, now, self.session_end)
            if end is not None:
                log.info("trading day ends: EndOfSession appended", end_ns=end)
                await self._append(EndOfSession(seq=0, ts=now, instrument=0), msg_id=f"eos-{self.shard}-{end}")
        self._last_ns = now

    async def _append(self, command: AdvanceClock | EndOfSession, msg_id: str | None = None) -> None:
        self._batch += 1
        env = Envelope(1, "cmd", "clock", self._batch, 0, 1, wire.encode_command(command))
        await self.bus.append(StreamKind.COMMANDS, encode_envelope(env), msg_id=msg_id, shard=self.shard)

    async def run(self) -> None:
        while True:
            try:
                await self.start()
                break
            except Exception as exc:  # the bus reconnects by itself
                log.warning("clock ticker cannot read the command log yet", error=str(exc))
                await asyncio.sleep(self.interval_s)
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
            except Exception as exc:  # the bus reconnects by itself; skip this tick
                log.warning("clock tick not appended", error=str(exc))


async def run(config: Config) -> None:
    """Service main (``python -m venue.service engine``)."""
    from venue.bus.jetstream import JetStreamBus

    bus = await JetStreamBus.connect(config.bus.url, config.bus, name=f"engine-{config.engine.shard}")
    await bus.ensure_streams()
    store = SnapshotStore(config.data_dir / "snapshots", config.engine.shard, config.engine.keep_snapshots)
    service = EngineService(bus, store, config.engine, source=f"engine-{config.engine.shard}")
    end = session_end_time(config.engine.session_end_utc)  # None for "": the day never ends
    ticker = asyncio.create_task(ClockTicker(bus, SystemClock(), config.engine.shard, session_end=end).run())
    tune_gc()
    try:
        await service.run()
    finally:
        ticker.cancel()
        await service.close()
        with contextlib.suppress(Exception):
            await service.snapshot()
        await bus.close()
