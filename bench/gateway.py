"""Gateway CPU benchmark: core-microseconds per FIX request inside the order-entry gateway.

The real ``Gateway`` (acceptor, sessions, order-entry application, command batching, event
projection, ExecutionReport building, encoding, message store) runs in one process with no
network: two logged-on sessions (ALPHA on FIX.4.4, BETA on FIXT.1.1) get pre-encoded client
bytes through ``data_received`` of their connections, the command batch the flusher would
append is built the same way (``Gateway.command_batch``), applied to the real C engine, and
the engine's event batch goes back through ``Gateway.on_event_record`` and ``deliver`` to
the connections' transports (which only collect the bytes).

The load is the end-to-end benchmark's: limit orders around the reference price (half
cross, half rest), a cancel for the oldest live order beyond ``--max-resting`` per session.
Timed per round of ``--batch`` requests: inbound (bytes in -> command records queued),
batching (records -> the command envelope), outbound (event envelope -> bytes written).
The collector runs as in the service (``venue.gctune.tune_gc`` once set up). Client-side
encoding and the engine call are not timed; times are CPU time of the thread
(``time.thread_time_ns``), so other load on the machine disturbs them less than wall time.

``replay_us_per_request``: a restarted gateway's catch-up, the run's event records projected
into a fresh gateway, once with every report built and once with the sessions marked as
already handed them (what a restart after a clean run does).

``--evict-mb N`` writes an N MB buffer (a byte per 64-byte line) between rounds, outside the
timed parts: the caches are then as cold as in the running venue, where nats-server, the
clients, PostgreSQL and the machine's other tenants run between two wake-ups of the gateway.
On the 2026-12-03 machine it made the time per request in rounds of 2 1.5x (41 -> 61 us)
and, in the machine's slow phase, 2.6x (43-46 -> 111-124 us;
``bench/results/gateway-cold-caches-*.json``), which is about what the gateway costs per order
in ``bench.e2e`` at low rates: judge a change to the order path by both.

``--instructions`` counts instead of timing: it runs the same benchmark under valgrind's
callgrind, collecting only the timed parts of the measured rounds (``bench._callgrind``
switches collection on and off around them; ``PYTHONHASHSEED=0``), and prints the
instructions per request. The count repeats to ~0.1-0.3% between runs whatever else the machine
does, so a change to the in-process path can be judged on a machine too noisy for the timings
(it says nothing about cache misses: judge those with ``--evict-mb``). ~30 s for 600 rounds
of 3. Compare counts made with the same ``--rounds`` and ``--batch``: the order book's size
moves the count per request (157,000 at 1,200 rounds against 164,000 at 600).

``python -m bench.gateway [--json] [--rounds N] [--batch N] [--evict-mb N] [--instructions] [--code DIR]``;
``--code`` is for a side-by-side baseline: run this file's copy from another tree with
PYTHONPATH=DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine import commands as c
from engine.core import MatchingEngine
from fix_gateway.acceptor import _Connection
from fix_gateway.codec import Framer, encode
from fix_gateway.order_entry.refdata import AccountRef, RefData
from fix_gateway.order_entry.service import Gateway
from fix_gateway.session.times import format_utc
from fix_gateway.stores.memory import MemoryMessageStore
from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.memory import MemoryBus
from venue.config import load_config
from venue.gctune import tune_gc
from venue.instruments import InstrumentSpec

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = [  # session id, begin string, client comp id, account, firm
    ("FIX.4.4:VENUE->ALPHA", "FIX.4.4", "ALPHA", "ALPHA-1", "ALPHA"),
    ("FIXT.1.1:VENUE->BETA", "FIXT.1.1", "BETA", "BETA-1", "BETA"),
]
INSTRUMENTS = {"BTC-USD": (6_000_000, "0.01"), "ETH-USD": (300_000, "0.1")}  # cents, qty


class _Transport:
    """Collects what the connection writes."""

    def __init__(self) -> None:
        self.written = 0
        self.messages = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.messages += data.count(b"\x0135=")

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default

    def close(self) -> None:
        pass


def _refdata(config: Any) -> tuple[RefData, list[c.Command]]:
    assets = {a.code: (i, a.decimals) for i, a in enumerate(config.assets, 1)}
    instruments = {}
    setup: list[c.Command] = []
    for i, ic in enumerate(config.instruments, 1):
        spec = InstrumentSpec(
            instrument_id=i, symbol=ic.symbol, base=ic.base, quote=ic.quote,
            base_asset_id=assets[ic.base][0], quote_asset_id=assets[ic.quote][0],
            base_decimals=assets[ic.base][1], quote_decimals=assets[ic.quote][1],
            tick_size=Decimal(ic.tick_size), lot_size=Decimal(ic.lot_size), min_qty=Decimal(ic.min_qty),
            max_qty=Decimal(ic.max_qty), price_band_pct=Decimal(ic.price_band_pct),
            reference_price=Decimal(ic.reference_price),
        )
        instruments[spec.symbol] = spec
        setup.append(spec.add_command(len(setup) + 1, 0))
    accounts = {}
    for i, (_, _, _, account, firm) in enumerate(SESSIONS, 1):
        accounts[account] = AccountRef(i, account, firm)
        setup.append(c.AddAccount(len(setup) + 1, 0, i, i, 1, 5))
        for asset_id, decimals in assets.values():
            setup.append(c.Deposit(len(setup) + 1, 0, i, asset_id, 10**9 * 10**decimals))
    return RefData(instruments, accounts), setup


class _Client:
    """One session's client side: pre-encoded orders and cancels, as bench.e2e sends them."""

    def __init__(self, idx: int, begin: str, comp: str, account: str, max_resting: int) -> None:
        self.idx, self.begin, self.comp, self.account = idx, begin, comp, account
        self.rng = random.Random(idx)
        self.seq = 1
        self.n = 0
        self.max_resting = max_resting
        self.resting: deque[tuple[str, str, str]] = deque()

    def msg(self, msg_type: str, fields: list[tuple[int, Any]]) -> bytes:
        self.seq += 1
        now = format_utc(time.time_ns())
        return encode(self.begin, msg_type, [(49, self.comp), (56, "VENUE"), (34, self.seq), (52, now), *fields])

    def logon(self) -> bytes:
        self.seq = 0
        fields: list[tuple[int, Any]] = [(98, 0), (108, 30)]
        if self.begin == "FIXT.1.1":
            fields.append((1137, "9"))
        return self.msg("A", fields)

    def requests(self, count: int) -> tuple[bytes, int]:
        out = []
        requests = 0
        while requests < count:
            self.n += 1
            symbol = "BTC-USD" if self.n % 4 < 2 else "ETH-USD"
            side = "1" if self.n % 2 else "2"
            ref, qty = INSTRUMENTS[symbol]
            cents = ref + int(ref * self.rng.uniform(-0.02, 0.02))
            cl = f"T{self.idx}-{self.n}"
            out.append(self.msg("D", [
                (11, cl), (1, self.account), (55, symbol), (54, side), (38, qty), (40, "2"),
                (44, f"{cents // 100}.{cents % 100:02d}"), (59, "1"), (60, format_utc(time.time_ns())),
            ]))
            requests += 1
            self.resting.append((cl, symbol, side))
            if len(self.resting) > self.max_resting:
                cl0, sym0, side0 = self.resting.popleft()
                out.append(self.msg("F", [
                    (11, cl0 + "x"), (41, cl0), (1, self.account), (55, sym0), (54, side0),
                    (60, format_utc(time.time_ns())),
                ]))
                requests += 1
        return b"".join(out), requests


async def run(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(ROOT / "config" / "demo.toml", env={})
    refdata, setup = _refdata(config)
    gateway = Gateway(config, MemoryBus(), None, refdata, lambda sid: MemoryMessageStore())
    await gateway.acceptor.open_stores()
    engine = MatchingEngine()
    engine.apply_many(setup)
    conns, clients, transports = [], [], []
    for i, (sid, begin, comp, account, _) in enumerate(SESSIONS):
        session = gateway.acceptor.sessions[sid]
        conn = _Connection(gateway.acceptor)
        transport = _Transport()
        transports.append(transport)
        conn.connection_made(transport)  # type: ignore[arg-type]
        client = _Client(i, begin, comp, account, args.max_resting)
        logon = client.logon()
        gateway.acceptor.owners[sid] = conn
        conn._attach(session, logon, Framer(), True)
        assert session.logged_on, sid
        conns.append(conn)
        clients.append(client)
    tune_gc()  # the collector as the service runs it (venue.gctune; its main calls this once set up)
    # (Any: called only when ``counted``, which implies not None; mypy cannot follow that,
    # and a check in the loop would be counted by callgrind)
    toggle: Any = _collect_toggle() if args.count_inner else None
    evict = bytearray(args.evict_mb << 20) if args.evict_mb > 0 else None
    t_in = t_batch = t_out = 0
    requests = 0
    records: list[tuple[int, bytes]] = []
    replayed = 0  # requests behind ``records`` (warm-up rounds included)
    for rnd in range(args.rounds + args.warmup):
        chunks = [cl.requests(args.batch // len(clients)) for cl in clients]
        if evict is not None:
            evict[::64] = bytes(len(evict) // 64)  # (not timed) the caches as cold as in the venue
        counted = toggle is not None and rnd >= args.warmup
        if counted:
            toggle()  # (callgrind's collection: on for the timed parts of measured rounds)
        t0 = time.thread_time_ns()
        for conn, (data, _) in zip(conns, chunks, strict=True):
            conn.data_received(data)
        t1 = time.thread_time_ns()
        payload = gateway.command_batch()
        t2 = time.thread_time_ns()
        if counted:
            toggle()  # off: the engine is not the gateway's
        cmd_seq = rnd + 1
        cmd = decode_envelope(payload)
        events = engine.apply_batch(cmd.body)
        evt = encode_envelope(Envelope(1, "evt", "engine-0", cmd_seq, cmd_seq, cmd.count, events, cmd.meta))
        records.append((cmd_seq, evt))
        if counted:
            toggle()
        t3 = time.thread_time_ns()
        gateway.deliver(gateway.on_event_record(cmd_seq, evt))
        for conn in conns:
            conn._write_out()
        t4 = time.thread_time_ns()
        if counted:
            toggle()
        replayed += sum(n for _, n in chunks)
        if rnd >= args.warmup:
            t_in += t1 - t0
            t_batch += t2 - t1
            t_out += t4 - t3
            requests += sum(n for _, n in chunks)
    written = sum(t.messages for t in transports)
    per = 1e3 * requests
    replay = {name: _replay(config, refdata, records, marks) for name, marks in (
        ("building_reports", {}), ("skipping_reported", {sid: len(records) for sid, *_ in SESSIONS}),
    )}
    return {
        "bench": "gateway",
        "requests": requests,
        "messages_written": written,
        "us_per_request": {
            "inbound": round(t_in / per, 2),
            "batching": round(t_batch / per, 2),
            "outbound": round(t_out / per, 2),
            "total": round((t_in + t_batch + t_out) / per, 2),
        },
        "batch": args.batch,
        "evict_mb": args.evict_mb,
        # a restarted gateway's catch-up: the whole event log into a fresh order book, with
        # no session marked as reported (every report built) and with every one marked
        "replay_us_per_request": {k: round(v / (1e3 * replayed), 2) for k, v in replay.items()},
        "env": {"python": platform.python_version(), "platform": platform.platform(),
                "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def _replay(config: Any, refdata: RefData, records: list[tuple[int, bytes]], marks: dict[str, int]) -> int:
    """Thread CPU ns to project ``records`` into a fresh gateway whose sessions' reports up
    to ``marks`` were handed over before (``Gateway.delivered_before``)."""
    gateway = Gateway(config, MemoryBus(), None, refdata, lambda sid: MemoryMessageStore())
    gateway.delivered_before.update(marks)
    t0 = time.thread_time_ns()
    for seq, payload in records:
        gateway.on_event_record(seq, payload)
    return time.thread_time_ns() - t0


def _collect_toggle() -> Any:
    from bench import _callgrind

    if not _callgrind.available():
        raise SystemExit("bench._callgrind was built without valgrind's headers (apt-get install valgrind)")
    return _callgrind.toggle


def count_instructions(argv: list[str], rounds: int) -> dict[str, Any]:
    """Run this benchmark under callgrind (``--count-inner``) and read what it collected."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        inner = [a for a in argv if a not in ("--instructions", "--json")]
        cmd = [valgrind, "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={tmp}/out",
               sys.executable, "-m", "bench.gateway", "--json", "--count-inner", *inner]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"the run under callgrind failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    out = proc.stdout  # (the JSON object starts on a line of its own; log lines come before it)
    start = 0 if out.startswith("{\n") else out.index("\n{\n") + 1
    inner_result, _ = json.JSONDecoder().raw_decode(out, start)
    requests = inner_result["requests"]
    return {
        "bench": "gateway",
        "instructions_per_request": round(int(found.group(1)) / requests, 1),
        "requests": requests,
        "rounds": rounds,
        "batch": inner_result["batch"],
        "env": inner_result["env"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gateway")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, default=400, help="requests per round (all sessions)")
    p.add_argument("--max-resting", type=int, default=300)
    p.add_argument("--evict-mb", type=int, default=0,
                   help="write a buffer of this many MB between rounds (not timed): caches as cold as in the venue")
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per request under callgrind instead of timing (deterministic)")
    p.add_argument("--count-inner", action="store_true", help=argparse.SUPPRESS)  # (the run under callgrind)
    args = p.parse_args(argv)
    if args.instructions:
        result = count_instructions(sys.argv[1:] if argv is None else argv, args.rounds)
        print(json.dumps(result, indent=2) if args.json else json.dumps(
            {"instructions_per_request": result["instructions_per_request"]}))
        return 0
    import uvloop

    result = uvloop.run(run(args))
    print(json.dumps(result, indent=2) if args.json else json.dumps(result["us_per_request"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
