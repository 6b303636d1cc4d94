"""Engine benchmark: exchange-core's published mix on one book, C batch vs per-call vs reference.

Mix (exchange-core ``PerfLatency``/``PerfThroughput`` single-symbol style): 9% GTC limit, 3% IOC,
6% cancel, 82% move (replace with a new price, same quantity), about 1,000 resting orders over
about 750 price levels, a few percent of commands trading. The stream is generated up front
(not timed) with liveness feedback from a scratch engine so cancels and moves name live
orders, then replayed on fresh engines:

- ``ops_per_sec``: ``Engine.apply_batch`` on batches of ``--batch`` commands (default 10,000);
- ``ops_per_sec_per_call``: ``Engine.apply_batch`` with one 104-byte record per call;
- ``ops_per_sec_per_call_objects``: ``MatchingEngine.apply`` (command object in, events out);
- ``reference_ops_per_sec``: ``engine.reference.ReferenceEngine.apply_batch`` on a prefix;
- ``latency_ns``: per command inside the engine (clock_gettime around each command in C, so
  it includes ~2 clock reads), from ``Engine.apply_batch_timed`` on the same batches.

Usage: ``python -m bench.engine [--json] [--quick] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

from engine import commands as c
from engine import wire
from engine._book import DEBUG, Engine
from engine.core import MatchingEngine
from engine.reference import ReferenceEngine

MID = 100_000
ACCOUNTS = 200
TARGET_ORDERS = 1_000
HALF_RANGE = 1000  # with the 1.2 skew: ~1,000 orders rest on ~750 distinct levels


def setup_batch() -> bytes:
    cmds: list[c.Command] = [c.AddInstrument(1, 0, 1, 1, 1, 1, 1_000_000, 1, 2, 1, 5000, MID)]
    for a in range(1, ACCOUNTS + 1):
        cmds.append(c.AddAccount(a, 0, a, 0, 1, 2))
        cmds.append(c.Deposit(a, 0, a, 1, 10**12))
        cmds.append(c.Deposit(a, 0, a, 2, 10**15))
    return wire.encode_commands(cmds)


class MixGen:
    """Generates the exchange-core mix; ``live`` tracks order id -> (side, account, qty)."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.next_id = 1
        self.seq = 10_000
        self.live: dict[int, tuple[int, int, int]] = {}
        self.keys: list[int] = []

    def _passive(self, side: int) -> int:
        off = 1 + int(self.r.random() ** 1.2 * HALF_RANGE)
        return MID - off if side == c.BUY else MID + off

    def _new(self, tif: int, aggressive: bool) -> bytes:
        r = self.r
        side = r.randrange(2)
        acct = r.randrange(1, ACCOUNTS + 1)
        qty = r.randrange(1, 30)
        oid = self.next_id
        self.next_id += 1
        if aggressive:
            price = MID + 40 if side == c.BUY else MID - 40
            qty = r.randrange(5, 60) if len(self.live) > TARGET_ORDERS else r.randrange(1, 8)
        else:
            price = self._passive(side)
            self.live[oid] = (side, acct, qty)
            self.keys.append(oid)
        self.seq += 1
        return wire.encode_command(c.NewOrder(self.seq, 0, oid, acct, 1, side, 1, tif, price, qty))

    def _pick(self) -> int | None:
        while self.keys:
            k = self.r.randrange(len(self.keys))
            oid = self.keys[k]
            if oid in self.live:
                return oid
            self.keys[k] = self.keys[-1]
            self.keys.pop()
        return None

    def one(self) -> bytes:
        x = self.r.random()
        if x < 0.09 or len(self.live) < 50:
            return self._new(c.TifCode.GTC, False)
        if x < 0.12:
            return self._new(c.TifCode.IOC, True)
        oid = self._pick()
        if oid is None:
            return self._new(c.TifCode.GTC, False)
        side, acct, qty = self.live[oid]
        self.seq += 1
        if x < 0.18:
            del self.live[oid]
            return wire.encode_command(c.Cancel(self.seq, 0, oid, acct))
        price = self._passive(side)
        if self.r.random() < 0.01:  # a few moves cross the spread and trade
            price = MID + 20 if side == c.BUY else MID - 20
        return wire.encode_command(c.Replace(self.seq, 0, oid, acct, price, qty))

    def prune(self, eng: Engine) -> None:
        for oid in [o for o in self.live if not eng.has_order(o)]:
            del self.live[oid]


def generate(n: int, seed: int = 42) -> tuple[bytes, bytes, int]:
    """(prefill, stream, resting orders after prefill) with liveness feedback."""
    gen = MixGen(seed)
    scratch = Engine()
    scratch.apply_batch(setup_batch())
    prefill = b"".join(gen._new(c.TifCode.GTC, False) for _ in range(TARGET_ORDERS))
    scratch.apply_batch(prefill)
    resting = scratch.order_count()
    chunks = []
    for start in range(0, n, 1000):
        chunk = b"".join(gen.one() for _ in range(min(1000, n - start)))
        scratch.apply_batch(chunk)
        gen.prune(scratch)
        chunks.append(chunk)
    return prefill, b"".join(chunks), resting


def fresh(prefill: bytes) -> Engine:
    eng = Engine()
    eng.apply_batch(setup_batch())
    eng.apply_batch(prefill)
    return eng


def run(quick: bool, batch: int) -> dict[str, object]:
    n = 400_000 if quick else 2_000_000
    n_call = 100_000 if quick else 300_000
    n_obj = 20_000 if quick else 100_000
    n_ref = 10_000 if quick else 40_000
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    prefill, stream, resting0 = generate(n)
    gen_s = time.perf_counter() - t0
    size = wire.CMD_SIZE

    best = 0.0
    runs: list[int] = []
    hashes = set()
    stats: dict[str, int] = {}
    for _ in range(3 if quick else 5):
        eng = fresh(prefill)
        out_bytes = 0
        view = memoryview(stream)
        t = time.perf_counter_ns()
        for off in range(0, len(stream), batch * size):
            out_bytes += len(eng.apply_batch(view[off : off + batch * size]))
        dt = time.perf_counter_ns() - t
        runs.append(round(n / (dt / 1e9)))
        best = max(best, n / (dt / 1e9))
        hashes.add(eng.state_hash())
        stats = {"resting_orders_end": eng.order_count(), "event_bytes": out_bytes}
    levels = _levels(eng)

    eng = fresh(prefill)
    recs = [stream[k * size : (k + 1) * size] for k in range(n_call)]
    apply = eng.apply_batch
    t = time.perf_counter_ns()
    for rec in recs:
        apply(rec)
    per_call = n_call / ((time.perf_counter_ns() - t) / 1e9)

    me = MatchingEngine(fresh(prefill))
    cmds = [cmd for _, _, _, cmd in wire.iter_commands(stream[: n_obj * size])]
    t = time.perf_counter_ns()
    for cmd in cmds:
        me.apply(cmd)  # type: ignore[arg-type]
    per_obj = n_obj / ((time.perf_counter_ns() - t) / 1e9)

    ref = ReferenceEngine()
    ref.apply_batch(setup_batch())
    ref.apply_batch(prefill)
    t = time.perf_counter_ns()
    ref_out = ref.apply_batch(stream[: n_ref * size])
    ref_ops = n_ref / ((time.perf_counter_ns() - t) / 1e9)
    check = fresh(prefill)
    same = check.apply_batch(stream[: n_ref * size]) == ref_out
    same = same and check.state_hash() == ref.state_hash()

    eng = fresh(prefill)
    lat_a = array.array("I")
    view = memoryview(stream)
    for off in range(0, len(stream), batch * size):
        lat_a.frombytes(eng.apply_batch_timed(view[off : off + batch * size])[1])
    lat = sorted(lat_a)

    def pct(p: float) -> int:
        return lat[min(len(lat) - 1, int(p * len(lat)))]

    trades = _count_trades(fresh(prefill), stream[: 200_000 * size])
    return {
        "benchmark": "engine exchange-core mix (9% GTC, 3% IOC, 6% cancel, 82% move), one book",
        "quick": quick,
        "commands": n,
        "batch_size": batch,
        "ops_per_sec": round(best),
        "ops_per_sec_runs": runs,
        "ops_per_sec_per_call": round(per_call),
        "ops_per_sec_per_call_objects": round(per_obj),
        "reference_ops_per_sec": round(ref_ops),
        "reference_commands": n_ref,
        "speedup_vs_reference": round(best / ref_ops, 1),
        "reference_matches_c": same,
        "latency_ns": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99),
                       "p999": pct(0.999), "max": lat[-1]},
        "resting_orders": resting0,
        **stats,
        "price_levels_end": levels,
        "trading_commands_pct": round(100 * trades[0] / trades[1], 2),
        "deterministic_state_hash": len(hashes) == 1,
        "debug_build": bool(DEBUG),
        "generation_seconds": round(gen_s, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_avg_1m_at_start": round(load0, 2)},
    }


def _levels(eng: Engine) -> int:
    words = eng.snapshot()
    # n_instruments is word 4; instrument 1 config is 14 words, then bids n_levels ...
    import struct

    w = struct.unpack_from(f"<{(len(words) - 8) // 8}Q", words, 8)
    i = 5 + 14
    total = 0
    for _ in range(2):
        n = w[i]
        total += n
        i += 1
        for _ in range(n):
            i += 3 + w[i + 1]
    return total


def _count_trades(eng: Engine, stream: bytes) -> tuple[int, int]:
    """(commands that traded, commands) over a prefix, from decoded events."""
    traded = set()
    for ev in wire.decode_events(eng.apply_batch(stream)):
        if isinstance(ev, c.Trade):
            traded.add(ev.seq)
    return len(traded), len(stream) // wire.CMD_SIZE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="smaller run (< 30 s)")
    ap.add_argument("--batch", type=int, default=10_000, help="commands per apply_batch call")
    ap.add_argument("--out", help="also write the JSON to this path")
    args = ap.parse_args(argv)
    res = run(args.quick, args.batch)
    text = json.dumps(res, indent=None if args.json else 2)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
