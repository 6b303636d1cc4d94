"""The per-firm kill switch: ``venue kill-switch FIRM`` (and ``--release``).

Killing a firm (1) marks it killed in PostgreSQL, so gateways that start later refuse its
orders too; (2) tells running gateways on ``venue.ctl.kill-switch`` to refuse its new orders
at once (OrdRejReason 3, "trading disabled for firm ... (kill switch)"); (3) appends one
MassCancel per account of the firm to the command log, so every live order of the firm is
canceled by the engine whichever gateway entered it (clients get ExecutionReports 150=4
with Text "kill switch").
"""

from __future__ import annotations

import json

import asyncpg

from engine import commands as c
from engine import wire
from venue.bus.envelope import Envelope, RequestMeta, encode_envelope, encode_meta
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.clock import SystemClock
from venue.config import Config
from venue.ids import OPERATOR_ID, IdAllocator

SUBJECT = "venue.ctl.kill-switch"


async def kill_switch(conn: asyncpg.Connection, nats_url: str, config: Config, firm: str, *, release: bool = False) -> str:
    if not await conn.fetchval("SELECT 1 FROM firms WHERE firm_id = $1", firm):
        raise ValueError(f"unknown firm {firm!r}")
    await conn.execute("UPDATE firms SET killed = $2 WHERE firm_id = $1", firm, not release)
    accounts = await conn.fetch("SELECT account_id, account_code FROM accounts WHERE firm_id = $1", firm)
    bus = await JetStreamBus.connect(nats_url, config.bus, name="venue-kill-switch")
    try:
        await bus.client.publish(SUBJECT, json.dumps({"firm": firm, "killed": not release}).encode())
        if release:
            await bus.client.flush()
            return f"firm {firm} may trade again"
        clock = SystemClock()
        ids = IdAllocator(OPERATOR_ID, clock)
        now = clock.now_ns()
        cmds: list[c.Command] = [c.MassCancel(seq=ids.next(), ts=now, account=r["account_id"]) for r in accounts]
        metas = [
            RequestMeta(seq=cmd.seq, account=r["account_code"], firm=firm, source="kill-switch")
            for cmd, r in zip(cmds, accounts, strict=True)
        ]
        if cmds:
            env = Envelope(1, "cmd", "kill-switch", now, 0, len(cmds), wire.encode_commands(cmds), encode_meta(metas))
            await bus.append(StreamKind.COMMANDS, encode_envelope(env), shard=config.engine.shard)
        return f"firm {firm} killed: new orders refused, mass cancel sent for {len(cmds)} account(s)"
    finally:
        await bus.close()
