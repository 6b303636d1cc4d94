"""The embedded PostgreSQL comes up with the server settings the venue asks of it."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import asyncpg

from venue.embedded import SERVER_SETTINGS, EmbeddedPostgres


def test_the_embedded_server_runs_with_the_venues_settings() -> None:
    base = Path("/tmp") / f"venue-pg-settings-{uuid.uuid4().hex[:8]}"  # (short socket path)
    server = EmbeddedPostgres(base)
    server.start()
    try:
        async def shown() -> dict[str, str]:
            conn = await asyncpg.connect(server.url)
            try:
                return {name: str(await conn.fetchval(f"SHOW {name}")) for name in SERVER_SETTINGS}
            finally:
                await conn.close()

        assert asyncio.run(shown()) == SERVER_SETTINGS
        assert SERVER_SETTINGS["wal_init_zero"] == "off"  # (bench/results/e2e-wal-init-zero-off-*)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
