"""Embedded nats-server benchmark: its CPU and context switches per JetStream append.

One client appends a 300-byte record every ``1/rate`` seconds to a file-backed stream (one
append in flight, acknowledged) and reads it back through an ordered push consumer, as the
gateway and the engine in it do with each command batch. The server is the venue's embedded
one (``venue.embedded.EmbeddedNats``, ``GOMAXPROCS=1``), started fresh for each variant:

- ``sysmon_polls``: the default (``bus.embedded_sysmon_polls``): the Go runtime's system
  monitor keeps polling instead of deep-sleeping whenever the server idles;
- ``sysmon_sleeps``: Go's own behaviour, where the first system call after each idle spell
  wakes the monitor.

Reported per variant, over ``--seconds`` after a 2 s warm-up: nats-server CPU (user + system,
every thread) and voluntary / involuntary context switches per append, and its CPU while idle
(``--idle`` seconds with no client traffic). The variants alternate ``--pairs`` times.

``python -m bench.nats_server [--json] [--rate R] [--seconds S] [--pairs N] [--idle S]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.config import BusConfig
from venue.embedded import EmbeddedNats, free_port

VARIANTS = {"sysmon_polls": True, "sysmon_sleeps": False}


def server_counters(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, voluntary, involuntary context switches) over every thread of ``pid``."""
    cpu, vol, invol = 0.0, 0, 0
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        cpu += (int(stat[11]) + int(stat[12])) / tick
        for line in status:
            if line.startswith("voluntary_ctxt_switches"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                invol += int(line.split()[1])
    return cpu, vol, invol


async def _paced(url: str, pid: int, rate: float, seconds: float) -> dict[str, Any]:
    bus = await JetStreamBus.connect(url, BusConfig())
    try:
        await bus.ensure_streams()
        delivered = 0

        async def reader() -> None:
            nonlocal delivered
            async with contextlib.aclosing(bus.read(StreamKind.COMMANDS, 1, shard="bench")) as records:
                async for _ in records:
                    delivered += 1

        task = asyncio.create_task(reader())
        payload, period = b"x" * 300, 1.0 / rate
        start = time.perf_counter()
        n, before, t0, n0 = 0, None, 0.0, 0
        while (now := time.perf_counter()) < start + 2.0 + seconds:
            if before is None and now >= start + 2.0:  # warm-up over
                before, t0, n0 = server_counters(pid), now, n
            await bus.append(StreamKind.COMMANDS, payload, msg_id=f"b{n}", shard="bench")
            n += 1
            delay = start + n * period - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        after, t1 = server_counters(pid), time.perf_counter()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # (its consumer unsubscribed)
        assert before is not None
        k = n - n0
        return {
            "appends": k,
            "rate": round(k / (t1 - t0), 1),
            "cpu_us_per_append": round((after[0] - before[0]) * 1e6 / k, 1),
            "voluntary_switches_per_append": round((after[1] - before[1]) / k, 2),
            "involuntary_switches_per_append": round((after[2] - before[2]) / k, 2),
            "delivered": delivered,
        }
    finally:
        await bus.close()


def measure(sysmon_polls: bool, rate: float, seconds: float, idle: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp), free_port(), gomaxprocs=1, sysmon_polls=sysmon_polls)
        server.start()
        try:
            assert server.pid is not None
            time.sleep(1.0)
            a = server_counters(server.pid)
            time.sleep(idle)
            b = server_counters(server.pid)
            result = asyncio.run(_paced(server.url, server.pid, rate, seconds))
        finally:
            server.stop()
    result["idle_cpu_ms_per_s"] = round((b[0] - a[0]) * 1e3 / idle, 2)
    result["idle_voluntary_switches_per_s"] = round((b[1] - a[1]) / idle, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true")
    p.add_argument("--rate", type=float, default=1000.0, help="appends per second")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measured first")
    args = p.parse_args(argv)
    os.environ.pop("GODEBUG", None)  # the variants set it, not the caller's shell
    runs = [
        {"variant": name, "pair": i + 1, **measure(polls, args.rate, args.seconds, args.idle)}
        for i in range(args.pairs) for name, polls in VARIANTS.items()
    ]
    out = {
        "bench": "nats_server",
        "rate": args.rate,
        "seconds": args.seconds,
        "runs": runs,
        "env": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in runs:
            print(f"{r['variant']:>14} pair {r['pair']}: {r['cpu_us_per_append']} us CPU, "
                  f"{r['voluntary_switches_per_append']} voluntary switches per append; idle {r['idle_cpu_ms_per_s']} ms/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
