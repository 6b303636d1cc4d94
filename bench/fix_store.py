"""FIX PostgreSQL message store benchmark: CPU per sent message, in the gateway and in PostgreSQL.

The gateway stores every message it sends (for resends) through ``PostgresMessageStore``:
``store_sent`` in memory, then a flush every ``fix.store_flush_ms`` per session. This drives
that store directly, as the gateway does under load: ``--sessions`` sessions, each storing
``--per-flush`` ExecutionReports (~250 bytes, the e2e benchmark's kind) and then flushing,
round-robin, until ``--messages`` messages are stored. On a fresh, migrated database
(embedded PostgreSQL unless ``VENUE_DATABASE_URL``).

Reported over the timed part (after ``--warmup`` messages): core-microseconds per message
of this process (the gateway's side: batching, asyncpg encoding) and of PostgreSQL (every
process of the server, from /proc: the server must run on this machine and serve nobody
else; the embedded one does), messages per second of wall time, and bytes on disk per
message.

Usage: ``python -m bench.fix_store [--json] [--messages N] [--sessions N] [--per-flush N]
[--out PATH]``. Side by side with another tree: run it from there with
``PYTHONPATH=<tree>`` (it uses only the store's public methods and the tree's migrations).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench.writer import postmaster_pid, server_cpu_s
from fix_gateway.stores.postgres import PostgresMessageStore
from venue.db import migrate
from venue.embedded import EmbeddedPostgres


def report(seq: int) -> bytes:
    """An ExecutionReport as the venue sends it (numbers vary, as they do)."""
    body = (
        b"35=8\x0134=%d\x0149=VENUE\x0152=20261122-10:00:00.%06d\x0156=ALPHA\x01"
        b"37=%d\x0111=T0-%d\x0117=%d-1\x01150=0\x0139=0\x011=ALPHA-1\x0155=BTC-USD\x0154=1\x01"
        b"38=0.0012\x0140=2\x0144=%d.%02d\x0159=0\x01151=0.0012\x0114=0\x016=0\x01"
        b"60=20261122-10:00:00.%06d\x01"
        % (seq, seq % 1_000_000, 1_795_000_000_000_000 + seq * 7, seq, 40_000 + seq, 59_000 + seq % 2_000,
           seq % 100, seq % 1_000_000)
    )
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % (sum(head + body) % 256)


async def measure(url: str, sessions: int, per_flush: int, messages: int, warmup: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        postmaster = await postmaster_pid(conn)
    finally:
        await conn.close()
    if postmaster is None:
        raise SystemExit("PostgreSQL runs elsewhere: its CPU cannot be read (use the embedded one)")
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    assert pool is not None
    # a long flush interval: the benchmark flushes itself, as the background task would
    stores = [PostgresMessageStore(f"FIX.4.4:VENUE->B{i}", pool=pool, flush_interval=3600) for i in range(sessions)]
    for s in stores:
        await s.open()
    seq = 0
    marks: dict[str, float] = {}
    try:
        while seq < messages:
            if seq >= warmup and not marks:
                marks = {"wall": time.perf_counter(), "cpu": time.process_time(), "pg": server_cpu_s(postmaster)}
            for s in stores:
                for _ in range(per_flush):
                    seq += 1
                    s.store_sent(s.next_sender_seq, report(seq))
                await s.flush()
        end = {"wall": time.perf_counter(), "cpu": time.process_time(), "pg": server_cpu_s(postmaster)}
        async with pool.acquire() as c:
            size = await c.fetchval(
                "SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class"
                " WHERE relname IN ('fix_messages', 'fix_message_blocks') AND relkind = 'r'"
            )
    finally:
        for s in stores:
            await s.close()
        await pool.close()
    timed = seq - warmup
    return {
        "messages_timed": timed,
        "messages_per_sec": round(timed / (end["wall"] - marks["wall"]), 1),
        "cpu_us_per_message": {
            "store_process": round((end["cpu"] - marks["cpu"]) * 1e6 / timed, 2),
            "postgres": round((end["pg"] - marks["pg"]) * 1e6 / timed, 2),
        },
        "disk_bytes_per_message": round(int(size) / seq, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fix_store")
    p.add_argument("--json", action="store_true")
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--warmup", type=int, default=20_000)
    p.add_argument("--sessions", type=int, default=2)
    p.add_argument("--per-flush", type=int, default=250, help="messages per session between flushes")
    p.add_argument("--out")
    args = p.parse_args(argv)
    pg = None
    url = os.environ.get("VENUE_DATABASE_URL")
    pg_dir = Path("/tmp") / f"vfs-{uuid.uuid4().hex[:6]}"  # short: the unix socket path
    if not url:
        pg = EmbeddedPostgres(pg_dir)
        pg.start()
        url = pg.url
    try:
        result = asyncio.run(measure(url, args.sessions, args.per_flush, args.messages, args.warmup))
    finally:
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg_dir, ignore_errors=True)
    out = {
        "bench": "fix_store",
        **result,
        "sessions": args.sessions,
        "per_flush": args.per_flush,
        "env": {"python": platform.python_version(), "platform": platform.platform(),
                "cpus": os.cpu_count(), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    text = json.dumps(out, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text if args.json else json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
