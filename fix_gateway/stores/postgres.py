"""PostgreSQL MessageStore (asyncpg): state in memory, persisted asynchronously in batches.

Invariants:

- The methods the session calls per message (``store_sent``, ``set_next_*``, ``reset``)
  only touch memory and append to a pending batch; they never await and never touch the
  database. A background task flushes the batch ``flush_interval`` seconds after the first
  change (``fix.store_flush_ms``), in one transaction: the reset (if any) first, then the new
  messages by one COPY, then the session's state row. Should a message number be stored
  already (a retried batch whose first attempt did commit), the transaction is redone with
  ``INSERT ... ON CONFLICT DO UPDATE`` instead.
- ``flush()`` and ``close()`` persist everything recorded so far before returning.
- ``open()`` loads the state row and the newest ``memory_limit`` stored messages, so a
  restarted gateway resumes its sequence numbers and answers resend requests for everything
  that was flushed.
- Memory is bounded: after each flush, the oldest persisted messages beyond ``memory_limit``
  are dropped from memory (``first_held`` moves up). A resend reaching below it is answered
  after ``load_held`` reads that range back from the database (the session asks its shell
  for that: ``LoadHeld``).
- Failure to write keeps the batch pending (merged in order with what came later); the
  background task retries after ``retry_delay``; ``flush()`` raises the database error.

Tables: ``venue/migrations/002_fix_store.sql``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
import structlog

from fix_gateway.store import MessageStore, MessageStoreFactory
from fix_gateway.stores.sent import SentMessages

log = structlog.get_logger(__name__)

_LOAD_STATE = (
    "SELECT next_sender_seq, next_target_seq, creation_time_ns, clean"
    " FROM fix_session_state WHERE session_id = $1"
)
_MARK_OPEN = "UPDATE fix_session_state SET clean = false WHERE session_id = $1"

# After an unclean stop (kill -9, power loss) the last messages sent may not have reached
# the database: the next sender sequence number is skipped ahead by this much, so the venue
# never sends a MsgSeqNum the counterparty may already have seen (which would make it log
# out: "MsgSeqNum too low"). The counterparty sees a gap instead and its ResendRequest is
# answered with one SequenceReset-GapFill.
UNCLEAN_SEQ_SKIP = 100_000
MEMORY_LIMIT = 200_000  # messages held in memory per session (fix.store_memory_messages)
_LOAD_MESSAGES = "SELECT seq, raw FROM fix_messages WHERE session_id = $1 ORDER BY seq DESC LIMIT $2"
_LOAD_RANGE = "SELECT seq, raw FROM fix_messages WHERE session_id = $1 AND seq BETWEEN $2 AND $3"
_DELETE_MESSAGES = "DELETE FROM fix_messages WHERE session_id = $1"
_INSERT_MESSAGES = (
    "INSERT INTO fix_messages (session_id, seq, raw)"
    " SELECT $1, s, r FROM unnest($2::bigint[], $3::bytea[]) AS batch(s, r)"
    " ON CONFLICT (session_id, seq) DO UPDATE SET raw = EXCLUDED.raw"
)
_COLUMNS = ("session_id", "seq", "raw")
_UPSERT_STATE = (
    "INSERT INTO fix_session_state"
    " (session_id, next_sender_seq, next_target_seq, creation_time_ns, clean, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, now())"
    " ON CONFLICT (session_id) DO UPDATE SET next_sender_seq = EXCLUDED.next_sender_seq,"
    " next_target_seq = EXCLUDED.next_target_seq, creation_time_ns = EXCLUDED.creation_time_ns,"
    " clean = EXCLUDED.clean, updated_at = now()"
)


class PostgresMessageStore:
    """MessageStore for one session. Give it a shared ``pool`` (the gateway's) or a ``dsn``
    (then it owns a one-connection pool, opened in ``open`` and closed in ``close``)."""

    def __init__(
        self,
        session_id: str,
        *,
        pool: asyncpg.Pool | None = None,
        dsn: str | None = None,
        creation_time_ns: int = 0,
        flush_interval: float = 0.005,
        retry_delay: float = 1.0,
        memory_limit: int = MEMORY_LIMIT,
    ) -> None:
        if (pool is None) == (dsn is None):
            raise ValueError("give exactly one of pool or dsn")
        self.session_id = session_id
        self._pool = pool
        self._dsn = dsn
        self._owns_pool = pool is None
        self._flush_interval = flush_interval
        self._retry_delay = retry_delay
        if memory_limit < 1:
            raise ValueError("memory_limit must be at least 1")
        self._memory_limit = memory_limit
        self._first_held = 1  # below it, stored messages are only in the database
        self._generation = 0  # + 1 per reset (a load_held across a reset is dropped)
        # state (authoritative, in memory)
        self._next_sender = 1
        self._next_target = 1
        self._creation = creation_time_ns
        self._sent = SentMessages()
        # pending batch
        self._pending: dict[int, bytes] = {}
        self._pending_reset = False
        self._dirty = False
        self._changed = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._clean = True
        self.skipped_after_unclean_stop = 0

    # ----------------------------------------------------------------- MessageStore

    @property
    def next_sender_seq(self) -> int:
        return self._next_sender

    @property
    def next_target_seq(self) -> int:
        return self._next_target

    @property
    def creation_time_ns(self) -> int:
        return self._creation

    async def open(self) -> None:
        if self._pool is None:
            assert self._dsn is not None
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=1)
        pool = self._pool
        assert pool is not None
        async with pool.acquire() as conn:
            row = await conn.fetchrow(_LOAD_STATE, self.session_id)
            rows = await conn.fetch(_LOAD_MESSAGES, self.session_id, self._memory_limit)
            # From here until close() the stored state may lag what was sent.
            await conn.execute(_MARK_OPEN, self.session_id)
        self._clean = False
        if row is not None:  # (no row: a new session; the first change creates it)
            self._next_sender = int(row["next_sender_seq"])
            self._next_target = int(row["next_target_seq"])
            self._creation = int(row["creation_time_ns"])
            if not row["clean"]:
                self.skipped_after_unclean_stop = UNCLEAN_SEQ_SKIP
                self._next_sender += UNCLEAN_SEQ_SKIP
                self._dirty = True
                log.warning(
                    "fix_store_unclean_stop", session=self.session_id,
                    next_sender_seq=self._next_sender, skipped=UNCLEAN_SEQ_SKIP,
                )
        self._sent = SentMessages((int(r["seq"]), bytes(r["raw"])) for r in rows)
        # the newest memory_limit messages: when that many came back, older ones may exist
        self._first_held = self._sent.first() if len(rows) >= self._memory_limit else 1
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(
            self._flusher(), name=f"fix-store-flush:{self.session_id}"
        )
        if self._dirty:  # changes made before open() (e.g. a reset) are written now
            self._changed.set()

    def set_next_sender_seq(self, seq: int) -> None:
        self._next_sender = seq
        self._touch()

    def set_next_target_seq(self, seq: int) -> None:
        self._next_target = seq
        self._touch()

    def store_sent(self, seq: int, raw: bytes) -> None:
        self._sent.add(seq, raw)
        self._pending[seq] = raw
        self._next_sender = seq + 1
        self._touch()

    def sent_range(self, begin: int, end: int) -> Sequence[tuple[int, bytes]]:
        return self._sent.range(begin, end)

    def first_held(self) -> int:
        return self._first_held

    async def load_held(self, begin: int, end: int) -> None:
        pool = self._pool
        if pool is None:
            raise asyncpg.InterfaceError("store is not open")
        generation = self._generation
        async with pool.acquire() as conn:
            rows = await conn.fetch(_LOAD_RANGE, self.session_id, begin, end)
        if generation != self._generation:
            return  # the sequence was reset meanwhile: those messages are gone
        add = self._sent.add
        for r in rows:
            add(int(r["seq"]), bytes(r["raw"]))
        if begin < self._first_held <= end + 1:
            self._first_held = max(begin, 1)

    def reset(self, creation_time_ns: int) -> None:
        self._next_sender = 1
        self._next_target = 1
        self._creation = creation_time_ns
        self._sent.clear()
        self._first_held = 1
        self._generation += 1
        self._pending.clear()
        self._pending_reset = True
        self._touch()

    async def flush(self) -> None:
        """Persist everything recorded so far (raises the database error if it fails)."""
        async with self._write_lock:
            await self._write()

    async def abandon(self) -> None:
        """Drop the store without its final flush: what a crash (kill -9) leaves behind.
        For tests and for probing a session another store has open."""
        await self._stop_flusher()
        await self._release_pool()

    async def close(self) -> None:
        if self._closed:
            return
        await self._stop_flusher()
        try:
            self._clean = True  # the final flush records a clean stop
            self._dirty = True
            await self.flush()
        finally:
            await self._release_pool()

    # ----------------------------------------------------------------- internals

    async def _stop_flusher(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _release_pool(self) -> None:
        if self._owns_pool and self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _touch(self) -> None:
        self._dirty = True
        self._changed.set()

    async def _flusher(self) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(self._flush_interval)  # let the batch fill
            try:
                await self.flush()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("fix_store_flush_failed", session=self.session_id, error=repr(exc))
                await asyncio.sleep(self._retry_delay)
                self._changed.set()

    async def _write(self) -> None:
        if not self._dirty:
            return
        self._changed.clear()
        pending, self._pending = self._pending, {}
        reset, self._pending_reset = self._pending_reset, False
        self._dirty = False
        state = (self.session_id, self._next_sender, self._next_target, self._creation, self._clean)
        pool = self._pool
        try:
            if pool is None:
                raise asyncpg.InterfaceError("store is not open")
            async with pool.acquire() as conn:
                try:
                    await self._commit(conn, reset, pending, state, upsert=False)
                except asyncpg.UniqueViolationError:
                    # a message with that number is stored already (a retried batch whose
                    # first attempt did commit, or numbers reused without a reset)
                    await self._commit(conn, reset, pending, state, upsert=True)
        except BaseException:
            # keep the batch: older pending entries first, newer ones override them
            if not self._pending_reset:
                pending.update(self._pending)
                self._pending = pending
                self._pending_reset = reset
            self._dirty = True
            raise
        self._evict()

    def _evict(self) -> None:
        """Hold at most ``memory_limit`` messages: the oldest persisted ones go (they stay in
        the database, for ``load_held``)."""
        sent = self._sent
        if len(sent) > self._memory_limit:
            sent.drop_oldest(self._memory_limit, self._pending)
            self._first_held = max(self._first_held, sent.first())

    async def _commit(
        self, conn: asyncpg.Connection, reset: bool, pending: dict[int, bytes],
        state: tuple[str, int, int, int, bool], *, upsert: bool,
    ) -> None:
        async with conn.transaction():
            if reset:
                await conn.execute(_DELETE_MESSAGES, self.session_id)
            if pending and upsert:
                await conn.execute(_INSERT_MESSAGES, self.session_id, list(pending), list(pending.values()))
            elif pending:  # COPY: half the database CPU per message of the INSERT above
                sid = self.session_id
                await conn.copy_records_to_table(
                    "fix_messages", records=[(sid, seq, raw) for seq, raw in pending.items()],
                    columns=_COLUMNS,
                )
            await conn.execute(_UPSERT_STATE, *state)


def postgres_store_factory(
    pool: asyncpg.Pool, *, flush_interval: float = 0.005, memory_limit: int = MEMORY_LIMIT
) -> MessageStoreFactory:
    """A MessageStoreFactory creating a PostgresMessageStore per session on a shared pool."""

    def factory(session_id: str) -> MessageStore:
        return PostgresMessageStore(
            session_id, pool=pool, flush_interval=flush_interval, memory_limit=memory_limit
        )

    return factory


__all__ = ["PostgresMessageStore", "postgres_store_factory"]
