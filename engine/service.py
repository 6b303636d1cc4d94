"""The engine service: the async shell around the synchronous, deterministic engine.

Invariants:

- Input is the command stream (``VENUE_CMD``, this shard's subject) in stream order; each
  record is an Envelope whose body is a batch of engine command records. The engine applies
  the batch in one C call.
- For every command record N there is exactly one event record answering it in
  ``VENUE_EVT`` (``Envelope.answers == N``, the command batch's ``meta`` copied along), in
  the order of N, with no gap. Publishes are pipelined and chained: each carries its own
  message id and expects, as the stream's last message, the engine's previous answer
  (``Nats-Expected-Last-Msg-Id``), or, when every earlier answer is known stored, the
  stream's last sequence (``Nats-Expected-Last-Sequence``). So the event stream only ever
  holds a gap-free run of answers: once one publish is refused (a foreign message, a lost
  publish), every later one is refused too, and the service stops (the supervisor restarts
  it). Only some publishes ask for an acknowledgement (at most every
  ``event_ack_interval_ms``, and the newest one after a quiet spell of that length): an
  acknowledged publish vouches for every one before it in the chain.
- Restart = newest intact snapshot of this command stream (``Bus.stream_id``)
  whose sequence is at most the last answered command, then
  replay of the command stream after it; events for records already answered are not
  published again. Same commands in, same events out, bit for bit (the state hash proves it).
- A snapshot is taken only when every event published so far is known stored.
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
import functools
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from prometheus_client import Counter

from engine import wire
from engine.commands import AdvanceClock, EndOfSession
from engine.core import MatchingEngine
from engine.snapshots import SnapshotStore
from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.protocol import AckLost, Bus, Record, StreamKind
from venue.clock import Clock, SystemClock
from venue.config import Config, EngineConfig, session_end_time
from venue.gctune import tune_gc
from venue.hot_metrics import HotCounter, HotGauge
from venue.logs import get_logger
from venue.looplag import watch_loop_lag

log = get_logger("engine.service")

RECORDS = HotCounter("venue_engine_command_records_total", "Command records applied")
COMMANDS = HotCounter("venue_engine_commands_total", "Engine commands applied")
LAST_APPLIED = HotGauge("venue_engine_last_applied_seq", "Last command-stream sequence applied")
SNAPSHOTS = Counter("venue_engine_snapshots_total", "Snapshots written")

MAX_IN_FLIGHT = 4096  # acknowledged publishes not yet answered, at most
MAX_UNASKED = 256  # publishes in a row without asking for an acknowledgement, at most
REPLY_TIMEOUT_S = 10.0  # an acknowledgement awaited longer than this stops the service


class EventLogDiverged(RuntimeError):
    """An answer was acknowledged at another event-stream sequence than the engine counted:
    the stream holds something this engine did not put there. Stop; restart recovers."""


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
        # Event-stream sequences: of the newest answer published (after recover(): the
        # stream's last), of the newest known stored, of the newest whose acknowledgement
        # was asked for.
        self._evt_last = 0
        self._stored = 0
        self._asked = 0
        self._last_id = ""  # the message id of the newest answer published
        self._in_flight: collections.deque[tuple[asyncio.Future[int], int]] = collections.deque()
        self._ack_interval = self.config.event_ack_interval_ms / 1000
        self._ack_due = 0.0  # loop time from which a publish asks for its acknowledgement
        self._unasked = 0  # publishes since the last that asked
        self._quiet_timer: asyncio.TimerHandle | None = None
        self._confirming: asyncio.Future[None] | None = None
        self._error: BaseException | None = None  # the first failed publish or confirmation
        self._failed: asyncio.Future[None] | None = None  # run() stops when it completes
        self._progress = asyncio.Event()  # set when more answers are known stored, or on failure
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        self._writing: asyncio.Task[None] | None = None  # a periodic snapshot being written
        self._stream = 0  # the command stream's identity (Bus.stream_id), from recover()
        # Called with (event-stream sequence, answer) right after each new answer is
        # published, before it is known stored: a gateway hosting the engine in its own
        # process (engine.in_gateway) answers its clients from here. The sequence is the one
        # the answer is stored at, or the engine stops (the publish chain).
        self.on_answer: Callable[[int, Envelope], None] | None = None

    async def recover(self) -> None:
        last = await self.bus.last(StreamKind.EVENTS)
        if last is not None:
            self.answered_seq = decode_envelope(last.payload).answers
            self._evt_last = self._stored = self._asked = last.seq
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
        self._publish_now(answer)
        while self._in_flight and (
            self._in_flight[0][0].done() or self._in_flight[0][1] <= self._stored or len(self._in_flight) > MAX_IN_FLIGHT
        ):
            await self._pop_oldest()  # raises if it failed: stop, restart, recover

    def _publish_now(self, answer: Envelope) -> None:
        """Append the answer (raises if the publish chain already failed, or the bus refused)."""
        if self._error is not None:
            raise self._error
        msg_id = f"{self._stream:x}.{answer.answers}"
        # Follow our own newest answer while it is not known stored: a foreign message in
        # between breaks that chain for good (expected sequences would realign after it).
        # Once everything is stored, the stream's last sequence must be ours.
        if self._stored == self._evt_last:
            last_seq, last_id = self._evt_last, None
        else:
            last_seq, last_id = None, self._last_id
        self._evt_last += 1
        self._last_id = msg_id
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._ack_due or self._unasked >= MAX_UNASKED:
            future = self.bus.append_soon(
                StreamKind.EVENTS,
                encode_envelope(answer),
                msg_id=msg_id,
                shard=self.config.shard,
                expect_last_seq=last_seq,
                expect_last_msg_id=last_id,
            )
            self._track(future, self._evt_last)
            self._ack_due = now + self._ack_interval
            self._unasked = 0
        else:
            self.bus.append_unacked_soon(
                StreamKind.EVENTS,
                encode_envelope(answer),
                msg_id=msg_id,
                shard=self.config.shard,
                expect_last_seq=last_seq,
                expect_last_msg_id=last_id,
            )
            self._unasked += 1
            if self._quiet_timer is None:
                self._quiet_timer = loop.call_at(self._ack_due, self._on_quiet)

    def _pop_settled(self) -> None:
        """``_publish``'s bookkeeping without waiting: pop the acknowledgements that are in
        (raises if one failed) and the ones a later one vouched for; stop at the first that
        would need waiting for (a lost one included: ``_pop_oldest`` handles it later)."""
        while self._in_flight:
            future, expected = self._in_flight[0]
            if future.done() and not future.cancelled() and not isinstance(future.exception(), AckLost):
                self._settle(expected, future.result())
            elif expected <= self._stored:
                future.cancel()
            else:
                return
            self._in_flight.popleft()

    async def _pop_oldest(self) -> None:
        future, expected = self._in_flight[0]
        lost = future.done() and not future.cancelled() and isinstance(future.exception(), AckLost)
        if future.done() and not lost:
            self._settle(expected, future.result())  # (raises if it failed)
        elif expected <= self._stored:
            future.cancel()  # unanswered, or its reply lost in a reconnect: a later one vouched for it
        elif lost:
            await self._until_stored(expected)
        else:
            try:
                seq = await asyncio.wait_for(asyncio.shield(future), REPLY_TIMEOUT_S)
            except TimeoutError:
                raise TimeoutError(
                    f"no acknowledgement of the answer at event sequence {expected} in {REPLY_TIMEOUT_S} s"
                ) from None
            except AckLost:
                await self._until_stored(expected)
            else:
                self._settle(expected, seq)
        self._in_flight.popleft()

    async def _until_stored(self, expected: int) -> None:
        """Wait for a later acknowledgement (the confirmation ``_on_ack`` sent when this
        one's was lost) to vouch for the answer at ``expected``."""
        deadline = asyncio.get_running_loop().time() + REPLY_TIMEOUT_S
        while self._stored < expected:
            if self._error is not None:
                raise self._error
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), deadline - asyncio.get_running_loop().time())
            except TimeoutError:
                raise TimeoutError(
                    f"the answer at event sequence {expected} not confirmed in {REPLY_TIMEOUT_S} s"
                ) from None

    def _track(self, future: asyncio.Future[int], expected: int) -> None:
        """Watch an acknowledged publish (or confirmation) that must land at ``expected``."""
        self._asked = max(self._asked, expected)
        self._in_flight.append((future, expected))
        future.add_done_callback(functools.partial(self._on_ack, expected))

    def _settle(self, expected: int, seq: int) -> None:
        if seq != expected:
            raise EventLogDiverged(f"answer acknowledged at event sequence {seq}, expected {expected}")
        if seq > self._stored:
            self._stored = seq  # and every answer before it: the chain
            self._progress.set()

    def _on_ack(self, expected: int, future: asyncio.Future[int]) -> None:
        """Every acknowledgement as it comes: a failure stops the service even when no
        command follows to notice it."""
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, AckLost):
            # Its outcome went with the connection: ask about the newest answer again (a
            # confirmation vouches for this one too; a refused one stops the service).
            if expected > self._stored and (self._confirming is None or self._confirming.done()):
                log.warning("event acknowledgement lost in a reconnect; confirming the newest answer", evt_seq=expected)
                self._confirming = asyncio.ensure_future(self._confirm_newest(force=True))
            return
        if exc is None:
            try:
                self._settle(expected, future.result())
            except EventLogDiverged as diverged:
                exc = diverged
        if exc is not None:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
            self._progress.set()
            log.error("event publish failed; the engine stops", error=f"{exc.__class__.__name__}: {exc}")
        if self._failed is not None and not self._failed.done():
            self._failed.set_exception(exc)

    def _on_quiet(self) -> None:
        """The ack interval passed since the last publish that asked: if none has asked
        since, the newest answers would wait unvouched for the next command; confirm now."""
        self._quiet_timer = None
        if self._asked >= self._evt_last or self._error is not None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._ack_due:  # a publish asked meanwhile; newer ones did not
            self._quiet_timer = loop.call_at(self._ack_due, self._on_quiet)
            return
        self._ack_due = loop.time() + self._ack_interval
        self._confirming = asyncio.ensure_future(self._confirm_newest())

    async def _confirm_newest(self, *, force: bool = False) -> None:
        """Ask JetStream whether the newest answer is stored, without sending it again: an
        empty publish with its message id that expects itself as the last message id is a
        duplicate (acknowledged with the answer's sequence) if it is stored, and refused if
        it is not; it is never stored itself."""
        target, msg_id = self._evt_last, self._last_id
        if (self._asked >= target and not force) or target <= self._stored:
            return
        try:
            future = self.bus.append_soon(
                StreamKind.EVENTS, b"", msg_id=msg_id, shard=self.config.shard, expect_last_msg_id=msg_id
            )
        except Exception as exc:
            self._fail(exc)
            return
        self._track(future, target)

    async def flush(self) -> None:
        """Wait until every published answer is known stored (raises if one is not)."""
        await self._confirm_newest()
        while self._in_flight:
            await self._pop_oldest()
        if self._error is not None:
            raise self._error

    def step_now(self, record: Record) -> bool:
        """``step`` from a plain callback (the bus's ``direct`` handler): the command is
        applied and its answer published now, or, when that would need waiting (too many
        acknowledgements outstanding, the chain already failed), nothing is done and False is
        returned: ``step`` takes it. A failure stops ``run`` (``_fail``)."""
        seq = record.seq
        if seq <= self.applied_seq:
            return True
        if self._error is not None or self._failed is None or len(self._in_flight) >= MAX_IN_FLIGHT:
            return False
        answer = self._apply(seq, record.payload)
        if seq > self.answered_seq:
            try:
                self._publish_now(answer)
                self._pop_settled()
                self._answered(seq, answer)
            except Exception as exc:  # what step would raise: run stops with it (restart recovers)
                self._fail(exc)
                return True
        self._snapshot_if_due()
        return True

    async def step(self, seq: int, payload: bytes) -> None:
        """Apply one command record (and publish its answer unless already published)."""
        if seq <= self.applied_seq:
            return
        answer = self._apply(seq, payload)
        if seq > self.answered_seq:
            await self._publish(answer)
            self._answered(seq, answer)
        self._snapshot_if_due()

    def _apply(self, seq: int, payload: bytes) -> Envelope:
        answer = self._apply_record(seq, payload)
        self.applied_seq = seq
        RECORDS.inc()
        LAST_APPLIED.set(seq)
        self._since_snapshot += 1
        return answer

    def _answered(self, seq: int, answer: Envelope) -> None:
        """The answer to ``seq`` is published (stored at ``_evt_last``, or the engine stops)."""
        self.answered_seq = seq
        if self.on_answer is not None:
            self.on_answer(self._evt_last, answer)

    def _snapshot_if_due(self) -> None:
        """A periodic snapshot (``snapshot_every`` records or ``snapshot_interval_s``) that
        does not hold the commands up: the state is taken now, in memory (``_capture``, a few
        ms), and written (with its fsync) by a task once every answer published so far is
        known stored, which a snapshot must not claim before (a restart from it would not
        publish those answers again). Meanwhile the engine goes on. Before, ``step`` waited
        for the acknowledgements, the write and the fsync (a few ms on this machine's disk
        alone, more under load) with every order behind it
        (``bench/results/e2e-snapshots-off-the-order-path-*.json``). One at a time: while one
        is being written, the next waits for the next command."""
        if not (
            self._since_snapshot >= self.config.snapshot_every
            or time.monotonic() - self._snapshot_at >= self.config.snapshot_interval_s
        ) or self.applied_seq == 0 or (self._writing is not None and not self._writing.done()):
            return
        seq, contents = self._capture()
        self._writing = asyncio.ensure_future(self._write_snapshot(seq, contents, self._evt_last))

    def _capture(self) -> tuple[int, tuple[bytes, bytes]]:
        """The state as of ``applied_seq``, for a snapshot file; the periodic count starts again."""
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        return self.applied_seq, self.snapshots.capture(self.applied_seq, self.engine, self._stream)

    async def _write_snapshot(self, seq: int, contents: tuple[bytes, bytes], answers: int) -> None:
        try:
            await self._until_stored(answers)
            await self._write_file(seq, contents)
        except Exception as exc:  # (a failed publish stops the engine on its own; the next one tries again)
            log.warning("snapshot not written", seq=seq, error=repr(exc))

    async def _write_file(self, seq: int, contents: tuple[bytes, bytes]) -> Path:
        # (in a thread: the event loop goes on meanwhile; in the gateway's process, its FIX
        # sessions do)
        path = await asyncio.to_thread(self.snapshots.write, seq, contents)
        SNAPSHOTS.inc()
        log.info("snapshot written", seq=seq, path=str(path))
        return path

    async def snapshot(self) -> Path | None:
        """A snapshot now, waited for: every answer known stored, then the file written."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        await self.flush()
        if self.applied_seq == 0:
            return None
        return await self._write_file(*self._capture())

    async def run(self) -> None:
        """Recover, then apply commands as they come until a publish fails (raises)."""
        await self.recover()
        self._failed = asyncio.get_running_loop().create_future()
        if self._error is not None:
            self._failed.set_exception(self._error)
        consume = asyncio.ensure_future(self._consume())
        failed = self._failed
        try:
            await asyncio.wait((consume, failed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._failed = None  # a failure after run() is over is only logged (_fail)
            if not consume.done():
                consume.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consume
        if failed.done():
            if consume.done() and not consume.cancelled():
                consume.exception()  # (retrieved: the publish failure is the news)
            failed.result()
        consume.result()

    async def _consume(self) -> None:
        # Commands that come while this waits are applied as the bus parses them
        # (``step_now``: no task woken per delivery); the rest come through here.
        reader = self.bus.read(StreamKind.COMMANDS, self.applied_seq + 1, shard=self.config.shard, direct=self.step_now)
        async for record in reader:
            await self.step(record.seq, record.payload)

    async def close(self) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None
        with contextlib.suppress(Exception):
            await self.flush()
        if self._writing is not None:  # (a periodic snapshot being written is finished)
            with contextlib.suppress(Exception):
                await self._writing

    async def shutdown(self) -> None:
        """A clean stop: close, then a final snapshot (the next start begins from there)."""
        await self.close()
        with contextlib.suppress(Exception):
            await self.snapshot()


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
    service = engine_service_factory(bus, config)()
    ticker = asyncio.create_task(clock_ticker(bus, config).run())
    tune_gc()
    probe = watch_loop_lag()
    try:
        await service.run()
    finally:
        probe.cancel()
        ticker.cancel()
        await service.shutdown()
        await bus.close()


def engine_service_factory(bus: Bus, config: Config) -> Callable[[], EngineService]:
    """Makes the config's engine service (its own process, or in the gateway's), each time
    a new one over the same snapshot directory."""
    store = SnapshotStore(config.data_dir / "snapshots", config.engine.shard, config.engine.keep_snapshots)
    return functools.partial(EngineService, bus, store, config.engine, source=f"engine-{config.engine.shard}")


def clock_ticker(bus: Bus, config: Config) -> ClockTicker:
    """The clock ticker that goes with the config's engine."""
    end = session_end_time(config.engine.session_end_utc)  # None for "": the day never ends
    return ClockTicker(bus, SystemClock(), config.engine.shard, session_end=end)
