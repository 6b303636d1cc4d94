"""The order-entry gateway process: FIX acceptor + command batching + event projection.

Start: load reference data; replay the whole event stream into the order book (reports are
not sent for events a session was already given: ``fix_delivery`` and the ExecIDs in its
message store say how far that is); only then accept connections. Live: requests become
command records, one Envelope per event-loop turn (at most ``fix.max_batch`` records) is
appended to the command log with a ``Nats-Msg-Id`` (retried until acknowledged); every event
batch is folded into the order book and its reports pushed to the sessions.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import re
import ssl
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from engine.service import EngineService, EventLogDiverged, clock_ticker, engine_service_factory
from fix_gateway import codec
from fix_gateway.acceptor import Acceptor
from fix_gateway.auth import Argon2Authenticator
from fix_gateway.config import AcceptorConfig, SessionConfig
from fix_gateway.session.times import format_utc
from fix_gateway.store import MessageStoreFactory
from fix_gateway.stores.postgres import newest_messages
from venue.bus.envelope import (
    Envelope,
    RequestMeta,
    decode_envelope,
    decode_meta,
    encode_envelope,
    encode_meta,
)
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import Bus, StreamKind, WrongLastSequence
from venue.clock import Clock, SystemClock
from venue.config import Config, FixSessionEntry
from venue.db import keep_session
from venue.gctune import tune_gc
from venue.hot_metrics import HotCounter, HotGauge, HotHistogram
from venue.ids import IdAllocator
from venue.logs import get_logger
from venue.looplag import watch_loop_lag

from .app import OrderEntryApplication
from .book_snapshots import BookSnapshotStore, encode_book
from .orders import OrderBook, Report
from .refdata import RefData
from .requests import TAG_STP_MODE, SessionContext

log = get_logger("fix_gateway.order_entry")

COMMANDS = HotCounter("venue_gateway_commands_total", "Command records sent to the command log")
BATCHES = HotCounter("venue_gateway_command_batches_total", "Command batches appended")
REPORTS = HotCounter("venue_gateway_reports_total", "Reports handed to FIX sessions")
EVT_SEQ = HotGauge("venue_gateway_event_seq", "Last event-stream sequence applied")
_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
APPEND_ACK = HotHistogram(
    "venue_gateway_command_append_seconds",
    "Command batch appended to the command log until JetStream acknowledged it",
    buckets=_LATENCY_BUCKETS,
)
ROUND_TRIP = HotHistogram(
    "venue_gateway_command_round_trip_seconds",
    "First request of a command batch handed over until the batch's events are applied and"
    " their reports written: the venue's part of an order's latency (without the FIX client's"
    " socket hops)",
    buckets=_LATENCY_BUCKETS,
)

KILL_SWITCH_SUBJECT = "venue.ctl.kill-switch"
ACK_WAIT_S = 0.002
HOLD_CHECK_S = 0.005  # while an older batch's append is in doubt, how often to look again
MAX_UNACKED_BATCHES = 1
# A large batch (a throughput burst) may go while one more is in flight: with one, the
# log's acknowledgement of each large batch (delayed behind the delivery of the one before)
# paced the whole gateway (orders/s -14% with a single-threaded nats-server).
LARGE_BATCH, MAX_UNACKED_LARGE = 64, 2
_EXEC_ID = re.compile(rb"\x0117=(\d+)-\d+\x01")

def session_config(entry: FixSessionEntry) -> SessionConfig:
    return SessionConfig(
        begin_string=entry.begin_string,
        sender_comp_id=entry.sender_comp_id,
        target_comp_id=entry.target_comp_id,
        default_appl_ver_id=entry.default_appl_ver_id,
        heartbeat_min=entry.heartbeat_min,
        heartbeat_max=entry.heartbeat_max,
        reset_on_logon=entry.reset_on_logon,
        max_msgs_per_sec=entry.max_msgs_per_sec,
        logon_timeout=entry.logon_timeout,
        cancel_on_disconnect=entry.cancel_on_disconnect,
        username_required=bool(entry.username),
        password_required=bool(entry.username),
        user_defined_fields=(TAG_STP_MODE,),
    )


class Gateway:
    def __init__(
        self,
        config: Config,
        bus: Bus,
        pool: asyncpg.Pool | None,
        refdata: RefData,
        store_factory: MessageStoreFactory,
        *,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
        book_snapshots: BookSnapshotStore | None = None,
        engine: Callable[[], EngineService] | None = None,
    ) -> None:
        self.config = config
        # engine.in_gateway: the engine service runs in this process. Once the order book has
        # caught up with the event stream, the gateway stops reading it and answers from the
        # engine's answers as they are published (EngineService.on_answer): two crossings
        # fewer per order. ``engine`` makes the engine service (again, after it stopped);
        # None: the events come through the event stream.
        self._make_engine = engine
        self.engine: EngineService | None = None  # the running one
        self.book_snapshots = book_snapshots  # None: no order-book snapshots (replay from 1)
        self.bus = bus
        self.pool = pool
        self.refdata = refdata
        self.clock = clock or SystemClock()
        self.source = f"fix-gw-{config.fix.gateway_id}"
        entries = {session_config(e).session_id: e for e in config.fix.sessions}
        self.entries = entries
        self.contexts = {
            sid: SessionContext(
                session_id=sid,
                firm=refdata.accounts[e.accounts[0]].firm if e.accounts and e.accounts[0] in refdata.accounts else "",
                accounts=e.accounts,
                stp_mode=e.stp_mode,
                fix44=e.begin_string == "FIX.4.4",
                cancel_on_disconnect=e.cancel_on_disconnect,
            )
            for sid, e in entries.items()
        }
        self.book = OrderBook(
            refdata,
            lambda sid: (ctx := self.contexts.get(sid)) is None or ctx.fix44,
            lambda: format_utc(self.clock.now_ns()),
        )
        self.app = OrderEntryApplication(
            self.contexts, refdata, self.book, IdAllocator(config.fix.gateway_id, self.clock), self.clock, self.submit,
            self.submit_run,
        )
        self.acceptor = Acceptor(
            [session_config(e) for e in config.fix.sessions],
            self.app,
            store_factory,
            ssl_context=ssl_context,
            authenticator=Argon2Authenticator(self._password_hash),
            config=AcceptorConfig(host=config.fix.host, port=config.fix.port),
        )
        self._pending: list[tuple[bytes, RequestMeta]] = []
        self._flush_handle: asyncio.Handle | None = None  # the scheduled _flush, if any
        # Batches to append again, in order, before anything newer (not acknowledged, or
        # refused at once), and the task appending them.
        self._lane: collections.deque[tuple[bytes, str]] = collections.deque()
        self._lane_task: asyncio.Task[None] | None = None
        self._ack_wait: tuple[asyncio.Future[int], asyncio.TimerHandle] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unacked: collections.deque[tuple[asyncio.Future[int], bytes, str]] = collections.deque()
        self._batch_id = 0
        self._pending_since = 0.0  # perf_counter when the first pending record was submitted
        self._round_trips: dict[int, float] = {}  # command seq -> its batch's _pending_since
        self._answered = 0  # the command seq the last event record answered
        self.delivered: dict[str, int] = {}
        self.delivered_before: dict[str, int] = {}  # as loaded at start
        self.book.reported = self.delivered_before  # (the same dict: filled in by _load_delivered)
        self._delivered_dirty: set[str] = set()
        self.evt_seq = 0
        self._days_snapshotted = 0  # book.days_ended when the last snapshot was started
        self._events_stream = 0  # the event stream's identity (Bus.stream_id), from start()
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    # ------------------------------------------------------------ authentication
    async def _password_hash(self, session_id: str, username: str) -> str | None:
        """The argon2 hash of the session's own user (any other username: unknown)."""
        entry = self.entries.get(session_id)
        if entry is None or username != entry.username or self.pool is None:
            return None
        hashed = await self.pool.fetchval("SELECT password_hash FROM users WHERE username = $1", username)
        return str(hashed) if hashed else None

    # ------------------------------------------------------------ commands out
    def submit(self, record: bytes, meta: RequestMeta) -> None:
        self.submit_run([(record, meta)])

    def submit_run(self, requests: list[tuple[bytes, RequestMeta]]) -> None:
        """Queue requests, in order, for the next command batch (a session's run:
        ``codec.take_run``; one request: ``submit``)."""
        if not requests:
            return
        if not self._pending:
            self._pending_since = time.perf_counter()
        self._pending += requests
        if self._flush_handle is None and self._ack_wait is None:  # (else a flush will come)
            self._schedule_flush(0.0)  # the turn's requests go together, at its end

    def _schedule_flush(self, delay: float) -> None:
        """Run ``_flush`` at this turn's end (or after ``delay``), once however often asked."""
        if self._flush_handle is None:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._flush_handle = (
                self._loop.call_soon(self._flush) if delay <= 0 else self._loop.call_later(delay, self._flush)
            )

    def command_batch(self, max_batch: int = 0) -> bytes:
        """The next command-log payload: up to ``max_batch`` (0: all) pending records, in order."""
        pending = self._pending
        if max_batch and len(pending) > max_batch:
            batch, self._pending = pending[:max_batch], pending[max_batch:]
            self._pending_since = time.perf_counter()
        else:
            batch, self._pending = pending, []
        self._batch_id += 1
        COMMANDS.inc(len(batch))
        env = Envelope(
            1, "cmd", self.source, self._batch_id, 0, len(batch),
            b"".join([r for r, _ in batch]), encode_meta([m for _, m in batch]),
        )
        return encode_envelope(env)

    def _flush(self) -> None:
        """Append what is pending, unless ``MAX_UNACKED_BATCHES`` batches are on their way to
        the log: then let it fill until the newest is acknowledged (``ACK_WAIT_S`` at most, so
        a lost acknowledgement never stalls order entry). The batches grow with the rate
        instead of the number of bus messages (each costs every process it crosses a
        wake-up: bench/bus.py; measured: 3 in flight sent ~4x more messages at 5,000
        orders/s). Plain callbacks, no task: a task's wake-up per command batch was a
        measurable part of the gateway's cost (bench/results/e2e-flush-callbacks-*.json)."""
        self._flush_handle = None
        if self._ack_wait is not None or not self._pending:
            return  # (waiting for an acknowledgement: _wait_over appends)
        self._reap()
        if self._held():
            return
        limit = MAX_UNACKED_LARGE if len(self._pending) >= LARGE_BATCH else MAX_UNACKED_BATCHES
        if len(self._unacked) >= limit:
            newest = self._unacked[-1][0]
            if not newest.done():
                assert self._loop is not None
                self._ack_wait = (newest, self._loop.call_later(ACK_WAIT_S, self._wait_over))
                newest.add_done_callback(self._wait_over)
                return
        self._send_pending()

    def _held(self) -> bool:
        """Whether new batches must wait: an older one may not be in the log and would be
        appended again after them, the session's requests out of order (a cancel before its
        order). They wait until it is known stored or appended again (the appends a lost
        connection took are settled ``ACK_GRACE_S`` after the reconnect)."""
        if self._lane or self.bus.appends_in_doubt():
            self._schedule_flush(HOLD_CHECK_S)
            return True
        return False

    def _wait_over(self, _: object = None) -> None:
        """The awaited acknowledgement came (or ``ACK_WAIT_S`` passed): append now."""
        if self._ack_wait is None:
            return
        newest, timer = self._ack_wait
        self._ack_wait = None
        timer.cancel()
        newest.remove_done_callback(self._wait_over)
        self._reap()
        if not self._held():
            self._send_pending()

    def _send_pending(self) -> None:
        max_batch = self.config.fix.max_batch
        while self._pending:
            since = self._pending_since
            payload = self.command_batch(max_batch)
            msg_id = f"{self.source}:{self.clock.now_ns()}:{self._batch_id}"
            try:
                future = self.bus.append_soon(
                    StreamKind.COMMANDS, payload, msg_id=msg_id, shard=self.config.engine.shard
                )
            except Exception as exc:  # the bus took nothing (closed, or away with its buffer full)
                log.warning("command batch not appended; retrying", msg_id=msg_id, error=str(exc))
                self._append_again(payload, msg_id)
                if self._pending:  # the rest waits for it (_flush holds while the lane has any)
                    self._schedule_flush(HOLD_CHECK_S)
                return
            future.add_done_callback(functools.partial(self._acked, since, time.perf_counter()))
            self._unacked.append((future, payload, msg_id))
            BATCHES.inc()
            self._reap()

    def _acked(self, since: float, appended: float, future: asyncio.Future[int]) -> None:
        """A command batch's append is settled. Whatever settles the oldest one reaps it (a
        failed one is appended again at once, ahead of anything newer): one plain callback
        per batch, where a task waiting on the oldest append woke for each (with a timer)."""
        if future.cancelled():
            return
        if future.exception() is None:
            APPEND_ACK.observe(time.perf_counter() - appended)
            seq = future.result()
            if seq > self._answered:  # (else its events came first: not measured)
                if len(self._round_trips) > 100_000:  # answers that never came (cannot happen)
                    self._round_trips.clear()
                self._round_trips[seq] = since
        self._reap()

    def _reap(self) -> None:
        while self._unacked and self._unacked[0][0].done():
            future, payload, msg_id = self._unacked.popleft()
            if future.exception() is not None:
                # Not acknowledged: append again with the same id (JetStream drops a duplicate).
                log.warning("command batch not acknowledged; retrying", msg_id=msg_id, error=str(future.exception()))
                self._append_again(payload, msg_id)

    def _append_again(self, payload: bytes, msg_id: str) -> None:
        """Queue a batch to be appended again, after the ones before it and before anything
        newer."""
        self._lane.append((payload, msg_id))
        if self._lane_task is None or self._lane_task.done():
            self._lane_task = asyncio.create_task(self._work_off_lane())
            self._tasks.append(self._lane_task)

    async def _work_off_lane(self) -> None:
        delay = 0.1
        while self._lane:
            payload, msg_id = self._lane[0]
            try:
                await self.bus.append(StreamKind.COMMANDS, payload, msg_id=msg_id, shard=self.config.engine.shard)
            except Exception as exc:
                log.warning("command batch retry failed", msg_id=msg_id, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._lane.popleft()
            delay = 0.1
        if self._pending:
            self._schedule_flush(0.0)

    # ------------------------------------------------------------ events in
    def on_event_record(self, seq: int, payload: bytes) -> list[Report]:
        return self.apply_answer(seq, decode_envelope(payload))

    def apply_answer(self, seq: int, env: Envelope) -> list[Report]:
        """Fold one event batch (``seq``: its event-stream sequence) into the order book."""
        metas = {m.seq: m for m in decode_meta(env.meta)}
        reports = self.book.apply_body(seq, env.body, metas)
        self.app.settle(metas)
        self._answered = env.answers
        self.evt_seq = seq
        EVT_SEQ.set(seq)
        return reports

    def deliver(self, reports: list[Report]) -> None:
        """Hand reports to their sessions, in order per session. Consecutive reports of one
        type with pre-encoded bodies (``[(0, body)]``, as the order book builds them) go to
        a session as one run (``Acceptor.send_run``: one encode call, one write)."""
        sessions, before, delivered = self.acceptor.sessions, self.delivered_before, self.delivered
        acceptor, dirty = self.acceptor, self._delivered_dirty
        group = codec.group_reports
        if group is not None:  # the walk below in one C call
            actions, n = group(reports, sessions, before, delivered, dirty)
            for sid, msg_type, bodies, fields in actions:
                if bodies is not None:
                    acceptor.send_run(sid, msg_type, bodies)
                else:
                    acceptor.send(sid, msg_type, fields)
            if n:
                REPORTS.inc(n)
            return
        runs: dict[str, tuple[str, list[bytes]]] = {}  # session -> (msg type, bodies) not sent yet
        n = 0
        for r in reports:
            sid = r.session
            if sid not in sessions or r.evt_seq <= before.get(sid, 0):
                continue  # handed to the session before this gateway started
            fields = r.fields
            run = runs.get(sid)
            if len(fields) == 1 and fields[0][0] == 0:
                if run is not None and run[0] == r.msg_type:
                    run[1].append(fields[0][1])  # type: ignore[arg-type]
                else:
                    if run is not None:
                        acceptor.send_run(sid, *run)
                    runs[sid] = (r.msg_type, [fields[0][1]])  # type: ignore[list-item]
            else:
                if run is not None:
                    acceptor.send_run(sid, *runs.pop(sid))
                acceptor.send(sid, r.msg_type, fields)
            delivered[sid] = r.evt_seq
            dirty.add(sid)
            n += 1
        for sid, run in runs.items():
            acceptor.send_run(sid, *run)
        if n:
            REPORTS.inc(n)

    async def _load_delivered(self) -> None:
        if self.pool is None:
            return
        async with self.pool.acquire() as conn:
            for sid in self.acceptor.sessions:
                value = await conn.fetchval("SELECT evt_seq FROM fix_delivery WHERE session_id = $1", sid) or 0
                for _, raw in reversed((await newest_messages(conn, sid, 2000))[0]):
                    m = _EXEC_ID.search(raw)
                    if m:
                        value = max(value, int(m.group(1)))
                        break
                self.delivered[sid] = self.delivered_before[sid] = value

    async def _save_delivered(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if not self._delivered_dirty or self.pool is None:
                continue
            dirty, self._delivered_dirty = self._delivered_dirty, set()
            try:
                await self.pool.executemany(
                    "INSERT INTO fix_delivery(session_id, evt_seq) VALUES ($1, $2) ON CONFLICT (session_id)"
                    " DO UPDATE SET evt_seq = GREATEST(fix_delivery.evt_seq, EXCLUDED.evt_seq)",
                    [(sid, self.delivered[sid]) for sid in dirty],
                )
            except Exception as exc:  # the database may be away for a while: keep trading
                self._delivered_dirty |= dirty
                log.warning("delivery mark not saved", error=str(exc))

    async def _consume(self, catch_up_to: int) -> None:
        hosted = self._make_engine is not None
        if catch_up_to <= self.evt_seq:
            self.ready.set()
        if not (hosted and self.ready.is_set()):
            reader = self.bus.read(StreamKind.EVENTS, self.evt_seq + 1, shard=self.config.engine.shard)
            async with contextlib.aclosing(reader):  # (a reader left open would keep receiving)
                async for rec in reader:
                    self._answered_with(rec.seq, self.on_event_record(rec.seq, rec.payload))
                    if not self.ready.is_set() and rec.seq >= catch_up_to:
                        self.ready.set()
                        if hosted:
                            break  # caught up: from here on the engine in this process answers
        if hosted:
            await self._run_engine()

    async def _run_engine(self) -> None:
        """Run the engine in this process, answering from its answers. Nothing else appends
        to the event stream, so its next answer is the one after those the book has. When it
        stops for one of the reasons it is built to stop for (a publish refused or lost, an
        acknowledgement at another sequence or never), it is made again and recovers, as
        its own supervisor would start it: the answers it publishes again are the ones the
        book has (the same, at the same sequences: the engine is a function of the command
        log) and are skipped. Anything else it raises ends the process."""
        assert self._make_engine is not None
        delay = 0.2
        while True:
            self.engine = engine = self._make_engine()
            engine.on_answer = self._engine_answered
            try:
                await engine.run()
                return
            except (WrongLastSequence, EventLogDiverged, TimeoutError, ConnectionError) as exc:
                log.warning("engine stopped; recovering it in this process", error=repr(exc), retry_in_s=delay)
                with contextlib.suppress(Exception):
                    await engine.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _engine_answered(self, seq: int, env: Envelope) -> None:
        if seq > self.evt_seq:  # (else a recovered engine publishing again what the book has)
            self._answered_with(seq, self.apply_answer(seq, env))

    def _answered_with(self, seq: int, reports: list[Report]) -> None:
        """Hand an event batch's reports to the sessions and do what follows each batch."""
        self.deliver(reports)
        if self.book.days_ended != self._days_snapshotted:  # a trading day ended
            self._days_snapshotted = self.book.days_ended
            log.info("trading day ended: finished orders forgotten", evt_seq=seq,
                     forgotten=self.book.forgotten, live=len(self.book.orders))
            if self.book_snapshots is not None:
                task = asyncio.create_task(self._snapshot_book(seq, encode_book(self.book, seq)))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        since = self._round_trips.pop(self._answered, None)
        if since is not None:
            ROUND_TRIP.observe(time.perf_counter() - since)

    async def _snapshot_book(self, evt_seq: int, body: bytes) -> None:
        """Write the book as of ``evt_seq`` once the reports up to it are persisted (the
        sessions' stores flushed): a restart from it replays only what came after."""
        assert self.book_snapshots is not None
        try:
            for session in list(self.acceptor.sessions.values()):
                await session.store.flush()
            path = await asyncio.to_thread(self.book_snapshots.save, evt_seq, body, self._events_stream)
        except Exception as exc:  # the database may be away: the next day's end tries again
            log.warning("order book snapshot not written", evt_seq=evt_seq, error=str(exc))
            return
        log.info("order book snapshot written", evt_seq=evt_seq, path=str(path), bytes=len(body))

    # ------------------------------------------------------------ kill switch
    def kill_switch(self, firm: str, killed: bool) -> None:
        if killed:
            self.refdata.killed_firms.add(firm)
        else:
            self.refdata.killed_firms.discard(firm)
        log.warning("kill switch", firm=firm, killed=killed)

    # ------------------------------------------------------------ lifecycle
    async def _on_kill_switch(self, msg: Any) -> None:
        try:
            data = json.loads(msg.data)
            self.kill_switch(str(data["firm"]), bool(data["killed"]))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("bad kill-switch message", error=str(exc))

    async def start(self) -> None:
        client = getattr(self.bus, "client", None)
        if client is not None:  # JetStream: operator control messages on core NATS
            await client.subscribe(KILL_SWITCH_SUBJECT, cb=self._on_kill_switch)
        await self._load_delivered()
        await self.acceptor.open_stores()  # replayed reports a session missed are stored as sent
        catch_up_to = await self.bus.last_seq(StreamKind.EVENTS)
        self._events_stream = await self.bus.stream_id(StreamKind.EVENTS)
        snap = (
            self.book_snapshots.latest(self.refdata, catch_up_to, self._events_stream) if self.book_snapshots else None
        )
        if snap is not None:  # replay only what came after the last trading day's end
            self.book.restore(snap.orders, snap.by_cl_ord_id)
            self.book.days_ended = self._days_snapshotted = snap.days_ended
            self.evt_seq = snap.evt_seq
            EVT_SEQ.set(snap.evt_seq)
            log.info("order book loaded from snapshot", evt_seq=snap.evt_seq, orders=len(snap.orders))
        self._consuming = asyncio.create_task(self._consume(catch_up_to))
        self._tasks += [
            self._consuming,
            asyncio.create_task(self._save_delivered()),
        ]
        ready = asyncio.ensure_future(self.ready.wait())
        await asyncio.wait([ready, self._consuming], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():  # the event reader (or the engine) failed before the book was current
            ready.cancel()
            self._consuming.result()
        await self.acceptor.start(self.config.fix.host, self.config.fix.port)
        log.info("order entry ready", port=self.acceptor.port, sessions=list(self.acceptor.sessions), evt_seq=self.evt_seq)

    async def stop(self) -> None:
        await self.acceptor.stop()  # disconnects: cancel-on-disconnect queues its cancels
        for _ in range(100):  # let queued commands reach the log (2 s at most)
            if not self._pending and not self._unacked and not self._lane:
                break
            await asyncio.sleep(0.02)
            self._reap()
        if self._ack_wait is not None:
            self._ack_wait[1].cancel()
            self._ack_wait = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for t in [*self._tasks, *self._background]:
            t.cancel()
        for t in [*self._tasks, *self._background]:
            with contextlib.suppress(BaseException):
                await t
        if self.engine is not None:
            await self.engine.shutdown()

    async def serve(self) -> None:
        """Run until the events stop coming: with the engine in this process, until it stops
        (a failed publish, a diverged event stream: raised, so the process exits and its
        supervisor starts it again, which recovers)."""
        await self._consuming


def _ssl_context(config: Config) -> ssl.SSLContext | None:
    if not config.fix.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(config.fix.tls_cert, config.fix.tls_key)
    return ctx


async def run(config: Config) -> None:
    """Service main (``python -m venue.service gateway``)."""
    from fix_gateway.stores.memory import MemoryMessageStore
    from fix_gateway.stores.postgres import postgres_store_factory

    bus = await JetStreamBus.connect(config.bus.url, config.bus, name=f"fix-gw-{config.fix.gateway_id}")
    # Sessions' stores flush through this pool every few milliseconds: no reset query on release.
    pool = await asyncpg.create_pool(
        config.database.url, min_size=1, max_size=config.database.pool_max, reset=keep_session,
        server_settings={"application_name": f"venue-gateway:{config.fix.gateway_id}"},
    )
    assert pool is not None
    async with pool.acquire() as conn:
        refdata = await RefData.load(conn)
    factory: MessageStoreFactory = (
        postgres_store_factory(
            pool, flush_interval=config.fix.store_flush_ms / 1000,
            memory_limit=config.fix.store_memory_messages,
        )
        if config.fix.store == "postgres" else (lambda sid: MemoryMessageStore())
    )
    snapshots = BookSnapshotStore(config.data_dir / "snapshots", config.fix.gateway_id)
    engine: Callable[[], EngineService] | None = None
    ticker: asyncio.Task[None] | None = None
    if config.engine.in_gateway:
        engine = engine_service_factory(bus, config)
        ticker = asyncio.create_task(clock_ticker(bus, config).run())
    gateway = Gateway(
        config, bus, pool, refdata, factory, ssl_context=_ssl_context(config), book_snapshots=snapshots, engine=engine
    )
    await gateway.start()
    tune_gc()
    probe = watch_loop_lag()
    try:
        await gateway.serve()
    finally:
        probe.cancel()
        if ticker is not None:
            ticker.cancel()
        await gateway.stop()
        await bus.close()
        await pool.close()
