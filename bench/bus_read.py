"""Bus read cost: process CPU per record that ``JetStreamBus.read`` takes on small records.

``python -m bench.bus_read [--code DIR] [--url URL]`` appends 100,000 records of 64 bytes to
an isolated memory stream on a running nats-server (default ``nats://127.0.0.1:4222``), reads
them with ``JetStreamBus.read`` from sequence 1 three times and prints the best pass's CPU
per record. ``--code DIR`` imports the venue from another source tree, to measure a baseline
side by side (alternate the two: the machines drift).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


async def _run(url: str, records: int) -> float:
    from tests.support.buses import isolated_bus, isolated_bus_config
    from venue.bus.protocol import StreamKind

    async with isolated_bus(url, isolated_bus_config("B", storage="memory")) as bus:
        for _ in range(0, records, 1000):
            await bus.append_many(StreamKind.EVENTS, [b"x" * 64] * 1000)
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            n = 0
            async for _rec in bus.read(StreamKind.EVENTS, 1):
                n += 1
                if n == records:
                    break
            best = min(best, (time.process_time() - t0) / records * 1e6)
        return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--code", help="source tree to import the venue from")
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--records", type=int, default=100_000)
    args = p.parse_args(argv)
    if args.code:
        sys.path.insert(0, args.code)
    us = asyncio.run(_run(args.url, args.records))
    print(json.dumps({"bench": "bus_read", "code": args.code or ".", "records": args.records, "cpu_us_per_record": round(us, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
