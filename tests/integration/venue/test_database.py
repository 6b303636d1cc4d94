"""Migrations and reference data against a real PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
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


@contextlib.asynccontextmanager
async def _migrated_before(server_url: str, first_pending: str) -> AsyncIterator[asyncpg.Connection]:
    """A fresh database with every migration before ``first_pending`` applied (and
    recorded), as a venue that ran an older release would have it."""
    from tests.conftest import _with_database

    name = f"venue_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(_with_database(server_url, name))
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for mig, sql in migration_files():
                if mig < first_pending:
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", mig)
            yield conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}"')
        await admin.close()


async def test_fix_messages_move_into_blocks(postgres_server_url: str) -> None:
    """Migration 007 turns a store written one row per message (002) into blocks the
    store reads back unchanged."""
    from fix_gateway.stores.postgres import newest_messages

    async with _migrated_before(postgres_server_url, "007") as conn:
        old = [(s, b"8=FIX.4.4\x019=5\x0135=8\x01%d\x01" % s) for s in (1, 2, 5)]
        await conn.executemany(
            "INSERT INTO fix_messages (session_id, seq, raw) VALUES ('S', $1, $2)", old
        )
        assert await migrate(conn) == [m for m, _ in migration_files() if m >= "007"]
        assert await newest_messages(conn, "S", 10) == (old, False)
        # the view for ad-hoc SQL shows them one row each, as the table did
        assert await conn.fetch("SELECT seq, raw FROM fix_messages WHERE session_id = 'S'") == old


async def test_orders_keep_their_rows_and_view_when_clordids_become_bytewise(postgres_server_url: str) -> None:
    """Migration 008 (session, cl_ord_id COLLATE "C") on a database holding orders: rows,
    the ClOrdID index and orders_view come through; the columns now compare byte by byte."""
    async with _migrated_before(postgres_server_url, "008") as conn:
        await conn.execute(
            "INSERT INTO orders (order_id, account_id, instrument_id, side, ord_type, tif, flags, stp,"
            " price_units, qty_units, stop_price_units, display_qty_units, expire_time_ns, status,"
            " cum_qty_units, leaves_qty_units, cl_ord_id, session, created_evt_seq, created_evt_idx,"
            " updated_evt_seq, updated_evt_idx)"
            " SELECT g, 0, 0, 0, 1, 0, 0, 0, 100, 10, 0, 0, 0, 'new', 0, 10, c, 'FIX.4.4:VENUE->A', g, 0, g, 0"
            " FROM unnest(ARRAY['b', 'B', 'a'], ARRAY[1, 2, 3]) AS u(c, g)"
        )
        assert await migrate(conn) == [m for m, _ in migration_files() if m >= "008"]
        collations = await conn.fetch(
            "SELECT column_name, collation_name FROM information_schema.columns"
            " WHERE table_name = 'orders' AND column_name IN ('session', 'cl_ord_id') ORDER BY 1"
        )
        assert [tuple(r) for r in collations] == [("cl_ord_id", "C"), ("session", "C")]
        ordered = await conn.fetch("SELECT cl_ord_id FROM orders_view ORDER BY cl_ord_id")
        assert [r["cl_ord_id"] for r in ordered] == ["B", "a", "b"]  # byte order
        assert await conn.fetchval(
            "SELECT order_id FROM orders WHERE session = $1 AND cl_ord_id = $2", "FIX.4.4:VENUE->A", "B"
        ) == 2
        index = await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = 'orders_session_clordid'")
        assert index is not None
