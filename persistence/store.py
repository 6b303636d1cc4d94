"""The writer's SQL: seed state, and one transaction per row batch (COPY + INSERT ... SELECT).

Each batch, in one transaction:

- insert-only tables: COPY straight into the table inside a savepoint; if a key is already
  there (a replay: keys are event positions, trades the exec id), roll back to the savepoint
  and COPY into a session temp table (``ON COMMIT DELETE ROWS``) followed by
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, so a replayed row is a no-op;
- ``orders``: COPY into a temp table, then ``INSERT ... SELECT ... ON CONFLICT (order_id)
  DO UPDATE ... WHERE`` the stored ``(updated_evt_seq, updated_evt_idx)`` is older than the
  incoming one, so a row only moves forward;
- ``writer_progress``: the per-source watermark and stream position, in the same
  transaction, so rows and progress commit or roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from persistence.rows import APPEND_TABLES, ORDER_COLUMNS, OrderState, Row, RowBatch

_TEMP = "_pw_"  # temp table prefix


def _cols(columns: tuple[str, ...]) -> str:
    return ", ".join(columns)


_APPEND_SQL = {
    table: f"INSERT INTO {table} ({_cols(cols)}) SELECT {_cols(cols)} FROM {_TEMP}{table}"
    " ON CONFLICT DO NOTHING"
    for table, cols in APPEND_TABLES.items()
}
_ORDER_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in ORDER_COLUMNS if c != "order_id")
_ORDERS_SQL = (
    f"INSERT INTO orders ({_cols(ORDER_COLUMNS)})"
    f" SELECT {_cols(ORDER_COLUMNS)} FROM {_TEMP}orders ORDER BY order_id"
    f" ON CONFLICT (order_id) DO UPDATE SET {_ORDER_UPDATES},"
    " created_at = CASE WHEN (orders.created_evt_seq, orders.created_evt_idx)"
    " = (EXCLUDED.created_evt_seq, EXCLUDED.created_evt_idx)"
    " THEN orders.created_at ELSE now() END,"
    " updated_at = now()"
    " WHERE (orders.updated_evt_seq, orders.updated_evt_idx)"
    " < (EXCLUDED.updated_evt_seq, EXCLUDED.updated_evt_idx)"
)
_PROGRESS_SQL = (
    "INSERT INTO writer_progress (writer, source, last_evt_seq, stream_seq)"
    " SELECT $1, s, l, q FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS t(s, l, q)"
    " ON CONFLICT (writer, source) DO UPDATE SET"
    " last_evt_seq = GREATEST(writer_progress.last_evt_seq, EXCLUDED.last_evt_seq),"
    " stream_seq = GREATEST(writer_progress.stream_seq, EXCLUDED.stream_seq),"
    " updated_at = now()"
)


async def prepare(conn: asyncpg.Connection) -> None:
    """Create this session's temp tables (shaped like the real ones, without keys)."""
    for table in (*APPEND_TABLES, "orders"):
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_TEMP}{table}"
            f" (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )


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


async def _append(conn: asyncpg.Connection, table: str, rows: list[Row]) -> None:
    """COPY straight into the table (the common case: rows never seen); if some were
    stored before (a replay), roll back to the savepoint and merge through the temp table."""
    columns = APPEND_TABLES[table]
    try:
        async with conn.transaction():  # a savepoint inside the batch transaction
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        return
    except asyncpg.UniqueViolationError:
        pass
    await conn.copy_records_to_table(f"{_TEMP}{table}", records=rows, columns=columns)
    await conn.execute(_APPEND_SQL[table])


async def write(conn: asyncpg.Connection, writer: str, batch: RowBatch) -> None:
    """Store one batch in one transaction (idempotent: safe to repeat after a lost ack)."""
    async with conn.transaction():
        for table, rows in batch.tables.items():
            if rows:
                await _append(conn, table, rows)
        if batch.orders:
            await conn.copy_records_to_table(
                f"{_TEMP}orders", records=batch.orders, columns=ORDER_COLUMNS
            )
            await conn.execute(_ORDERS_SQL)
        if batch.progress:
            sources = list(batch.progress)
            await conn.execute(
                _PROGRESS_SQL,
                writer,
                sources,
                [batch.progress[s][0] for s in sources],
                [batch.progress[s][1] for s in sources],
            )
