"""The writer's per-batch UPDATE of changed orders is planned as an index probe per order,
whatever the planner thinks of the table (persistence/store.py ``prepare``)."""

from __future__ import annotations

import asyncpg

from persistence.rows import ORDER_MUTABLE
from persistence.store import prepare

ROWS, CHANGED = 10_000, 1_000  # a young, never analyzed table and a large batch


async def _plan(conn: asyncpg.Connection, finish: str) -> str:
    ids = list(range(ROWS - CHANGED + 1, ROWS + 1))
    values: dict[str, list[object]] = {
        "order_id": list(ids), "status": ["filled"] * CHANGED, "triggered": [False] * CHANGED,
        "cum_qty_units": [10] * CHANGED, "leaves_qty_units": [0] * CHANGED,
        "cl_ord_id": ["c"] * CHANGED, "orig_cl_ord_id": [None] * CHANGED,
        "price_units": [100] * CHANGED, "qty_units": [10] * CHANGED,
        "updated_evt_seq": [ROWS + 1] * CHANGED, "updated_evt_idx": [0] * CHANGED,
    }
    rows = await conn.fetch(
        "EXPLAIN " + finish, "writer", ["engine-0"], [ROWS + 1], [1],
        *(values[c] for c in ORDER_MUTABLE),
    )
    return "\n".join(r[0] for r in rows)


async def test_changed_orders_are_updated_through_the_primary_key(trading_dsn: str) -> None:
    conn = await asyncpg.connect(trading_dsn)
    try:
        await conn.execute(
            "INSERT INTO orders (order_id, account_id, instrument_id, side, ord_type, tif, flags,"
            " stp, price_units, qty_units, stop_price_units, display_qty_units, expire_time_ns,"
            " status, cum_qty_units, leaves_qty_units, created_evt_seq, created_evt_idx,"
            " updated_evt_seq, updated_evt_idx)"
            " SELECT g, 1, 1, 0, 1, 0, 0, 0, 100, 10, 0, 0, 0, 'new', 0, 10, g, 0, g, 0"
            f" FROM generate_series(1, {ROWS}) g"
        )
        sql = await prepare(conn)
        plan = await _plan(conn, sql.finish)
        assert "Seq Scan on orders" not in plan, plan
        assert "Index Scan using orders_pkey" in plan, plan
        # (the planner's own choice here, before prepare's join settings, was a hash join over
        # a sequential scan of the whole table: the settings are what this test holds)
        await conn.execute("RESET enable_hashjoin; RESET enable_mergejoin")
        assert "Seq Scan on orders" in await _plan(conn, sql.finish)
    finally:
        await conn.close()
