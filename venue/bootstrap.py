"""Reference data and funding into the engine: every balance change is a sequenced command.

``venue up`` calls ``bootstrap`` after the database is seeded: each instrument and account not
yet known to the engine becomes AddInstrument / AddAccount, and each configured deposit a
Deposit, appended to the command log in one batch; ``engine_bootstrap`` records what was
issued so a restart does not issue it again. The batch carries a deterministic ``Nats-Msg-Id``,
so a crash between the append and the record is de-duplicated by JetStream on the retry.
"""

from __future__ import annotations

import hashlib

import asyncpg

from engine import commands as c
from engine import wire
from venue.bus.envelope import Envelope, RequestMeta, encode_envelope, encode_meta
from venue.bus.protocol import Bus, StreamKind
from venue.clock import Clock
from venue.config import Config
from venue.fixedpoint import to_units
from venue.ids import OPERATOR_ID, IdAllocator
from venue.instruments import load_instruments


async def bootstrap(conn: asyncpg.Connection, bus: Bus, config: Config, clock: Clock) -> int:
    """Issue the missing setup commands; return how many were issued."""
    done = {r["item"] for r in await conn.fetch("SELECT item FROM engine_bootstrap")}
    items: list[tuple[str, c.Command]] = []
    ts = clock.now_ns()
    next_seq = IdAllocator(OPERATOR_ID, clock).next

    for spec in (await load_instruments(conn)).values():
        if f"instrument:{spec.symbol}" not in done:
            items.append((f"instrument:{spec.symbol}", spec.add_command(next_seq(), ts)))
    accounts = {r["account_code"]: r for r in await conn.fetch("SELECT * FROM accounts")}
    group_ids: dict[str, int] = {}
    for row in sorted(accounts.values(), key=lambda r: r["account_id"]):
        if row["stp_group"]:
            group_ids.setdefault(row["stp_group"], row["account_id"])
    for code, row in accounts.items():
        if f"account:{code}" not in done:
            items.append((
                f"account:{code}",
                c.AddAccount(next_seq(), ts, row["account_id"], group_ids.get(row["stp_group"], 0),
                             row["maker_fee_bps"], row["taker_fee_bps"]),
            ))
    assets = {r["code"]: r for r in await conn.fetch("SELECT * FROM assets")}
    for acct in config.accounts:
        for asset, amount in acct.deposits.items():
            key = f"deposit:{acct.id}:{asset}"
            if key in done:
                continue
            units = to_units(amount, f"1e-{assets[asset]['decimals']}")
            items.append((key, c.Deposit(next_seq(), ts, accounts[acct.id]["account_id"], assets[asset]["asset_id"], units)))
    if not items:
        return 0
    body = wire.encode_commands([cmd for _, cmd in items])
    meta = encode_meta([RequestMeta(seq=cmd.seq, source="bootstrap", extra=key) for key, cmd in items])
    digest = hashlib.sha256(",".join(k for k, _ in items).encode()).hexdigest()[:24]
    env = Envelope(1, "cmd", "bootstrap", 0, 0, len(items), body, meta)
    stream_seq = await bus.append(
        StreamKind.COMMANDS, encode_envelope(env), msg_id=f"bootstrap:{digest}", shard=config.engine.shard
    )
    await conn.executemany(
        "INSERT INTO engine_bootstrap(item, command_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(key, stream_seq) for key, _ in items],
    )
    return len(items)
