"""Persistence writer benchmark: rows/s and CPU per request from VENUE_EVT into PostgreSQL.

A seeded order flow runs through the C engine in command batches of ``--batch`` commands;
each batch's events become one envelope, exactly as the engine service publishes them.
Flows (``--flow``): ``mixed`` (100 accounts, limits of random size crossing around the mid,
10% IOC, 25% cancels of random live orders) or ``e2e`` (bench.e2e's load: 4 clients
alternating buys and sells of one size at the reference +-2%, each cancelling its oldest
live order beyond 300 resting). A writer runs on a fresh, migrated database:

- catch-up (default): all envelopes are appended to a fresh JetStream stream first (not
  timed), then the writer starts and the clock runs until its progress row reaches the last
  stream sequence; transactions are as large as ``--max-records`` allows;
- paced (``--rate R``): a child process publishes the envelopes at R requests/s while the
  writer runs, as the engine service does at that rate; transactions are what the writer's
  ``max_delay_ms`` collects (its default unless ``--max-delay-ms``), as in bench.e2e.

The timed window opens when the writer has committed the first ``--warmup`` fraction of
the records (0.2: session start, catalog caches, the first WAL segments stay out) and closes
when it has committed the last. Reported, over that window:

- ``rows_per_sec``: rows sent to PostgreSQL (orders + executions + trades + rejects +
  balance movements) per second of wall time;
- ``events_per_sec``: engine events consumed per second (book events included: stepped
  over by the writer);
- ``projection_rows_per_sec``: the pure projection alone (no I/O), for comparison;
- ``cpu_s`` / ``cpu_us``: core-seconds over the timed phase of the writer (this process:
  bus reader, projection, asyncpg) and of PostgreSQL (every process of the server:
  postmaster, backends, WAL writer, checkpointer, autovacuum; from /proc, so the server must
  run on this machine and serve nobody else: the embedded one does), and the same as
  core-microseconds per command (one FIX request: order or cancel), per event and per row.

Servers: ``VENUE_NATS_URL`` / ``VENUE_DATABASE_URL`` when set, else embedded ones.
Usage: ``python -m bench.writer [--json] [--quick] [--flow mixed|e2e] [--batch N]
[--batches N] [--max-records N] [--max-rows N] [--max-delay-ms MS] [--rate R] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

import persistence.writer as writer_module
from engine import commands as c
from engine import wire
from engine.core import MatchingEngine
from persistence.projection import Projection
from persistence.writer import Writer, WriterSettings
from venue.bus.envelope import (
    Envelope,
    RequestMeta,
    decode_envelope,
    encode_envelope,
    encode_meta,
)
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.config import BusConfig
from venue.db import migrate
from venue.embedded import EmbeddedNats, EmbeddedPostgres, free_port

T = TypeVar("T")
LOOP = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
ACCOUNTS = 100
E2E_CLIENTS, E2E_MAX_RESTING = 4, 300  # bench.e2e's load: one account per client session


class _Flow:
    """Chooses the next request; ``live`` is what the engine says after the last batch."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 0

    def request(self, seq: int, live: Callable[[int], bool]) -> tuple[c.Command, int]:
        raise NotImplementedError

    def settle(self, live: Callable[[int], bool]) -> None:
        """Called after each batch went through the engine."""

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class MixedFlow(_Flow):
    """100 accounts; 25% cancels of a random live order, 10% IOC, sizes 1-50 around 1000."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.open: list[tuple[int, int]] = []

    def request(self, seq: int, live: Callable[[int], bool]) -> tuple[c.Command, int]:
        rng = self.rng
        acct = rng.randint(1, ACCOUNTS)
        roll = rng.random()
        if roll < 0.25 and self.open:
            oid, owner = self.open.pop(rng.randrange(len(self.open)))
            return c.Cancel(seq, seq, oid, owner), acct  # meta names the drawn account
        oid = self.new_id()
        tif = c.TifCode.IOC if roll > 0.9 else c.TifCode.GTC
        self.open.append((oid, acct))
        return c.NewOrder(seq, seq, oid, acct, 1, rng.randint(0, 1), c.OrdTypeCode.LIMIT, tif,
                          rng.randint(990, 1010), rng.randint(1, 50)), acct

    def settle(self, live: Callable[[int], bool]) -> None:
        self.open = [x for x in self.open if live(x[0])]


class E2eFlow(_Flow):
    """bench.e2e's load: clients alternate buys and sells of a fixed size at the reference
    +-2%, and cancel their oldest live order when more than 300 rest."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.resting: list[deque[int]] = [deque() for _ in range(E2E_CLIENTS)]
        self.turn = 0
        self.pending: list[tuple[int, int]] = []  # cancels owed: (order id, account)

    def request(self, seq: int, live: Callable[[int], bool]) -> tuple[c.Command, int]:
        if self.pending:
            oid, acct = self.pending.pop()
            return c.Cancel(seq, seq, oid, acct), acct
        self.turn += 1
        client = self.turn % E2E_CLIENTS
        acct, oid = client + 1, self.new_id()
        resting = self.resting[client]
        resting.append(oid)
        while len(resting) > E2E_MAX_RESTING:
            old = resting.popleft()
            if live(old):
                self.pending.append((old, acct))
                break
        return c.NewOrder(seq, seq, oid, acct, 1, self.turn % 2, c.OrdTypeCode.LIMIT,
                          c.TifCode.GTC, 1000 + self.rng.randint(-20, 20), 10), acct


FLOWS: dict[str, type[_Flow]] = {"mixed": MixedFlow, "e2e": E2eFlow}


def generate(
    batches: int, per_batch: int, seed: int = 1, flow: str = "mixed"
) -> tuple[list[bytes], int]:
    """Envelopes for ``batches`` command batches; returns (payloads, total events)."""
    rng = random.Random(seed)
    eng = MatchingEngine()
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
    chooser = FLOWS[flow](rng)
    live = eng.core.has_order
    seq = 0
    for _ in range(batches):
        cmds: list[c.Command] = []
        meta: list[RequestMeta] = []
        for _ in range(per_batch):
            seq += 1
            cmd, acct = chooser.request(seq, live)
            cmds.append(cmd)
            meta.append(RequestMeta(seq=seq, session="FIX.4.4:VENUE->BENCH",
                                    cl_ord_id=f"C{seq}", account=f"A{acct}"))
        emit(cmds, meta)
        chooser.settle(live)
    return payloads, total


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat fields after the command name (field 3, state, is index 0)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def server_cpu_s(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster (with its exited children) and
    every live child. Fields: ppid 3, utime 13, stime 14, cutime 15, cstime 16 (1-based)."""
    own = _stat(postmaster)
    ticks = sum(int(own[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _TICK


async def postmaster_pid(conn: asyncpg.Connection) -> int | None:
    """The server's postmaster if its processes are visible here (same machine), else None."""
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    try:
        return int(_stat(int(backend))[1])
    except (OSError, ValueError):
        return None


def projection_rate(payloads: list[bytes]) -> float:
    proj, rows = Projection(), 0
    t0 = time.perf_counter()
    for i, p in enumerate(payloads, 1):
        proj.apply_record(i, p)
        if i % 64 == 0:
            rows += proj.take().row_count
    rows += proj.take().row_count
    return rows / (time.perf_counter() - t0)


def _publish_paced(nats_url: str, config: BusConfig, payloads: list[bytes], per_s: float) -> None:
    """Child process: append ``payloads`` to the event stream at ``per_s`` records/s (in
    5 ms steps), as the engine service would at that request rate."""

    async def run() -> None:
        bus = await JetStreamBus.connect(nats_url, config, name="bench-publisher")
        try:
            start, sent = time.perf_counter(), 0
            while sent < len(payloads):
                due = min(len(payloads), int((time.perf_counter() - start) * per_s) + 1)
                if due > sent:
                    await bus.append_many(StreamKind.EVENTS, payloads[sent:due])
                    sent = due
                await asyncio.sleep(0.005)
        finally:
            await bus.close()

    run_loop(run())


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed, as ``python -m venue.service`` runs the writer."""
    if LOOP == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


@dataclass
class Mark:
    """Counters at one moment of the timed phase."""

    wall: float
    writer_cpu: float
    pg_cpu: float | None
    stream_seq: int
    rows: int

    @classmethod
    def take(cls, writer: Writer, postmaster: int | None) -> Mark:
        return cls(time.perf_counter(), time.process_time(),
                   server_cpu_s(postmaster) if postmaster else None,
                   writer.stats.stream_seq, sum(writer.stats.rows.values()))


async def measure(
    payloads: list[bytes], nats_url: str, pg_url: str, settings: WriterSettings,
    records_per_s: float = 0.0, warmup: float = 0.2,
) -> dict[str, Any]:
    """Catch-up (``records_per_s`` 0: the whole stream is there before the writer starts)
    or paced (a child process publishes while the writer runs). The timed window starts
    when the writer has committed the first ``warmup`` fraction of the records (session
    start, catalog caches and the first WAL segments stay out) and ends when it has
    committed the last one."""
    tag = uuid.uuid4().hex[:8].upper()
    config = BusConfig(command_stream=f"B{tag}_CMD", event_stream=f"B{tag}_EVT",
                       subject_prefix=f"b{tag.lower()}", storage="memory")
    bus = await JetStreamBus.connect(nats_url, config)
    dbname = f"venue_bench_{tag.lower()}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    head, _, tail = pg_url.partition("?")
    dsn = head.rsplit("/", 1)[0] + f"/{dbname}" + (f"?{tail}" if tail else "")
    publisher = None
    try:
        await bus.ensure_streams()
        upfront = payloads[:1] if records_per_s else payloads
        for i in range(0, len(upfront), 500):
            await bus.append_many(StreamKind.EVENTS, upfront[i : i + 500])
        last, warm = len(payloads), max(1, int(len(payloads) * warmup))
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        postmaster = await postmaster_pid(admin)
        tune = getattr(writer_module, "tune_gc", None)  # what the service main does, if any
        if tune is not None:
            tune()
        writer = Writer(bus, dsn, settings)
        begin = Mark.take(writer, postmaster)
        task = asyncio.create_task(writer.run())
        if records_per_s:
            publisher = mp.get_context("spawn").Process(
                target=_publish_paced, args=(nats_url, config, payloads[1:], records_per_s))
            publisher.start()
        while writer.stats.stream_seq < warm:
            await asyncio.sleep(0.005)
        start = Mark.take(writer, postmaster)
        while writer.stats.stream_seq < last:
            await asyncio.sleep(0.005)
        end = Mark.take(writer, postmaster)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        stored = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                  for t in ("orders", "executions", "trades", "balance_movements")}
        await conn.close()
        elapsed = end.wall - start.wall
        timed = payloads[start.stream_seq : end.stream_seq]  # stream seq n is payloads[n-1]
        window = {"records": len(timed), "events": sum(decode_envelope(p).count for p in timed),
                  "rows": end.rows - start.rows}
        pg_s = None if end.pg_cpu is None or start.pg_cpu is None else end.pg_cpu - start.pg_cpu
        return {"seconds": round(elapsed, 3), "seconds_total": round(end.wall - begin.wall, 3),
                "rows_sent": end.rows, "rows_stored": stored,
                "rows_per_sec": round(window["rows"] / elapsed),
                "batches": writer.stats.batches, "merged": getattr(writer.stats, "merged", None),
                "write_seconds": round(writer.stats.write_s, 3),
                "records_per_sec": round(window["records"] / elapsed), "window": window,
                "cpu_s": {"writer": round(end.writer_cpu - start.writer_cpu, 3),
                          "postgres": None if pg_s is None else round(pg_s, 3)}}
    finally:
        if publisher is not None:
            publisher.join(10)
        for name in (config.command_stream, config.event_stream):
            await bus._js.delete_stream(name)
        await bus.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


def per_unit(
    cpu_s: dict[str, float | None], commands: int, events: int, rows: int
) -> dict[str, dict[str, float | None]]:
    """Core-microseconds per command, per event and per row sent, for each process."""
    out: dict[str, dict[str, float | None]] = {}
    for who, seconds in cpu_s.items():
        out[who] = {unit: None if seconds is None or not n else round(seconds * 1e6 / n, 2)
                    for unit, n in (("per_command", commands), ("per_event", events),
                                    ("per_row", rows))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.writer")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    ap.add_argument("--batch", type=int, default=100, help="commands per engine batch")
    ap.add_argument("--batches", type=int, default=1000, help="engine batches (--quick: 50)")
    ap.add_argument("--flow", choices=sorted(FLOWS), default="mixed",
                    help="mixed: 100 accounts, random sizes, IOCs and cancels; e2e: bench.e2e's")
    ap.add_argument("--max-records", type=int, default=512, help="WriterSettings.max_records")
    ap.add_argument("--max-rows", type=int, default=50_000, help="WriterSettings.max_rows")
    ap.add_argument("--max-delay-ms", type=float, default=None,
                    help="WriterSettings.max_delay_ms (default: the writer's own)")
    ap.add_argument("--warmup", type=float, default=0.2,
                    help="fraction of the records committed before the timed window opens")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="requests/s published while the writer runs (0: catch-up)")
    ap.add_argument("--out", help="also write the JSON here (bench/results/writer-*.json)")
    args = ap.parse_args(argv)
    batches = 50 if args.quick else args.batches
    payloads, events = generate(batches, args.batch, flow=args.flow)
    with tempfile.TemporaryDirectory(prefix="venue-bench-") as tmp:
        nats_url, pg_url = os.environ.get("VENUE_NATS_URL"), os.environ.get("VENUE_DATABASE_URL")
        nats = pg = None
        if not nats_url:
            nats = EmbeddedNats(Path(tmp), free_port())
            nats.start()
            nats_url = nats.url
        # A short path: PostgreSQL's unix socket path must stay under 107 bytes.
        pg_dir = Path("/tmp") / f"vb-{uuid.uuid4().hex[:6]}"
        if not pg_url:
            pg = EmbeddedPostgres(pg_dir)
            pg.start()
            pg_url = pg.url
        try:
            delay = {} if args.max_delay_ms is None else {"max_delay_ms": args.max_delay_ms}
            settings = WriterSettings(max_rows=args.max_rows, max_records=args.max_records,
                                      **delay)
            result = run_loop(measure(payloads, nats_url, pg_url, settings,
                                         args.rate / args.batch, args.warmup))
        finally:
            if pg is not None:
                pg.stop()
                shutil.rmtree(pg_dir, ignore_errors=True)
            if nats is not None:
                nats.stop()
    window = result["window"]
    commands = window["records"] * args.batch  # every record after the boot one
    result.update({
        "bench": "writer", "quick": args.quick, "flow": args.flow,
        "commands_per_batch": args.batch,
        "commands_timed": commands, "envelopes": len(payloads), "events": events,
        "max_records": args.max_records, "max_rows": args.max_rows,
        "max_delay_ms": settings.max_delay_ms, "rate": args.rate,
        "events_per_sec": round(window["events"] / result["seconds"]),
        "cpu_us": per_unit(result["cpu_s"], commands, window["events"], window["rows"]),
        "projection_rows_per_sec": round(projection_rate(payloads)),
        "python": sys.version.split()[0], "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
        "loop": LOOP,
        "postgres": "env" if os.environ.get("VENUE_DATABASE_URL") else "embedded",
    })
    text = json.dumps(result, indent=None if args.json else 2)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
