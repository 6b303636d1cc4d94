"""Bus benchmark: what one hop between processes costs on this machine, and bus read speed.

- ``tcp_rtt_us``: a 50-byte echo between two processes over loopback TCP (uvloop), one
  message in flight, 2 ms apart (the order path at a moderate rate): p50/p90/p99 round trip,
  and the client's CPU per round trip (user + system: in a VM a wake-up is expensive);
- ``core_nats_us`` / ``jetstream_us``: publish to delivery through nats-server, one message in
  flight, 3 ms apart: a core NATS subject, and a file-backed JetStream stream read by an
  ordered push consumer (how the engine and the gateway read the logs);
- ``read_large_records``: ``JetStreamBus.read`` over 3,000 records of 40 KB (event batches
  under load are this size): seconds and MB/s. This is where a reader that answers
  JetStream flow control late stalls.

Server: ``VENUE_NATS_URL`` when set, else an embedded nats-server.
``python -m bench.bus [--json] [--code DIR]`` (``--code``: import the venue from DIR, for a
side-by-side baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ECHO_PORT_ENV = "BENCH_BUS_ECHO_PORT"


def _pct(samples: list[int]) -> dict[str, float]:
    s = sorted(samples)
    return {q: round(s[min(len(s) - 1, int(len(s) * f))] / 1e3, 1) for q, f in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}


async def _echo_server(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            writer.write(data)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def tcp_rtt(port: int, n: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    samples = []
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(n):
        t = time.perf_counter_ns()
        writer.write(b"x" * 50)
        await reader.read(100)
        samples.append(time.perf_counter_ns() - t)
        await asyncio.sleep(0.002)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    writer.close()
    cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) / n * 1e6
    return {**_pct(samples), "client_cpu_us_per_round_trip": round(cpu, 1)}


async def nats_latency(url: str, n: int) -> dict[str, Any]:
    import nats
    from nats.js import api

    pub = await nats.connect(url)
    sub_conn = await nats.connect(url)
    name = "BENCHLAT" + uuid.uuid4().hex[:6]
    js = pub.jetstream()
    await js.add_stream(name=name, subjects=[name + ".>"], storage=api.StorageType.FILE)
    try:
        js_sub = await sub_conn.jetstream().subscribe(name + ".js", stream=name, ordered_consumer=True)
        core_sub = await sub_conn.subscribe(name + ".core")
        out: dict[str, Any] = {}
        for key, subject, sub in (("core_nats_us", ".core", core_sub), ("jetstream_us", ".js", js_sub)):
            samples = []
            for _ in range(n):
                t = time.perf_counter_ns()
                await pub.publish(name + subject, b"x" * 100)
                await sub.next_msg(timeout=5)
                samples.append(time.perf_counter_ns() - t)
                await asyncio.sleep(0.003)
            out[key] = _pct(samples)
        return out
    finally:
        await js.delete_stream(name)
        await pub.close()
        await sub_conn.close()


async def read_large(url: str, records: int = 3000, size: int = 40_000) -> dict[str, Any]:
    from venue.bus.jetstream import JetStreamBus
    from venue.bus.protocol import StreamKind
    from venue.config import BusConfig

    tag = uuid.uuid4().hex[:8]
    cfg = BusConfig(url=url, command_stream=f"BENCH_C_{tag}", event_stream=f"BENCH_E_{tag}",
                    subject_prefix=f"bench{tag}", storage="memory")
    bus = await JetStreamBus.connect(url, cfg)
    try:
        await bus.ensure_streams()
        for _ in range(0, records, 100):
            await bus.append_many(StreamKind.EVENTS, [b"x" * size] * 100)
        t0 = time.perf_counter()
        n = 0
        async for _ in bus.read(StreamKind.EVENTS, 1):
            n += 1
            await asyncio.sleep(0)  # a reader doing a little work per record
            if n == records:
                break
        seconds = time.perf_counter() - t0
        return {"records": records, "bytes_each": size, "seconds": round(seconds, 3),
                "mb_per_s": round(records * size / seconds / 1e6, 1)}
    finally:
        for stream in (cfg.command_stream, cfg.event_stream):
            await bus._js.delete_stream(stream)
        await bus.close()


async def main_async(args: argparse.Namespace, url: str) -> dict[str, Any]:
    port = int(os.environ[ECHO_PORT_ENV])
    return {
        "bench": "bus",
        "tcp_rtt_us": await tcp_rtt(port, args.samples),
        **(await nats_latency(url, args.samples)),
        "read_large_records": await read_large(url),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bus")
    p.add_argument("--json", action="store_true")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    import uvloop

    if args.echo_server:
        uvloop.run(_echo_server(args.echo_server))
        return 0
    from venue.embedded import EmbeddedNats, free_port

    port = free_port()
    os.environ[ECHO_PORT_ENV] = str(port)
    echo = subprocess.Popen([sys.executable, "-m", "bench.bus", "--echo-server", str(port)])
    url = os.environ.get("VENUE_NATS_URL", "")
    embedded = None
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as tmp:
        try:
            if not url:
                embedded = EmbeddedNats(Path(tmp), free_port())
                embedded.start()
                url = embedded.url
            time.sleep(0.5)
            result = uvloop.run(main_async(args, url))
        finally:
            echo.terminate()
            echo.wait()
            if embedded is not None:
                embedded.stop()
    result["env"] = {"nats": "embedded" if embedded else url, "python": platform.python_version(),
                     "platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                     "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(json.dumps(result, indent=2) if args.json else json.dumps({k: v for k, v in result.items() if k != "env"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
