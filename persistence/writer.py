"""The persistence writer service: VENUE_EVT -> PostgreSQL, in batches, idempotent.

Loop (one "session" per PostgreSQL connection)::

    connect -> session setup (asynchronous commit, statements) -> seed (watermarks,
    resume position, live orders)
    -> read VENUE_EVT from the resume position (a pump task fills a bounded queue)
    -> take up to ``max_records`` records / ``max_rows`` rows / ``max_delay_ms`` after the
       first one -> Projection (pure) -> rows -> one transaction (COPY, one UPDATE of the
       changed orders with the progress; store.py) -> repeat; the next batch is projected
       while the previous one is written (one write at a time, in order)

If PostgreSQL is unreachable or the connection breaks, the session ends: the reader stops,
the projection (which ran ahead of the database) is thrown away, and the writer retries
with exponential back-off. The next session reseeds from what committed and re-reads the
stream from there: JetStream keeps the events, so nothing is lost, and keyed inserts plus
the watermark make nothing count twice. Any other error (a bad envelope, a schema problem)
propagates: the service crashes loudly and the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import asyncpg
from prometheus_client import Counter, Gauge

from persistence import store
from persistence.projection import Projection
from persistence.rows import RowBatch
from venue.bus.protocol import Bus, Record, StreamKind
from venue.config import Config
from venue.gctune import tune_gc
from venue.logs import get_logger
from venue.looplag import watch_loop_lag

log = get_logger("persistence.writer")

STORED_SEQ = Gauge("venue_writer_stream_seq", "Last event-stream sequence the writer has committed")
RECORDS = Counter("venue_writer_records_total", "Event records committed")
TRANSACTIONS = Counter("venue_writer_transactions_total", "Transactions committed")
ROWS = Counter("venue_writer_rows_total", "Rows committed", ["table"])

# Errors that mean "PostgreSQL is not there right now": retry, never crash.
RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect timeout, command timeout
    asyncpg.InterfaceError,  # connection closed under us
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P03 starting
    asyncpg.exceptions.InsufficientResourcesError,  # 53300 too many connections, disk full
    # The server died mid-COPY: asyncpg's protocol state is left inconsistent ("cannot
    # switch to state 15; another operation is in progress"). A new session starts over.
    asyncpg.InternalClientError,
)


@dataclass(frozen=True)
class WriterSettings:
    name: str = "writer"  # writer_progress.writer: one name per independent writer
    shard: str | None = None  # None: every shard's events (venue.evt.*)
    max_records: int = 512  # bus records per transaction
    max_rows: int = 50_000  # rows per transaction (a big record can overshoot by itself)
    # Wait this long after the first record for more. A transaction costs a few
    # milliseconds of CPU (writer and PostgreSQL) whatever its size, so at high rates
    # fewer, larger ones are much cheaper; the tables lag the stream by about this much.
    max_delay_ms: float = 100.0
    queue_size: int = 4096  # records read ahead of the writer
    connect_timeout_s: float = 5.0
    command_timeout_s: float = 30.0  # a stuck statement counts as a lost connection
    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0


@dataclass
class WriterStats:
    sessions: int = 0  # successful (re)connects
    failures: int = 0  # sessions ended by a retryable error
    batches: int = 0  # committed transactions
    merged: int = 0  # batches stored in merge mode (some rows were stored before: replays)
    records: int = 0  # bus records consumed
    duplicates: int = 0  # records skipped by the watermark
    unknown_order_events: int = 0  # order events for orders not live in memory (replays,
    # or a stream that starts after the order was accepted)
    rows: dict[str, int] = field(default_factory=dict)  # rows sent per table (incl. no-ops)
    stream_seq: int = 0  # last VENUE_EVT sequence committed
    write_s: float = 0.0  # time spent in write transactions (the rest: reading, projecting)


class Writer:
    """Consumes VENUE_EVT from ``bus`` and writes trading tables to PostgreSQL at ``dsn``."""

    def __init__(self, bus: Bus, dsn: str, settings: WriterSettings | None = None) -> None:
        self._bus = bus
        self._dsn = dsn
        self.settings = settings or WriterSettings()
        self.stats = WriterStats()

    async def run(self) -> None:
        """Run until cancelled, surviving PostgreSQL outages."""
        s = self.settings
        delay = s.retry_initial_s
        while True:
            started = self.stats.sessions
            try:
                await self._session()
            except RETRYABLE as exc:
                self.stats.failures += 1
                if self.stats.sessions > started:
                    delay = s.retry_initial_s  # it had worked: start the back-off over
                log.warning(
                    "postgresql unavailable; keeping position and retrying",
                    error=f"{exc.__class__.__name__}: {exc}",
                    retry_in_s=round(delay, 3),
                    committed_stream_seq=self.stats.stream_seq,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.retry_max_s)

    async def _session(self) -> None:
        s = self.settings
        conn = await asyncpg.connect(
            self._dsn, timeout=s.connect_timeout_s, command_timeout=s.command_timeout_s,
            server_settings={"application_name": f"venue-writer:{s.name}"},
        )
        reader: asyncio.Task[None] | None = None
        writing: asyncio.Task[None] | None = None
        try:
            sql = await store.prepare(conn)
            seed = await store.load(conn, s.name)
            projection = Projection(seed.live_orders, seed.watermarks)
            self.stats.sessions += 1
            self.stats.stream_seq = seed.resume_seq - 1
            log.info(
                "writer session started",
                writer=s.name,
                resume_stream_seq=seed.resume_seq,
                live_orders=len(seed.live_orders),
            )
            queue: asyncio.Queue[Record | BaseException] = asyncio.Queue(s.queue_size)
            pulling = asyncio.Event()  # clear while a batch sleeps out its delay
            pulling.set()
            reader = asyncio.create_task(self._pump(seed.resume_seq, queue, pulling))
            # Pipelined: the next batch is projected while the previous one is being
            # written; writes stay strictly sequential (one connection, in order).
            while True:
                if writing is not None and queue.empty():
                    await writing  # nothing to overlap with: finish (or fail) now
                    writing = None
                last = await self._collect(queue, pulling, projection)
                batch = projection.take()
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self._write(conn, sql, batch, last))
        finally:
            for task in (writing, reader):
                if task is not None and not task.done():
                    task.cancel()
                if task is not None:
                    with contextlib.suppress(BaseException):
                        await task
            await _close(conn)

    async def _write(
        self, conn: asyncpg.Connection, sql: store.Statements, batch: RowBatch, last: int
    ) -> None:
        started = time.perf_counter()
        merged = await store.write(conn, sql, self.settings.name, batch)
        self.stats.write_s += time.perf_counter() - started
        self.stats.merged += merged
        self._count(batch, last)

    async def _pump(
        self, start: int, queue: asyncio.Queue[Record | BaseException], pulling: asyncio.Event
    ) -> None:
        """Move records from the bus into ``queue``. While ``pulling`` is clear (the batch
        is sleeping out its delay) it pauses: records pile up in the bus client and are
        moved over in one go when the batch wakes, instead of waking this task per record."""
        records = self._bus.read(StreamKind.EVENTS, start, shard=self.settings.shard)
        try:
            async for record in records:
                await queue.put(record)
                if not pulling.is_set():
                    await pulling.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # hand it to the consumer, which raises it
            await queue.put(exc)
        finally:
            aclose = getattr(records, "aclose", None)  # end the subscription now, not at GC
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _collect(
        self,
        queue: asyncio.Queue[Record | BaseException],
        pulling: asyncio.Event,
        projection: Projection,
    ) -> int:
        """Apply records to the projection until the batch is full or due (``max_delay_ms``
        after its first record); return the last stream sequence applied.

        Only the first record is awaited; after that the queue is drained, and when it runs
        dry before the deadline the batch sleeps once until the deadline and drains what
        arrived meanwhile (the reader pauses during the sleep and catches up right after
        it). During that sleep the bus holds its deliveries (``Bus.hold_deliveries``): the
        records wait in the server and the socket instead of waking this process as each
        arrives, and come in together when the batch wakes. One wake-up per batch instead of
        one per record: on a small machine a wake-up costs more than projecting a record."""
        s = self.settings
        loop = asyncio.get_running_loop()
        last = self._apply(await queue.get(), projection)
        count = 1
        deadline = loop.time() + s.max_delay_ms / 1000
        slept = False
        while count < s.max_records and projection.pending_rows() < s.max_rows:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if slept or remaining <= 0:
                    break
                pulling.clear()
                self._bus.hold_deliveries(True)
                try:
                    await asyncio.sleep(remaining)
                finally:
                    self._bus.hold_deliveries(False)
                    pulling.set()
                await asyncio.sleep(0)  # the reader moves what piled up into the queue
                slept = True
                continue
            last = self._apply(item, projection)
            count += 1
        return last

    @staticmethod
    def _apply(item: Record | BaseException, projection: Projection) -> int:
        if isinstance(item, BaseException):
            raise item
        projection.apply_record(item.seq, item.payload)
        return item.seq

    def _count(self, batch: RowBatch, last_seq: int) -> None:
        st = self.stats
        st.batches += 1
        st.records += batch.records
        st.duplicates += batch.duplicates
        st.unknown_order_events += batch.unknown_order_events
        st.stream_seq = last_seq
        STORED_SEQ.set(last_seq)
        RECORDS.inc(batch.records)
        TRANSACTIONS.inc()
        orders = len(batch.orders_new) + len(batch.orders_changed)
        if orders:
            st.rows["orders"] = st.rows.get("orders", 0) + orders
            ROWS.labels("orders").inc(orders)
        for table, rows in batch.tables.items():
            if rows:
                st.rows[table] = st.rows.get(table, 0) + len(rows)
                ROWS.labels(table).inc(len(rows))
        if batch.duplicates:
            log.info("skipped re-published event batches", count=batch.duplicates)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 2.0)
    except BaseException:
        conn.terminate()


async def run(config: Config) -> None:
    """Service main (``python -m venue.service writer``): the bus and database from config."""
    from venue.bus.jetstream import JetStreamBus

    if not config.database.url:
        raise SystemExit("the writer needs database.url or VENUE_DATABASE_URL")
    bus = await JetStreamBus.connect(config.bus.url, config.bus, name="venue-writer")
    try:
        await bus.ensure_streams()
        tune_gc()
        probe = watch_loop_lag()
        settings = WriterSettings(
            connect_timeout_s=config.database.connect_timeout_s, max_delay_ms=config.writer.batch_wait_ms
        )
        try:
            await Writer(bus, config.database.url, settings).run()
        finally:
            probe.cancel()
    finally:
        await bus.close()
