"""The writer behind the real engine service: commands on VENUE_CMD, the service answers on
VENUE_EVT, the writer stores them; the tables agree with an engine fed the same commands."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import asyncpg

from engine.service import EngineService
from engine.snapshots import SnapshotStore
from persistence.writer import Writer, WriterSettings
from tests.support.engine_feed import EngineFeed, random_flow
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind

from .checks import check_orders_against_engine, expected_counts, table_counts, wait_caught_up


async def test_writer_stores_what_the_engine_service_publishes(
    event_bus: JetStreamBus, trading_dsn: str, tmp_path: Path
) -> None:
    feed = EngineFeed()  # the oracle: same commands through a private engine
    random_flow(feed, random.Random(21), batches=60, per_batch=10)
    service = EngineService(event_bus, SnapshotStore(tmp_path / "snapshots"))
    engine_task = asyncio.create_task(service.run())
    writer_task = asyncio.create_task(
        Writer(event_bus, trading_dsn, WriterSettings(max_delay_ms=5)).run())
    try:
        await event_bus.append_many(StreamKind.COMMANDS, [p.command_payload for p in feed.published])
        async with asyncio.timeout(20):
            while await event_bus.last_seq(StreamKind.EVENTS) < len(feed.published):
                await asyncio.sleep(0.05)
        await wait_caught_up(trading_dsn, "writer", len(feed.published))
    finally:
        for task in (engine_task, writer_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert service.engine.state_hash() == feed.engine.state_hash()
    conn = await asyncpg.connect(trading_dsn)
    try:
        assert await table_counts(conn) == expected_counts(feed)
        await check_orders_against_engine(conn, feed)
        metas = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE cl_ord_id IS NOT NULL AND session IS NOT NULL")
        assert metas == expected_counts(feed)["orders"]  # meta travelled with the events
    finally:
        await conn.close()
