"""What the writer's tables must hold, derived from the engine (events and live state)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import asyncpg

from engine import commands as c
from tests.support.engine_feed import EngineFeed

_ORDER_EVENTS = (c.OrderAccepted, c.OrderCanceled, c.OrderReplaced, c.OrderExpired,
                 c.OrderTriggered)
_BALANCE_EVENTS = (c.DepositApplied, c.WithdrawHeld, c.WithdrawConfirmed, c.WithdrawReleased)


def expected_counts(feed: EngineFeed) -> dict[str, int]:
    n: Counter[str] = Counter()
    orders: set[int] = set()
    for pub in feed.published:
        for ev in pub.events:
            if isinstance(ev, c.Trade):
                n["trades"] += 1
                n["executions"] += 2
            elif isinstance(ev, _ORDER_EVENTS):
                n["executions"] += 1
                if isinstance(ev, c.OrderAccepted):
                    orders.add(ev.order_id)
            elif isinstance(ev, c.Rejected):
                n["rejects"] += 1
            elif isinstance(ev, _BALANCE_EVENTS):
                n["balance_movements"] += 1
            elif isinstance(ev, c.MassCanceled):
                n["mass_cancels"] += 1
    n["orders"] = len(orders)
    return dict(n)


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    out = {}
    for table in ("orders", "executions", "trades", "rejects", "balance_movements", "mass_cancels"):
        count = await conn.fetchval(f"SELECT count(*) FROM {table}")
        if count:
            out[table] = count
    return out


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every trading table's rows without the writer's wall-clock columns."""
    out = {}
    for table, key in (("orders", "order_id"), ("executions", "evt_seq, evt_idx, leg"),
                       ("trades", "exec_id"), ("rejects", "evt_seq, evt_idx"),
                       ("balance_movements", "evt_seq, evt_idx"),
                       ("mass_cancels", "evt_seq, evt_idx")):
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")
        out[table] = [tuple(v for k, v in r.items() if not k.endswith("_at")) for r in rows]
    return out


async def check_orders_against_engine(conn: asyncpg.Connection, feed: EngineFeed) -> int:
    """Each order row agrees with the engine: live orders with the engine's own status
    report, dead ones are terminal with cum = the sum of their trades. Returns #live."""
    filled: Counter[int] = Counter()
    accounts: dict[int, int] = {}
    ended: dict[int, str] = {}  # how each dead order ended, by its last event
    for pub in feed.published:
        for ev in pub.events:
            if isinstance(ev, c.Trade):
                for oid, leaves in ((ev.maker_order_id, ev.maker_leaves),
                                    (ev.taker_order_id, ev.taker_leaves)):
                    filled[oid] += ev.qty
                    if leaves == 0:
                        ended[oid] = "filled"
            elif isinstance(ev, c.OrderAccepted):
                accounts[ev.order_id] = ev.account
            elif isinstance(ev, c.OrderCanceled) and ev.leaves_qty == 0:
                ended[ev.order_id] = "canceled"
            elif isinstance(ev, c.OrderExpired):
                ended[ev.order_id] = "expired"
    rows = {r["order_id"]: r for r in await conn.fetch("SELECT * FROM orders")}
    assert set(rows) == set(accounts)
    live = 0
    for oid, row in rows.items():
        assert row["cum_qty_units"] == filled[oid], oid
        if feed.engine.core.has_order(oid):
            live += 1
            (report,) = feed.engine.apply(c.OrderStatus(1 << 40, 0, oid, accounts[oid]))
            assert isinstance(report, c.OrderStatusReport)
            assert (row["leaves_qty_units"], row["cum_qty_units"], row["price_units"],
                    row["qty_units"]) == (report.leaves_qty, report.cum_qty, report.price,
                                          report.qty), oid
            assert row["status"] == ("partially_filled" if report.cum_qty else "new"), oid
        else:
            assert (row["leaves_qty_units"], row["status"]) == (0, ended[oid]), oid
    return live


async def wait_caught_up(dsn: str, writer: str, stream_seq: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            done = await conn.fetchval(
                "SELECT max(stream_seq) FROM writer_progress WHERE writer = $1", writer)
            if done is not None and done >= stream_seq:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"writer at stream seq {done}, expected {stream_seq}")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
