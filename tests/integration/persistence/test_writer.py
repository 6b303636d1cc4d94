"""The writer end to end: real engine events on real JetStream into a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec
import pytest

from engine import commands as c
from persistence.writer import Writer, WriterSettings
from tests.support.engine_feed import ALICE, BOB, EngineFeed, limit, random_flow
from tests.support.faultproxy import proxy_for
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind

from .checks import (
    check_orders_against_engine,
    expected_counts,
    snapshot,
    table_counts,
    wait_caught_up,
)

# VENUE_TEST_OUTAGE_S=60 runs the outage test with the one-minute outage of issue 5.
OUTAGE_S = float(os.environ.get("VENUE_TEST_OUTAGE_S", "1.8"))
FAST = WriterSettings(
    max_delay_ms=5, retry_initial_s=0.05, retry_max_s=0.5, connect_timeout_s=1.0,
    command_timeout_s=5.0,
)


@contextlib.asynccontextmanager
async def running(writer: Writer) -> AsyncIterator[Writer]:
    task = asyncio.create_task(writer.run())
    try:
        yield writer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(bus: JetStreamBus, feed: EngineFeed, start: int = 0, end: int | None = None) -> int:
    await bus.append_many(StreamKind.EVENTS, [p.payload for p in feed.published[start:end]])
    return await bus.last_seq(StreamKind.EVENTS)


def flow(seed: int, batches: int) -> EngineFeed:
    feed = EngineFeed()
    random_flow(feed, random.Random(seed), batches=batches, per_batch=10)
    return feed


async def test_engine_events_become_orders_executions_and_trades(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    from prometheus_client import REGISTRY

    def metric(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    records_before = metric("venue_writer_records_total")
    trades_before = metric("venue_writer_rows_total", table="trades")
    feed = flow(1, batches=80)
    last = await publish(event_bus, feed)
    async with running(Writer(event_bus, trading_dsn, FAST)):
        await wait_caught_up(trading_dsn, "writer", last)
    assert await table_counts(db_conn) == expected_counts(feed)
    # what an operator reads: the last sequence committed, records and rows
    assert metric("venue_writer_stream_seq") == last
    assert metric("venue_writer_records_total") - records_before == last
    assert metric("venue_writer_rows_total", table="trades") - trades_before == expected_counts(feed)["trades"]
    live = await check_orders_against_engine(db_conn, feed)
    assert 0 < live < expected_counts(feed)["orders"]
    progress = await db_conn.fetch("SELECT * FROM writer_progress")
    assert [(r["writer"], r["source"], r["last_evt_seq"], r["stream_seq"]) for r in progress] == [
        ("writer", "engine-0", feed.answers, last)]


async def test_views_convert_raw_integers_to_exact_decimals(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    await db_conn.execute(
        "INSERT INTO assets(asset_id, code, decimals) VALUES (1, 'BTC', 3), (2, 'USD', 2);"
        "INSERT INTO instruments(instrument_id, symbol, base, quote, tick_size, lot_size,"
        " max_qty, price_band_pct) VALUES (1, 'BTC-USD', 'BTC', 'USD', 0.01, 0.001, 1, 10);"
        "INSERT INTO firms(firm_id) VALUES ('F');"
        "INSERT INTO accounts(account_id, account_code, firm_id) VALUES (10, 'ALICE', 'F'),"
        " (11, 'BOB', 'F')")
    feed = EngineFeed()
    feed.one(limit(1, ALICE, c.SELL, 101, 7), cl_ord_id="S")
    feed.one(limit(2, BOB, c.BUY, 101, 3), cl_ord_id="B")
    last = await publish(event_bus, feed)
    async with running(Writer(event_bus, trading_dsn, FAST)):
        await wait_caught_up(trading_dsn, "writer", last)

    order = await db_conn.fetchrow("SELECT * FROM orders_view WHERE order_id = 1")
    assert (order["symbol"], order["account"], order["side"], order["ord_type"], order["tif"]) == (
        "BTC-USD", "ALICE", "sell", "limit", "GTC")
    assert (order["price"], order["qty"], order["cum_qty"], order["leaves_qty"]) == (
        Decimal("1.01"), Decimal("0.007"), Decimal("0.003"), Decimal("0.004"))
    assert str(order["price"]) == "1.01" and str(order["qty"]) == "0.007"
    trade = await db_conn.fetchrow("SELECT * FROM trades_view")
    assert (trade["price"], trade["qty"], trade["notional"], trade["aggressor_side"]) == (
        Decimal("1.01"), Decimal("0.003"), Decimal("0.00303"), "buy")
    assert (trade["maker_account"], trade["taker_account"]) == ("ALICE", "BOB")
    assert trade["maker_fee"] == Decimal("0.01")  # 1 quote minor unit (ceil of 303 x 10 bps)
    deposit = await db_conn.fetchrow(
        "SELECT * FROM balance_movements_view WHERE account = 'ALICE' AND asset = 'USD'")
    assert (deposit["kind"], deposit["amount"]) == ("deposit", Decimal("1000000.00"))


async def test_replays_never_duplicate_nor_regress(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    feed = flow(2, batches=60)
    last = await publish(event_bus, feed)
    async with running(Writer(event_bus, trading_dsn, FAST)):
        await wait_caught_up(trading_dsn, "writer", last)
    before = await snapshot(db_conn)
    assert sum(len(v) for v in before.values()) > 500

    # 1. The engine service re-publishes every batch (same answers, new stream sequences).
    last = await publish(event_bus, feed)
    writer = Writer(event_bus, trading_dsn, FAST)
    async with running(writer):
        await wait_caught_up(trading_dsn, "writer", last)
    assert writer.stats.duplicates == len(feed.published)
    assert writer.stats.merged == 0  # skipped by the watermark: nothing reached the tables
    assert await snapshot(db_conn) == before

    # 2. Progress lost: the writer re-reads the whole stream, originals and duplicates.
    await db_conn.execute("DELETE FROM writer_progress")
    writer = Writer(event_bus, trading_dsn, FAST)
    async with running(writer):
        await wait_caught_up(trading_dsn, "writer", last)
    assert writer.stats.records == 2 * len(feed.published)
    assert writer.stats.merged > 0  # the COPYs met stored keys: merged instead
    assert await snapshot(db_conn) == before

    # 3. New events after all that are applied normally.
    already = len(feed.published)
    random_flow(feed, random.Random(3), batches=20, per_batch=10)
    last = await publish(event_bus, feed, start=already)
    async with running(Writer(event_bus, trading_dsn, FAST)):
        await wait_caught_up(trading_dsn, "writer", last)
    assert await table_counts(db_conn) == expected_counts(feed)
    await check_orders_against_engine(db_conn, feed)


async def test_postgres_outage_trading_goes_on_and_the_writer_catches_up(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    feed = flow(4, batches=120)
    proxy, proxied = await proxy_for(trading_dsn)
    writer = Writer(event_bus, proxied, FAST)
    try:
        async with running(writer):
            last = await publish(event_bus, feed, 0, 40)
            await wait_caught_up(trading_dsn, "writer", last)

            proxy.cut()  # PostgreSQL gone for the writer; events keep arriving
            for start in range(40, 100, 10):
                last = await publish(event_bus, feed, start, start + 10)
                await asyncio.sleep(OUTAGE_S / 6)
            stuck_at = await db_conn.fetchval("SELECT max(stream_seq) FROM writer_progress")
            assert stuck_at < last
            assert writer.stats.failures >= 2 and proxy.refused >= 1

            proxy.restore()
            last = await publish(event_bus, feed, 100)
            await wait_caught_up(trading_dsn, "writer", last)
    finally:
        await proxy.stop()
    assert writer.stats.sessions >= 2
    assert await table_counts(db_conn) == expected_counts(feed)
    await check_orders_against_engine(db_conn, feed)


async def test_a_changed_order_whose_row_is_gone_is_written_whole(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    """Orders stored before are UPDATEd in place; one the UPDATE cannot find (deleted behind
    the writer's back) goes through the upsert instead, so the table still ends right."""
    feed = EngineFeed()
    feed.one(limit(1, ALICE, c.SELL, 100, 10), cl_ord_id="S1")
    last = await publish(event_bus, feed)
    writer = Writer(event_bus, trading_dsn, FAST)
    async with running(writer):
        await wait_caught_up(trading_dsn, "writer", last)
        await db_conn.execute("DELETE FROM orders WHERE order_id = 1")
        feed.one(limit(2, BOB, c.BUY, 100, 4), cl_ord_id="B1")  # S1 partially filled
        last = await publish(event_bus, feed, start=len(feed.published) - 1)
        await wait_caught_up(trading_dsn, "writer", last)
    row = await db_conn.fetchrow("SELECT * FROM orders WHERE order_id = 1")
    assert (row["status"], row["cum_qty_units"], row["leaves_qty_units"], row["cl_ord_id"]) == (
        "partially_filled", 4, 6, "S1")
    await check_orders_against_engine(db_conn, feed)
    assert writer.stats.merged == 0


@pytest.fixture
async def db_conn(trading_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(trading_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_a_flapping_connection_loses_and_duplicates_nothing(
    event_bus: JetStreamBus, trading_dsn: str, db_conn: asyncpg.Connection
) -> None:
    """Cuts land at random points, some in the middle of a transaction or its commit."""
    feed = flow(5, batches=150)
    proxy, proxied = await proxy_for(trading_dsn)
    rng = random.Random(5)
    writer = Writer(event_bus, proxied, FAST)
    try:
        async with running(writer):
            for start in range(0, len(feed.published), 5):
                last = await publish(event_bus, feed, start, start + 5)
                await asyncio.sleep(rng.uniform(0, 0.03))
                if rng.random() < 0.3:
                    proxy.cut()
                    await asyncio.sleep(rng.uniform(0, 0.1))
                    proxy.restore()
            await wait_caught_up(trading_dsn, "writer", last)
    finally:
        await proxy.stop()
    assert writer.stats.failures >= 3
    assert await table_counts(db_conn) == expected_counts(feed)
    await check_orders_against_engine(db_conn, feed)


async def test_service_main_runs_from_config(
    event_bus: JetStreamBus, trading_dsn: str, nats_url: str, db_conn: asyncpg.Connection
) -> None:
    from persistence.writer import run
    from venue.config import Config, DatabaseConfig

    config = Config(bus=msgspec.structs.replace(event_bus._config, url=nats_url),
                    database=DatabaseConfig(url=trading_dsn))
    feed = flow(6, batches=10)
    last = await publish(event_bus, feed)
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    task = asyncio.create_task(run(config))
    try:
        await wait_caught_up(trading_dsn, "writer", last)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The service main tunes its process's collector (writer.tune_gc); this process is
        # pytest's, shared with the other tests: put it back.
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.callbacks[:] = callbacks
    assert await table_counts(db_conn) == expected_counts(feed)


async def test_nats_restart_the_writer_reads_on_by_itself(
    trading_dsn: str, db_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    """The writer's consumer lives in the server (file storage here, as embedded): after a
    NATS restart the writer reads on from where it was by itself and loses, duplicates or
    skips nothing."""
    from tests.support.buses import isolated_bus, isolated_bus_config
    from venue.embedded import EmbeddedNats, free_port

    nats = EmbeddedNats(tmp_path / "own-nats", free_port())
    nats.start()
    try:
        async with isolated_bus(nats.url, isolated_bus_config("R", storage="file")) as bus:
            feed = flow(6, batches=90)
            async with running(Writer(bus, trading_dsn, FAST)) as writer:
                last = await publish(bus, feed, 0, 30)
                await wait_caught_up(trading_dsn, "writer", last)

                nats.stop()
                await asyncio.sleep(1.0)
                nats.start()
                for _ in range(100):  # the bus client reconnects by itself
                    with contextlib.suppress(Exception):
                        last = await publish(bus, feed, 30)
                        break
                    await asyncio.sleep(0.2)
                await wait_caught_up(trading_dsn, "writer", last)
            assert writer.stats.duplicates == 0
            assert await table_counts(db_conn) == expected_counts(feed)
            await check_orders_against_engine(db_conn, feed)
    finally:
        nats.stop()
