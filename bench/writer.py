"""Persistence writer benchmark: rows/s from VENUE_EVT into PostgreSQL.

A seeded order flow (limits crossing around the mid, IOCs, cancels; 100 accounts) runs
through the C engine in command batches of ``--batch`` commands; each batch's events become
one envelope, exactly as the engine service publishes them. All envelopes are appended to a
fresh JetStream stream first (not timed), then a writer starts on a fresh, migrated database
and the clock runs until its progress row reaches the last stream sequence.

- ``rows_per_sec``: rows sent to PostgreSQL (orders upserts + executions + trades + rejects
  + balance movements) per second of wall time, catch-up from an empty database;
- ``events_per_sec``: engine events consumed per second (book events included, they are
  skipped by the writer but decoded);
- ``projection_rows_per_sec``: the pure projection alone (no I/O), for comparison.

Servers: ``VENUE_NATS_URL`` / ``VENUE_DATABASE_URL`` when set, else embedded ones.
Usage: ``python -m bench.writer [--json] [--quick] [--max-rows N] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from engine import commands as c
from engine import wire
from engine.core import MatchingEngine
from persistence.projection import Projection
from persistence.writer import Writer, WriterSettings
from venue.bus.envelope import Envelope, RequestMeta, encode_envelope, encode_meta
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.config import BusConfig
from venue.db import migrate
from venue.embedded import EmbeddedNats, EmbeddedPostgres, free_port

ACCOUNTS = 100


def generate(batches: int, per_batch: int, seed: int = 1) -> tuple[list[bytes], int]:
    """Envelopes for ``batches`` command batches; returns (payloads, total events)."""
    rng = random.Random(seed)
    eng = MatchingEngine()
    seq = 0
    payloads: list[bytes] = []
    total = 0

    def emit(cmds: list[c.Command], meta: list[RequestMeta]) -> None:
        nonlocal total
        body = eng.apply_batch(wire.encode_commands(cmds))
        n = len(wire.decode_events(body))
        total += n
        env = Envelope(v=1, kind="evt", source="engine-0", batch_id=len(payloads) + 1,
                       answers=len(payloads) + 1, count=n, body=body, meta=encode_meta(meta))
        payloads.append(encode_envelope(env))

    boot: list[c.Command] = [c.AddInstrument(1, 1, 1, 1, 1, 1, 1_000_000, 1, 2, 1, 5000, 1000)]
    for a in range(1, ACCOUNTS + 1):
        boot += [c.AddAccount(1, 1, a, 0, 1, 2), c.Deposit(1, 1, a, 1, 10**12),
                 c.Deposit(1, 1, a, 2, 10**15)]
    emit(boot, [])
    next_id = 0
    live: list[tuple[int, int]] = []
    for _ in range(batches):
        cmds: list[c.Command] = []
        meta: list[RequestMeta] = []
        for _ in range(per_batch):
            seq += 1
            acct = rng.randint(1, ACCOUNTS)
            roll = rng.random()
            if roll < 0.25 and live:
                oid, owner = live.pop(rng.randrange(len(live)))
                cmds.append(c.Cancel(seq, seq, oid, owner))
            else:
                next_id += 1
                tif = c.TifCode.IOC if roll > 0.9 else c.TifCode.GTC
                cmds.append(c.NewOrder(seq, seq, next_id, acct, 1, rng.randint(0, 1),
                                       c.OrdTypeCode.LIMIT, tif, rng.randint(990, 1010),
                                       rng.randint(1, 50)))
                live.append((next_id, acct))
            meta.append(RequestMeta(seq=seq, session="FIX.4.4:VENUE->BENCH",
                                    cl_ord_id=f"C{seq}", account=f"A{acct}"))
        emit(cmds, meta)
        live = [x for x in live if eng.core.has_order(x[0])]
    return payloads, total


def projection_rate(payloads: list[bytes]) -> float:
    proj, rows = Projection(), 0
    t0 = time.perf_counter()
    for i, p in enumerate(payloads, 1):
        proj.apply_record(i, p)
        if i % 64 == 0:
            rows += proj.take().row_count
    rows += proj.take().row_count
    return rows / (time.perf_counter() - t0)


async def measure(
    payloads: list[bytes], nats_url: str, pg_url: str, max_rows: int
) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8].upper()
    config = BusConfig(command_stream=f"B{tag}_CMD", event_stream=f"B{tag}_EVT",
                       subject_prefix=f"b{tag.lower()}", storage="memory")
    bus = await JetStreamBus.connect(nats_url, config)
    dbname = f"venue_bench_{tag.lower()}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    head, _, tail = pg_url.partition("?")
    dsn = head.rsplit("/", 1)[0] + f"/{dbname}" + (f"?{tail}" if tail else "")
    try:
        await bus.ensure_streams()
        for i in range(0, len(payloads), 500):
            await bus.append_many(StreamKind.EVENTS, payloads[i : i + 500])
        last = await bus.last_seq(StreamKind.EVENTS)
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        writer = Writer(bus, dsn, WriterSettings(max_delay_ms=5, max_rows=max_rows))
        t0 = time.perf_counter()
        task = asyncio.create_task(writer.run())
        while writer.stats.stream_seq < last:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        stored = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                  for t in ("orders", "executions", "trades", "balance_movements")}
        await conn.close()
        sent = sum(writer.stats.rows.values())
        return {"seconds": round(elapsed, 3), "rows_sent": sent, "rows_stored": stored,
                "rows_per_sec": round(sent / elapsed), "batches": writer.stats.batches,
                "write_seconds": round(writer.stats.write_s, 3),
                "records_per_sec": round(len(payloads) / elapsed)}
    finally:
        for name in (config.command_stream, config.event_stream):
            await bus._js.delete_stream(name)
        await bus.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.writer")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    ap.add_argument("--batch", type=int, default=100, help="commands per engine batch")
    ap.add_argument("--max-rows", type=int, default=50_000, help="WriterSettings.max_rows")
    ap.add_argument("--out", help="also write the JSON here (bench/results/writer-*.json)")
    args = ap.parse_args(argv)
    batches = 50 if args.quick else 1000
    payloads, events = generate(batches, args.batch)
    with tempfile.TemporaryDirectory(prefix="venue-bench-") as tmp:
        nats_url, pg_url = os.environ.get("VENUE_NATS_URL"), os.environ.get("VENUE_DATABASE_URL")
        nats = pg = None
        if not nats_url:
            nats = EmbeddedNats(Path(tmp), free_port())
            nats.start()
            nats_url = nats.url
        if not pg_url:
            pg = EmbeddedPostgres(Path("/tmp") / f"vb-{uuid.uuid4().hex[:6]}")
            pg.start()
            pg_url = pg.url
        try:
            result = asyncio.run(measure(payloads, nats_url, pg_url, args.max_rows))
        finally:
            if pg is not None:
                pg.stop()
            if nats is not None:
                nats.stop()
    result.update({
        "bench": "writer", "quick": args.quick, "commands_per_batch": args.batch,
        "envelopes": len(payloads), "events": events, "max_rows": args.max_rows,
        "events_per_sec": round(events / result["seconds"]),
        "projection_rows_per_sec": round(projection_rate(payloads)),
        "python": sys.version.split()[0], "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2), "postgres": "env" if os.environ.get("VENUE_DATABASE_URL") else "embedded",
    })
    text = json.dumps(result, indent=None if args.json else 2)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
