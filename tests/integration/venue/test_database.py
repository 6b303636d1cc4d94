"""Migrations and reference data against a real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from venue import registry
from venue.config import load_config
from venue.db import migrate, migration_files, pending_migrations
from venue.passwords import verify_password

DEMO = Path(__file__).parents[3] / "config" / "demo.toml"


async def test_migrations_are_applied_once(db: asyncpg.Connection) -> None:
    assert await migrate(db) == []  # the fixture already migrated
    assert await pending_migrations(db) == []
    names = [r["name"] for r in await db.fetch("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in migration_files()]


async def test_seed_is_idempotent_and_stores_no_plain_password(db: asyncpg.Connection) -> None:
    config = load_config(DEMO, env={})
    await registry.seed(db, config)
    first_hash = await db.fetchval("SELECT password_hash FROM users WHERE username = 'alpha'")
    await registry.seed(db, config)  # again: no duplicates, same hash kept
    instruments = await registry.list_instruments(db)
    assert [i.symbol for i in instruments if i.symbol in ("BTC-USD", "ETH-USD")] == ["BTC-USD", "ETH-USD"]
    btc = next(i for i in instruments if i.symbol == "BTC-USD")
    assert btc.tick_size == Decimal("0.01") and btc.lot_size == Decimal("0.0001")
    accounts = {a.account_code: a for a in await registry.list_accounts(db)}
    assert accounts["ALPHA-1"].firm_id == "ALPHA" and accounts["ALPHA-1"].taker_fee_bps == 5
    stored = await db.fetchval("SELECT password_hash FROM users WHERE username = 'alpha'")
    assert stored == first_hash
    assert stored.startswith("$argon2") and "alpha-demo" not in stored
    assert verify_password(stored, "alpha-demo")
    assert not verify_password(stored, "wrong")


async def test_instrument_needs_known_assets(db: asyncpg.Connection) -> None:
    from venue.config import InstrumentConfig

    bad = InstrumentConfig(symbol="XX-YY", base="XX", quote="YY", tick_size="1", lot_size="1")
    with pytest.raises(registry.RegistryError, match="unknown asset"):
        await registry.upsert_instrument(db, bad)


async def test_database_refuses_plain_password(db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO firms(firm_id) VALUES ('PLAIN') ON CONFLICT DO NOTHING")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO users(username, firm_id, password_hash) VALUES ('p', 'PLAIN', 'secret')"
        )
