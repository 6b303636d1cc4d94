"""A day's worth of orders in one map: ``dict`` against ``venue.sharded_dict.ShardedDict``.

``python -m bench.sharded_dict [--entries N] [--rounds R]`` inserts N ClOrDID-like string
keys and N order-id-like int keys (time-based, as ``venue.ids`` makes them) into each kind of
map, timing every insert, then looks every key up once. It prints, per kind, the slowest
single insert (a dict's growth: its whole table built again in that one insert), how many
inserts took over 1 ms, and the mean CPU per insert and per lookup. Both kinds are measured
in the same process, alternated ``R`` times (the machines are shared and noisy); the result
is the median of the rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable, MutableMapping
from typing import Any


def _keys(n: int) -> tuple[list[str], list[int]]:
    start_us = time.time_ns() // 1000
    cl_ord_ids = [f"cl-{i:09d}" for i in range(n)]
    order_ids = [((start_us + 200 * i) << 8) | 1 for i in range(n)]  # (venue.ids: time << bits | gateway)
    return cl_ord_ids, order_ids


def _one(make: Callable[[], MutableMapping[Any, int]], keys: list[Any]) -> dict[str, float]:
    m = make()
    clock = time.perf_counter_ns
    worst = 0
    over_1ms = 0
    t_cpu = time.process_time()
    for i, key in enumerate(keys):
        t0 = clock()
        m[key] = i
        dt = clock() - t0
        if dt > worst:
            worst = dt
        if dt > 1_000_000:
            over_1ms += 1
    insert_cpu = time.process_time() - t_cpu
    get = m.get
    t_cpu = time.process_time()
    for key in keys:
        get(key)
    lookup_cpu = time.process_time() - t_cpu
    return {
        "worst_insert_ms": worst / 1e6,
        "inserts_over_1ms": over_1ms,
        "insert_ns": insert_cpu / len(keys) * 1e9,  # (includes the timing around each insert)
        "lookup_ns": lookup_cpu / len(keys) * 1e9,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--entries", type=int, default=600_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)

    from venue.sharded_dict import ShardedDict

    kinds: dict[str, Callable[[], MutableMapping[Any, int]]] = {"dict": dict, "ShardedDict": ShardedDict}
    cl_ord_ids, order_ids = _keys(args.entries)
    rounds: dict[str, list[dict[str, float]]] = {f"{k}/{name}": [] for k in kinds for name in ("str", "int")}
    gc.disable()  # (the gateway's maps hold untracked objects: the collector is not what is measured)
    try:
        for _ in range(args.rounds):
            for kind, make in kinds.items():
                rounds[f"{kind}/str"].append(_one(make, cl_ord_ids))
                rounds[f"{kind}/int"].append(_one(make, order_ids))
    finally:
        gc.enable()
    result = {
        name: {metric: round(statistics.median(r[metric] for r in runs), 2) for metric in runs[0]}
        for name, runs in rounds.items()
    }
    print(json.dumps({"bench": "sharded_dict", "entries": args.entries, "rounds": args.rounds, "result": result},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
