"""The sent-message index in steady state: store one message, evict down to the limit.

``python -m bench.sent_index [--code DIR] [--held N] [--messages M]`` fills a
``SentMessages`` with N messages, then stores M more the way a session does at the FIX
store's limit (one ``add`` per message and a ``drop_oldest(N)`` after every 64, a store
flush), timing each flush-sized step. It prints the mean CPU per message and the slowest
steps: a step that rebuilds a large table shows up there. ``--code DIR`` imports the index
from another source tree, to measure a baseline side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _run(held: int, messages: int, flush: int) -> dict[str, float]:
    from fix_gateway.stores.sent import SentMessages

    raw = b"8=FIX.4.4\x019=100\x01" + b"x" * 100
    index = SentMessages()
    for seq in range(1, held + 1):
        index.add(seq, raw)
    steps: list[float] = []
    seq = held
    clock = time.perf_counter_ns
    t_all = time.process_time()
    for _ in range(messages // flush):
        t0 = clock()
        for _ in range(flush):
            seq += 1
            index.add(seq, raw)
        index.drop_oldest(held)
        steps.append((clock() - t0) / 1000)
    cpu = time.process_time() - t_all
    steps.sort()
    return {
        "cpu_ns_per_message": round(cpu / messages * 1e9, 1),
        "step_p50_us": round(steps[len(steps) // 2], 1),
        "step_p999_us": round(steps[int(len(steps) * 0.999)], 1),
        "step_max_us": round(steps[-1], 1),
        "steps_over_1ms": sum(1 for s in steps if s > 1000),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--code", help="source tree to import the index from")
    p.add_argument("--held", type=int, default=200_000)
    p.add_argument("--messages", type=int, default=2_000_000)
    p.add_argument("--flush", type=int, default=64)
    args = p.parse_args(argv)
    if args.code:
        sys.path.insert(0, args.code)
    result = _run(args.held, args.messages, args.flush)
    print(json.dumps({"bench": "sent_index", "code": args.code or ".", "held": args.held,
                      "messages": args.messages, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
