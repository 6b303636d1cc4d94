"""The embedded PostgreSQL comes up with the server settings the venue asks of it."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.postgres import embedded_postgres
from venue.embedded import SERVER_SETTINGS


def test_the_embedded_server_runs_with_the_venues_settings() -> None:
    with embedded_postgres("venue-pg-settings") as server:
        async def shown() -> dict[str, str]:
            conn = await asyncpg.connect(server.url)
            try:
                return {name: str(await conn.fetchval(f"SHOW {name}")) for name in SERVER_SETTINGS}
            finally:
                await conn.close()

        assert asyncio.run(shown()) == SERVER_SETTINGS
        assert SERVER_SETTINGS["wal_init_zero"] == "off"  # (bench/results/e2e-wal-init-zero-off-*)
