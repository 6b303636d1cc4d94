"""Fixtures for the writer against real NATS JetStream and a real PostgreSQL.

``trading_dsn``: a fresh, migrated database per test (on the session's server), so tests do
not see each other's orders. ``event_bus``: a JetStreamBus on uniquely named streams.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.support.buses import isolated_bus, isolated_bus_config
from venue.bus.jetstream import JetStreamBus
from venue.db import migrate


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture
async def trading_dsn(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"venue_writer_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(postgres_server_url, name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        yield dsn
    finally:
        admin = await asyncpg.connect(postgres_server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def event_bus(nats_url: str) -> AsyncIterator[JetStreamBus]:
    async with isolated_bus(nats_url, isolated_bus_config("W", storage="memory")) as bus:
        yield bus
