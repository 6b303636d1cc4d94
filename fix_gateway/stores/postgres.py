"""PostgreSQL MessageStore (asyncpg): state in memory, persisted asynchronously in blocks.

Invariants:

- The methods the session calls per message (``store_sent``, ``set_next_*``, ``reset``)
  only touch memory and append to a pending batch; they never await and never touch the
  database. A background task flushes the batch ``flush_interval`` seconds after the first
  change (``fix.store_flush_ms``), atomically: the reset (if any) first, then the new
  messages as one row of ``fix_message_blocks`` (at most ``BLOCK_MESSAGES`` messages a
  row), then the session's state row. PostgreSQL's cost is per row, so one row per flush
  instead of one per message is most of the store's database CPU saved. Blocks are only
  ever inserted; where they overlap (a retried batch whose first attempt did commit, numbers
  reused without a reset) the copy written later wins.
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

Tables: ``venue/migrations/002_fix_store.sql``, ``007_fix_message_blocks.sql``.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterable, Iterator, Sequence

import asyncpg
import structlog

from fix_gateway.store import MessageStore, MessageStoreFactory
from fix_gateway.stores.sent import SentMessages
from venue.db import keep_session

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
BLOCK_MESSAGES = 2048  # messages per fix_message_blocks row at most (a backlog splits)
_BLOCK_HEAD = struct.Struct(">qI")  # each message in a block: seq, length, then its bytes
_NEWEST_BLOCKS = (
    "SELECT first_seq, n FROM fix_message_blocks WHERE session_id = $1 AND first_seq < $2"
    " ORDER BY first_seq DESC LIMIT 256"
)
_BLOCKS_FROM = (  # every block holding a number >= $2 (an older, longer block may start below it)
    "SELECT raw FROM fix_message_blocks WHERE session_id = $1 AND last_seq >= $2 ORDER BY written"
)
_BLOCK_COLUMNS = "fix_message_blocks (session_id, first_seq, last_seq, n, raw)"
_BLOCKS_OVERLAPPING = (
    "SELECT raw FROM fix_message_blocks WHERE session_id = $1 AND last_seq >= $2 AND first_seq <= $3"
    " ORDER BY written"
)
_DELETE_MESSAGES = "DELETE FROM fix_message_blocks WHERE session_id = $1"
_INSERT_BLOCK = f"INSERT INTO {_BLOCK_COLUMNS} VALUES ($1, $2, $3, $4, $5)"
_UPSERT_STATE = (
    "INSERT INTO fix_session_state"
    " (session_id, next_sender_seq, next_target_seq, creation_time_ns, clean, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, now())"
    " ON CONFLICT (session_id) DO UPDATE SET next_sender_seq = EXCLUDED.next_sender_seq,"
    " next_target_seq = EXCLUDED.next_target_seq, creation_time_ns = EXCLUDED.creation_time_ns,"
    " clean = EXCLUDED.clean, updated_at = now()"
)
# The common flush (no reset, one block) in one statement: one round trip, atomic.
_FLUSH_ONE = f"WITH block AS (INSERT INTO {_BLOCK_COLUMNS} VALUES ($1, $6, $7, $8, $9)) {_UPSERT_STATE}"


def pack_block(messages: Iterable[tuple[int, bytes]]) -> bytes:
    """Messages (in sequence order) as one ``fix_message_blocks.raw`` value."""
    head = _BLOCK_HEAD.pack
    return b"".join([head(seq, len(raw)) + raw for seq, raw in messages])


def unpack_block(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """The messages of a ``fix_message_blocks.raw`` value, in the order they were packed."""
    view, off, end, size = memoryview(raw), 0, len(raw), _BLOCK_HEAD.size
    unpack = _BLOCK_HEAD.unpack_from
    while off < end:
        seq, length = unpack(view, off)
        off += size
        yield seq, bytes(view[off:off + length])
        off += length


def _blocks(pending: dict[int, bytes]) -> list[tuple[int, int, int, bytes]]:
    """Pending messages as (first_seq, last_seq, n, raw) rows of at most BLOCK_MESSAGES."""
    items = sorted(pending.items())
    out = []
    for i in range(0, len(items), BLOCK_MESSAGES):
        part = items[i:i + BLOCK_MESSAGES]
        out.append((part[0][0], part[-1][0], len(part), pack_block(part)))
    return out


async def newest_messages(
    conn: asyncpg.Connection, session_id: str, limit: int
) -> tuple[list[tuple[int, bytes]], bool]:
    """At most the newest ``limit`` stored messages of a session, in sequence order, and
    whether older ones may be stored too (False: these are all)."""
    blocks: list[tuple[int, int]] = []
    count, below = 0, 1 << 62
    while count < limit:
        page = await conn.fetch(_NEWEST_BLOCKS, session_id, below)
        if not page:
            break
        for r in page:
            blocks.append((int(r["first_seq"]), int(r["n"])))
            count += int(r["n"])
            if count >= limit:
                break
        below = blocks[-1][0]
    if not blocks:
        return [], False
    cutoff = blocks[-1][0]
    held: dict[int, bytes] = {}
    for r in await conn.fetch(_BLOCKS_FROM, session_id, cutoff):  # in write order: later wins
        held.update((seq, raw) for seq, raw in unpack_block(bytes(r["raw"])) if seq >= cutoff)
    return sorted(held.items())[-limit:], count >= limit


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
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=1, reset=keep_session)
        pool = self._pool
        assert pool is not None
        async with pool.acquire() as conn:
            row = await conn.fetchrow(_LOAD_STATE, self.session_id)
            rows, older = await newest_messages(conn, self.session_id, self._memory_limit)
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
        self._sent = SentMessages(rows)
        self._first_held = self._sent.first() if older else 1
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

    def store_sent_run(self, first_seq: int, raws: Sequence[bytes]) -> None:
        if not raws:
            return
        self._sent.add_run(first_seq, raws)
        pending = self._pending
        for seq, raw in enumerate(raws, first_seq):
            pending[seq] = raw
        self._next_sender = first_seq + len(raws)
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
            rows = await conn.fetch(_BLOCKS_OVERLAPPING, self.session_id, begin, end)
        if generation != self._generation:
            return  # the sequence was reset meanwhile: those messages are gone
        found: dict[int, bytes] = {}
        for r in rows:  # in write order: a later block's copy of a number wins
            found.update((s, m) for s, m in unpack_block(bytes(r["raw"])) if begin <= s <= end)
        pending = self._pending
        add = self._sent.add
        for seq, raw in found.items():
            if seq not in pending:  # (a number re-sent since is newer than the database's)
                add(seq, raw)
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
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
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
                await self._commit(conn, reset, pending, state)
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
        state: tuple[str, int, int, int, bool],
    ) -> None:
        blocks = _blocks(pending) if pending else []
        if not reset and len(blocks) == 1:
            await conn.execute(_FLUSH_ONE, *state, *blocks[0])
            return
        async with conn.transaction():
            if reset:
                await conn.execute(_DELETE_MESSAGES, self.session_id)
            if blocks:
                await conn.executemany(_INSERT_BLOCK, [(self.session_id, *b) for b in blocks])
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


__all__ = ["PostgresMessageStore", "newest_messages", "pack_block", "postgres_store_factory", "unpack_block"]
