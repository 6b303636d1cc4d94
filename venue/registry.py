"""Reference data in PostgreSQL: assets, instruments, firms, accounts, users.

``seed`` makes the database agree with the config's declarations (idempotent upserts), so
``make run`` with the demo config always starts from the same reference data. Balances are
not stored here: deposits are engine commands (the engine owns balances).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from venue.config import (
    AccountConfig,
    AssetConfig,
    Config,
    FirmConfig,
    InstrumentConfig,
    UserConfig,
)
from venue.fixedpoint import parse_decimal
from venue.passwords import hash_password


class RegistryError(ValueError):
    pass


class Instrument(msgspec.Struct, frozen=True):
    instrument_id: int
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    price_band_pct: Decimal
    reference_price: Decimal
    trading_state: str


class Account(msgspec.Struct, frozen=True):
    account_id: int
    account_code: str
    firm_id: str
    stp_group: str
    maker_fee_bps: int
    taker_fee_bps: int


async def upsert_asset(conn: asyncpg.Connection, asset: AssetConfig) -> None:
    await conn.execute(
        "INSERT INTO assets(code, decimals) VALUES ($1, $2)"
        " ON CONFLICT (code) DO UPDATE SET decimals = EXCLUDED.decimals",
        asset.code,
        asset.decimals,
    )


async def upsert_instrument(conn: asyncpg.Connection, inst: InstrumentConfig) -> Instrument:
    for leg in (inst.base, inst.quote):
        if not await conn.fetchval("SELECT 1 FROM assets WHERE code = $1", leg):
            raise RegistryError(f"unknown asset {leg!r}: add it first (assets are declared in the config)")
    row = await conn.fetchrow(
        "INSERT INTO instruments(symbol, base, quote, tick_size, lot_size, min_qty, max_qty,"
        " price_band_pct, reference_price) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
        " ON CONFLICT (symbol) DO UPDATE SET base = EXCLUDED.base, quote = EXCLUDED.quote,"
        " tick_size = EXCLUDED.tick_size, lot_size = EXCLUDED.lot_size, min_qty = EXCLUDED.min_qty,"
        " max_qty = EXCLUDED.max_qty, price_band_pct = EXCLUDED.price_band_pct,"
        " reference_price = EXCLUDED.reference_price RETURNING *",
        inst.symbol,
        inst.base,
        inst.quote,
        parse_decimal(inst.tick_size),
        parse_decimal(inst.lot_size),
        parse_decimal(inst.min_qty),
        parse_decimal(inst.max_qty),
        parse_decimal(inst.price_band_pct),
        parse_decimal(inst.reference_price),
    )
    return _instrument(row)


async def list_instruments(conn: asyncpg.Connection) -> list[Instrument]:
    return [_instrument(r) for r in await conn.fetch("SELECT * FROM instruments ORDER BY instrument_id")]


async def upsert_firm(conn: asyncpg.Connection, firm: FirmConfig) -> None:
    await conn.execute(
        "INSERT INTO firms(firm_id, name) VALUES ($1, $2)"
        " ON CONFLICT (firm_id) DO UPDATE SET name = EXCLUDED.name",
        firm.id,
        firm.name,
    )


async def upsert_account(conn: asyncpg.Connection, acct: AccountConfig) -> Account:
    if not await conn.fetchval("SELECT 1 FROM firms WHERE firm_id = $1", acct.firm):
        raise RegistryError(f"unknown firm {acct.firm!r}: add the firm first")
    row = await conn.fetchrow(
        "INSERT INTO accounts(account_code, firm_id, stp_group, maker_fee_bps, taker_fee_bps)"
        " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (account_code) DO UPDATE SET"
        " firm_id = EXCLUDED.firm_id, stp_group = EXCLUDED.stp_group,"
        " maker_fee_bps = EXCLUDED.maker_fee_bps, taker_fee_bps = EXCLUDED.taker_fee_bps RETURNING *",
        acct.id,
        acct.firm,
        acct.stp_group,
        acct.maker_fee_bps,
        acct.taker_fee_bps,
    )
    return _account(row)


async def list_accounts(conn: asyncpg.Connection) -> list[Account]:
    return [_account(r) for r in await conn.fetch("SELECT * FROM accounts ORDER BY account_id")]


async def upsert_user(conn: asyncpg.Connection, user: UserConfig) -> None:
    password_hash = user.password_hash or hash_password(user.password)
    if not password_hash.startswith("$argon2"):
        raise RegistryError(f"users[{user.username}].password_hash is not an argon2 hash")
    existing = await conn.fetchval("SELECT password_hash FROM users WHERE username = $1", user.username)
    if existing and user.password and not user.password_hash:
        from venue.passwords import verify_password

        if verify_password(existing, user.password):
            password_hash = existing  # unchanged: keep the stored hash
    await conn.execute(
        "INSERT INTO users(username, firm_id, password_hash, role) VALUES ($1,$2,$3,$4)"
        " ON CONFLICT (username) DO UPDATE SET firm_id = EXCLUDED.firm_id,"
        " password_hash = EXCLUDED.password_hash, role = EXCLUDED.role",
        user.username,
        user.firm,
        password_hash,
        user.role,
    )


async def user_password_hash(conn: asyncpg.Connection, username: str) -> tuple[str, str] | None:
    row = await conn.fetchrow("SELECT password_hash, firm_id FROM users WHERE username = $1", username)
    return (row["password_hash"], row["firm_id"]) if row else None


async def seed(conn: asyncpg.Connection, config: Config) -> None:
    async with conn.transaction():
        for asset in config.assets:
            await upsert_asset(conn, asset)
        for inst in config.instruments:
            await upsert_instrument(conn, inst)
        for firm in config.firms:
            await upsert_firm(conn, firm)
        for acct in config.accounts:
            await upsert_account(conn, acct)
        for user in config.users:
            await upsert_user(conn, user)


def _instrument(row: Any) -> Instrument:
    return Instrument(
        instrument_id=row["instrument_id"],
        symbol=row["symbol"],
        base=row["base"],
        quote=row["quote"],
        tick_size=row["tick_size"],
        lot_size=row["lot_size"],
        min_qty=row["min_qty"],
        max_qty=row["max_qty"],
        price_band_pct=row["price_band_pct"],
        reference_price=row["reference_price"],
        trading_state=row["trading_state"],
    )


def _account(row: Any) -> Account:
    return Account(
        account_id=row["account_id"],
        account_code=row["account_code"],
        firm_id=row["firm_id"],
        stp_group=row["stp_group"],
        maker_fee_bps=row["maker_fee_bps"],
        taker_fee_bps=row["taker_fee_bps"],
    )
