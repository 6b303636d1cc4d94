"""The writer's SQL: session setup, seed state, and one transaction per row batch.

A batch is stored in one transaction, in one of two ways:

- **append** (every batch, first): insert-only rows and the orders accepted in the batch
  are COPYed straight into their tables; the orders stored before that changed get one
  ``UPDATE ... FROM unnest(...)`` of their mutable columns (``rows.ORDER_MUTABLE``), only
  where the stored ``(updated_evt_seq, updated_evt_idx)`` is older, in the same statement as
  the ``writer_progress`` upsert. No temp tables (their ``ON COMMIT`` truncation cost more
  than the rows) and no savepoints.
- **merge** (only when a COPY met a key already stored: a replay, or a reused order id):
  the append transaction is rolled back and the batch is written again with every row
  through ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING``, and orders through
  ``INSERT ... ON CONFLICT (order_id) DO UPDATE ... WHERE`` the stored position is older,
  so a replayed row is a no-op and an order row only moves forward.

In both, if the UPDATE of changed orders hit fewer rows than it was given (a stored
position is newer, or a row is gone), the changed orders go through the upsert too (a
no-op for the rows the UPDATE moved), so the result is always the upsert's. Rows and
progress commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from persistence.rows import (
    APPEND_TABLES,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    OrderState,
    Row,
    RowBatch,
)

_MUTABLE_AT = tuple(ORDER_COLUMNS.index(c) for c in ORDER_MUTABLE)


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(columns)


def _unnest(types: dict[str, str], columns: Sequence[str], first: int) -> str:
    """``unnest($first::t[], ...) AS u(columns)``: one array parameter per column."""
    arrays = ", ".join(f"${first + i}::{types[c]}[]" for i, c in enumerate(columns))
    return f"unnest({arrays}) AS u({_cols(columns)})"


@dataclass(frozen=True)
class Statements:
    """SQL built once per session from the live schema's column types."""

    insert_missing: dict[str, str]  # append table -> INSERT ... ON CONFLICT DO NOTHING
    upsert_orders: str  # full order rows; only moves a row forward
    finish: str  # UPDATE changed orders + progress; returns the number of orders updated


def statements(types: dict[str, dict[str, str]]) -> Statements:
    """``types``: table -> column -> SQL type, as ``column_types`` reads them."""
    insert_missing = {
        table: f"INSERT INTO {table} ({_cols(cols)}) SELECT * FROM"
        f" {_unnest(types[table], cols, 1)} ON CONFLICT DO NOTHING"
        for table, cols in APPEND_TABLES.items()
    }
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ORDER_COLUMNS if c != "order_id")
    upsert_orders = (
        f"INSERT INTO orders ({_cols(ORDER_COLUMNS)})"
        f" SELECT * FROM {_unnest(types['orders'], ORDER_COLUMNS, 1)} ORDER BY order_id"
        f" ON CONFLICT (order_id) DO UPDATE SET {updates},"
        " created_at = CASE WHEN (orders.created_evt_seq, orders.created_evt_idx)"
        " = (EXCLUDED.created_evt_seq, EXCLUDED.created_evt_idx)"
        " THEN orders.created_at ELSE now() END,"
        " updated_at = now()"
        " WHERE (orders.updated_evt_seq, orders.updated_evt_idx)"
        " < (EXCLUDED.updated_evt_seq, EXCLUDED.updated_evt_idx)"
    )
    sets = ", ".join(f"{c} = u.{c}" for c in ORDER_MUTABLE if c != "order_id")
    finish = (
        "WITH changed AS ("
        f" UPDATE orders AS o SET {sets}, updated_at = now()"
        f" FROM {_unnest(types['orders'], ORDER_MUTABLE, 5)}"
        " WHERE o.order_id = u.order_id"
        " AND (o.updated_evt_seq, o.updated_evt_idx) < (u.updated_evt_seq, u.updated_evt_idx)"
        " RETURNING 1"
        "), progress AS ("
        " INSERT INTO writer_progress (writer, source, last_evt_seq, stream_seq)"
        " SELECT $1, s, l, q FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS t(s, l, q)"
        " ON CONFLICT (writer, source) DO UPDATE SET"
        " last_evt_seq = GREATEST(writer_progress.last_evt_seq, EXCLUDED.last_evt_seq),"
        " stream_seq = GREATEST(writer_progress.stream_seq, EXCLUDED.stream_seq),"
        " updated_at = now()"
        ") SELECT count(*) FROM changed"
    )
    return Statements(insert_missing, upsert_orders, finish)


async def column_types(conn: asyncpg.Connection) -> dict[str, dict[str, str]]:
    """The SQL type of every column of the tables the writer fills (the schema is the
    single source of types; rows.py only orders the columns)."""
    rows = await conn.fetch(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.oid = ANY($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped",
        [*APPEND_TABLES, "orders"],
    )
    types: dict[str, dict[str, str]] = {}
    for r in rows:
        types.setdefault(r["relname"], {})[r["attname"]] = r["type"]
    return types


async def prepare(conn: asyncpg.Connection) -> Statements:
    """Set up a writer session: asynchronous commit, and the statements.

    ``synchronous_commit = off`` (this connection only) lets a commit return before its WAL
    reaches the disk; a PostgreSQL crash can then lose the last few hundred milliseconds
    of commits, never corrupt or half-apply one. That is safe here because each batch's
    rows commit in the same transaction as the writer's progress watermark: the writer
    resumes from the progress that survived and re-reads the lost batches from JetStream
    (docs/operations.md, "Persistence writer").

    ``plan_cache_mode = force_custom_plan``: the per-batch UPDATE joins a parameter array to
    ``orders``; a generic plan made while ``orders`` was small (a fresh venue) hash-joins a
    sequential scan of the whole table and stays cached until an ANALYZE, so each execution
    is planned for its array and the table as they are.

    ``enable_hashjoin = off``, ``enable_mergejoin = off``: even planned for its array, the
    UPDATE was often a hash join that read every row of ``orders`` (the planner's estimate of
    the table, never analyzed while it grows fast, made the scan look cheap), so its cost grew
    with the table; measured with ``perf`` on the writer's backend in bench.e2e, a fifth of its
    CPU. The writer's statements have no other join, so on this connection the plan is always
    an index probe of ``orders_pkey`` per changed order."""
    await conn.execute(
        "SET synchronous_commit = off; SET plan_cache_mode = force_custom_plan;"
        " SET enable_hashjoin = off; SET enable_mergejoin = off"
    )
    return statements(await column_types(conn))


@dataclass(frozen=True)
class SeedState:
    """What a projection starts from: watermarks, resume position and live orders."""

    watermarks: dict[str, int]
    resume_seq: int  # the first VENUE_EVT stream sequence to read
    live_orders: list[OrderState]


async def load(conn: asyncpg.Connection, writer: str) -> SeedState:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        progress = await conn.fetch(
            "SELECT source, last_evt_seq, stream_seq FROM writer_progress WHERE writer = $1",
            writer,
        )
        live = await conn.fetch(
            f"SELECT {_cols(ORDER_COLUMNS)} FROM orders"
            " WHERE status IN ('new', 'partially_filled')"
        )
    watermarks = {r["source"]: r["last_evt_seq"] for r in progress}
    resume = max((r["stream_seq"] for r in progress), default=0) + 1
    return SeedState(watermarks, resume, [OrderState.from_record(r) for r in live])


def _columns(rows: list[Row], width: int) -> list[tuple[object, ...]]:
    """Rows to one sequence per column (the unnest parameters)."""
    return list(zip(*rows, strict=True)) if rows else [()] * width


async def write(conn: asyncpg.Connection, sql: Statements, writer: str, batch: RowBatch) -> bool:
    """Store one batch in one transaction (idempotent: safe to repeat after a lost ack).
    Returns True when the batch had to be merged (some of its rows were stored before)."""
    try:
        async with conn.transaction():
            await _store(conn, sql, writer, batch, merge=False)
        return False
    except asyncpg.UniqueViolationError:
        pass  # stored before: a replay (or a reused order id); the COPYs are rolled back
    async with conn.transaction():
        await _store(conn, sql, writer, batch, merge=True)
    return True


async def _store(
    conn: asyncpg.Connection, sql: Statements, writer: str, batch: RowBatch, *, merge: bool
) -> None:
    """The statements of one batch, inside the caller's transaction: append (COPY) or merge
    (ON CONFLICT) for new rows, then changed orders and progress (module docstring)."""
    for table, rows in batch.tables.items():
        if rows and merge:
            await conn.execute(sql.insert_missing[table], *_columns(rows, len(rows[0])))
        elif rows:
            await conn.copy_records_to_table(table, records=rows, columns=APPEND_TABLES[table])
    width = len(ORDER_COLUMNS)
    if batch.orders_new and merge:
        await conn.execute(sql.upsert_orders, *_columns(batch.orders_new, width))
    elif batch.orders_new:
        await conn.copy_records_to_table("orders", records=batch.orders_new,
                                         columns=ORDER_COLUMNS)
    changed = batch.orders_changed
    columns = _columns(changed, width)
    sources = list(batch.progress)
    updated = await conn.fetchval(
        sql.finish,
        writer,
        sources,
        [batch.progress[s][0] for s in sources],
        [batch.progress[s][1] for s in sources],
        *(columns[i] for i in _MUTABLE_AT),
    )
    if updated < len(changed):
        await conn.execute(sql.upsert_orders, *columns)
