"""Bus round trip CPU: what the gateway's process spends on one small command batch's trip
through JetStream and back, alone.

One process (uvloop) appends a 200-byte record to a file-backed stream (``append_soon``, one
in flight) and reads it back through ``JetStreamBus.read`` with a ``direct`` handler, as the
gateway with the engine in it does with each command batch: the acknowledgement and the
delivery come back as small separate reads. It waits for both, sleeps 0.5 ms (so the
process goes idle between trips, as the order path does below saturation) and goes on.
Reported: the process's CPU (user + system) per round trip over ``--trips`` after 500 warm-up
trips. Needs a nats-server with JetStream (``--url``, default ``nats://127.0.0.1:4222``).

``python -m bench.bus_round_trip [--trips N] [--url URL] [--code DIR]``; ``--code`` imports
the venue from another source tree, for a baseline side by side (alternate the two: the
machines drift).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid


async def _run(url: str, trips: int) -> float:
    from tests.support.buses import isolated_bus, isolated_bus_config
    from venue.bus.protocol import Record, StreamKind

    async with isolated_bus(url, isolated_bus_config("R", storage="file")) as bus:
        loop = asyncio.get_running_loop()
        waiter: list[asyncio.Future[int] | None] = [None]

        def direct(record: Record) -> bool:
            future = waiter[0]
            if future is not None and not future.done():
                future.set_result(record.seq)
            return True

        async def read() -> None:
            async for record in bus.read(StreamKind.COMMANDS, 1, direct=direct):
                direct(record)

        reader = asyncio.ensure_future(read())
        await asyncio.sleep(0.3)
        cpu = 0.0
        for n in (500, trips):
            start = time.process_time()
            for _ in range(n):
                waiter[0] = future = loop.create_future()
                ack = bus.append_soon(StreamKind.COMMANDS, b"x" * 200, msg_id=uuid.uuid4().hex)
                await future
                await ack
                await asyncio.sleep(0.0005)
            cpu = time.process_time() - start
        reader.cancel()
        return cpu / trips * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trips", type=int, default=6000)
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--code", help="source tree to import the venue from")
    args = p.parse_args(argv)
    if args.code:
        sys.path.insert(0, args.code)
    import uvloop

    uvloop.install()
    us = asyncio.run(_run(args.url, args.trips))
    print(json.dumps({"bench": "bus_round_trip", "code": args.code or ".", "trips": args.trips,
                      "cpu_us_per_round_trip": round(us, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
