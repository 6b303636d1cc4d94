"""End-to-end benchmark: FIX clients -> gateway -> command log -> engine -> event log -> ExecutionReports.

``python -m bench.e2e --json`` starts ``venue up`` on its embedded defaults (nats-server,
PostgreSQL from the wheel) from a copy of ``config/demo.toml`` with free ports and a temporary
data directory, logs on FIX client processes (ALPHA on FIX.4.4, BETA on FIXT.1.1; ``--sessions``
adds more sessions per firm on the same accounts) and prints one JSON object:

- ``orders_per_sec``: throughput phase. Each client pipelines NewOrderSingles (a window of
  ``--window`` orders awaiting their first ExecutionReport); an order counts when its first
  ExecutionReport (150=0 New, or 150=8 Rejected, counted apart in ``rejects``) arrives inside
  the measured ``--duration`` after ``--warmup``. Cancels (to bound resting orders) are sent
  too and reported as ``cancels_per_sec``; they are not counted as orders.
- ``latency_us``: latency phase, open loop at ``--rate`` orders/s over all clients: each
  order has a scheduled send time and is sent then whatever came back; latency is first
  ExecutionReport received minus *scheduled* send time (no coordinated omission), sorted
  samples, p50/p99/p999/max in microseconds. The headline, and the conservative one: it
  also counts how late the client itself wrote each order (``--pacing exact``, the default,
  wakes it at each order's scheduled time through a timerfd, a wake-up and a write per
  order; ``--pacing ms`` wakes it at most every ~1 ms, uvloop's timer resolution, and sends
  what is due, ~0.6 ms late at p50), so it is reported split as well:
  ``latency_from_write_us`` (the same orders, from the moment the client wrote them) and
  ``client_send_lag_us`` (written minus scheduled). With ``--pacing exact`` the latency
  phases run in C by default (``--client c``, the extension ``bench._fixload``: the same
  loop, orders, resting bound and report handling in an epoll loop of its own over the
  client's socket: about a third of the Python client's CPU per order, which the client
  would take from the venue on the shared cores); ``--client python`` runs them in the
  asyncio client, to compare side by side. ``env.client`` says which ran.
- ``cpu``: CPU seconds per venue component (gateway, engine, writer, nats, postgres, clients)
  over each phase, read from /proc: where the time goes.
- ``batches`` (per phase): the gateway's command batches per second and commands per batch,
  its append and round-trip histograms, and ``gc``: its garbage-collector pauses by
  generation in the phase (how many, their total and the largest histogram bucket one
  exceeded, in ms; empty when it did not collect).
- ``venue_cpu_per_request_in_client_units``: the venue's CPU per request (throughput
  phase) divided by the load clients' (the same code in every run): a figure that does not
  move with the machine's speed, for comparing runs made at different times.
- ``env.machine``: what this machine charges for a message between two processes and for
  plain Python work, measured before the venue starts (``bench/machine.py``): results from
  different machines are read against it.
- ``writer_lag_records``: event records the persistence writer had not stored yet at the end
  of the throughput phase and at the end of the run (a rate is only sustained if the writer
  keeps up, not if its work is deferred past the measurement); per latency phase,
  ``writer_lag_records_at_end``.
- ``realtime_budget`` (per latency phase, with ``--watch-rt``): the kernel's realtime
  accounting sampled every 100 ms (``RealtimeBudgetWatch``): how many samples found a CPU's
  realtime tasks throttled, and the most realtime time a CPU had spent in a 1 s period
  (the budget is 950 ms); None without the flag or when debugfs cannot be read.
- ``writer_settle`` (per latency phase): the saturating throughput phase leaves the
  persistence writer behind (hundreds of records of ~500 commands each), and while it works
  that off it takes every core-second the order path leaves: with the writer stopped for
  the phase, p99 at 5,000/s was 1.0-1.2 ms instead of 2.1
  (``bench/results/e2e-writer-stopped-for-latency-phase-experiment-*.json``).
  ``--settle-timeout S`` (60 by default; 0: the phase starts at once) waits, before each
  latency phase, until the writer has caught up (at most S seconds), so that the phase
  measures the venue at that rate rather than its recovery from the phase before; it
  records how far behind the writer was, how long it took and whether it got there. The
  default since session 13, when the latency phases' clients became normal processes (see
  Scheduling): the writer and PostgreSQL working off the backlog then delay the clients
  too. Measured in this machine's slow phase, 3 runs each: p99 4.9-6.4 ms without, 3.3-3.9
  with; p50 1.28-1.35 against 1.02-1.11 ms
  (``bench/results/e2e-latency-clients-normal-*.json``).

Load: limit orders on BTC-USD / ETH-USD at the reference price +-2%, small quantities (the
price from Python's ``random`` in the throughput phase and the Python latency client, from
bench._fixload's own generator in the C one); ALPHA
buys BTC-USD and sells ETH-USD, BETA the other way round, so about half the orders cross
(and trade with the other firm) and half rest; when a client has more
than ``--max-resting`` resting orders (2,000) it cancels the oldest. That is well above the
throughput window, so the cancels aim at orders long at rest, deep in the book: with fewer
resting orders than orders in flight, the client cancelled orders a fill was already racing
(two thirds of its cancels were rejected as too late). ``--trace PATH`` writes every
measured order of the first latency phase (scheduled time, latency, and the scheduled time on
CLOCK_MONOTONIC to line up with `perf record -k CLOCK_MONOTONIC`) as CSV. Accounts get large deposits in
the temporary config so funds never run out. ``fix.store`` is postgres (the default and the
headline figure) unless ``--store memory``; the engine runs in the gateway's process (the
default ``engine.in_gateway``) unless ``--engine-service``. ``--code DIR`` runs the venue from another source
tree (PYTHONPATH=DIR; used to measure a baseline copy side by side). ``--quick`` finishes in
under a minute. ``--out PATH`` also writes the JSON there.

Scheduling: the venue runs with ``scheduling.order_path = "realtime"`` (``--order-path
normal``: as every other process; also for a source tree older than the key). The load
clients run the throughput phase under SCHED_FIFO at ``--client-priority`` (5, below the
venue's 10; 0: normal): a FIX client has a host of its own; here it shares the two cores with
the venue, and at normal priority it would wait behind the venue's writer and PostgreSQL, and
drive less load than the venue could take. The latency phases run them at
``--latency-client-priority`` (5 by default, the same: below the venue's order path, so they
never take a core from it; 0: normal). A normally scheduled client is woken by the gateway's
report onto the gateway's own CPU (the kernel places a woken fair task beside its waker) and
waits there for the realtime gateway's turn to end, and its timer wake-ups queue behind the
venue's writer and PostgreSQL: tens to hundreds of microseconds per order that a client on a
host of its own never waits, counted in the headline. A realtime client is placed on the CPU
running the lowest priority instead. Measured side by side in session 23
(``bench/results/e2e-latency-clients-realtime-fourth-*.json``): at 5,000/s the clients' send
lag p99 0.10-0.56 against 0.36-0.98 ms, the headline p99 1.06-1.69 against 1.23-6.9 ms. What
they share with the venue's order path is the kernel's realtime budget
(``kernel.sched_rt_runtime_us``: 95% of each CPU per second; on a CPU whose realtime tasks
use it up the kernel stops all of them, the venue's with the clients', for the rest of the
second): ``--watch-rt`` samples it (570 ms of the 950 at most in those runs; when a sample
finds a CPU throttled, the run is not a measurement of the venue). What the clients still
wait for the order path is counted in the headline (scheduled send to report);
``latency_from_write_us`` leaves the send side out.
The other side of the round trip is reported the same way: ``latency_to_arrival_us`` (C
client) takes each first report at the kernel's receive timestamp of the bytes it came in
(``SO_TIMESTAMPNS``; for TCP the timestamp of the last segment a read consumed, so a report
that came earlier in the same read is counted later, never earlier) instead of when the client
read it, ``latency_write_to_arrival_us`` the same from when the client wrote the order (the
venue's part, with neither of the client's wake-ups in it), and ``client_read_lag_us`` read
minus arrival: the client's own wake-up and wait for a core on receipt, which a client on a
host of its own would not have to share with the venue.
Both are diagnostics; the headline stays scheduled send to report read.
``env.scheduling`` in the result says what the kernel actually gave each process in the
throughput phase (realtime is refused without root or CAP_SYS_NICE), and
``env.scheduling_latency_clients`` the clients' in the first latency phase.

``--pin gateway=0,nats=0,postgres=1,writer=1,clients=1`` (an experiment tool, default off)
sets the CPU affinity of every thread of the named components for the whole run (CPUs of one
component joined by ``+``); what was pinned is in ``env.pin``. On the 2026-12-04 machine,
where a wake-up across CPUs is dear, the gateway and nats-server on one CPU used 0.3 cores
less at 5,000 orders/s, and the latency was worse: docs/architecture.md, session 17.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import multiprocessing as mp
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.machine import guest_halt_poll_ns, guest_halt_polling, probe
from venue.scheduling import describe, enter_realtime

if TYPE_CHECKING:
    from bench._fixload import Phase

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

INSTRUMENTS = {  # symbol: (reference price in cents, quantity text)
    "BTC-USD": (6_000_000, "0.01"),
    "ETH-USD": (300_000, "0.1"),
}
FIRMS = [  # firm, begin string, username, password, account
    ("ALPHA", "FIX.4.4", "alpha", "alpha-demo", "ALPHA-1"),
    ("BETA", "FIXT.1.1", "beta", "beta-demo", "BETA-1"),
]


# ----------------------------------------------------------------------------- config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(
    tmp: Path, store: str, sessions_per_firm: int, engine_service: bool = False, order_path: str = "realtime"
) -> tuple[Path, int, list[dict[str, str]]]:
    text = (ROOT / "config" / "demo.toml").read_text()
    fix_port = free_port()
    text = re.sub(r'(?m)^data_dir = .*$', f'data_dir = "{tmp / "var"}"', text)
    text = re.sub(r'(?m)^log_level = .*$', 'log_level = "warning"', text)
    text = re.sub(r'(?m)^embedded_port = .*$', f"embedded_port = {free_port()}", text)
    text = re.sub(r'(?m)^(\[metrics\]\s*\nport = )\d+', rf"\g<1>{free_port()}", text)
    text = re.sub(r'(?m)^(\[fix\]\s*\nhost = .*\nport = )\d+', rf"\g<1>{fix_port}", text)
    text = re.sub(r'(?m)^deposits = .*$', 'deposits = { USD = "1000000000", BTC = "100000", ETH = "1000000" }', text)
    if store != "postgres":
        text = text.replace("[fix]\n", f'[fix]\nstore = "{store}"\n', 1)
    sessions = []
    for f, (firm, begin, user, password, account) in enumerate(FIRMS):
        for i in range(sessions_per_firm):
            comp = firm if i == 0 else f"{firm}{i + 1}"
            if i > 0:
                text += (
                    f'\n[[fix.sessions]]\nbegin_string = "{begin}"\ntarget_comp_id = "{comp}"\n'
                    f'username = "{user}"\naccounts = ["{account}"]\n'
                )
            sessions.append({
                "begin": begin, "sender": comp, "username": user, "password": password, "account": account,
                "firm": str(f),  # index into FIRM_SHAPES
            })
    if engine_service:
        text += "\n[engine]\nin_gateway = false\n"
    if order_path != "normal":  # (a tree older than the key: --order-path normal)
        text += f'\n[scheduling]\norder_path = "{order_path}"\n'
    path = tmp / "venue.toml"
    path.write_text(text)
    return path, fix_port, sessions


# ----------------------------------------------------------------------------- load client (own process)
#
# The clients share the measured cores with the venue, so their per-request cost is kept low.
# Outgoing NewOrderSingle (35=D) and OrderCancelRequest (35=F) come from per-session, per-shape
# templates: only MsgSeqNum(34), SendingTime(52)/TransactTime(60) (one text, formatted once per
# millisecond), ClOrdID(11) and Price(44) are filled in; the "8=..|9=..|" head is cached per
# BodyLength and CheckSum(10) is the C codec's. The bytes equal ``fix_gateway.codec.encode`` of
# the same fields (tests/unit/bench holds that). Incoming bytes are cut into frames as
# ``fix_gateway.codec.Framer`` does (its C ``frame_end``; a partial frame waits for the next
# read) and only the tags the load needs are read, by SOH-anchored ``bytes.find`` within the
# frame: first occurrence, as ``FixMessage.get``. Each frame's CheckSum is verified. Not
# checked, unlike a full parse: a tag inside a raw-data value could match (the venue's
# reports here carry none). The throughput phase always runs here; the latency phases run
# the same logic in C (bench/_fixload.c, ``latency_phase_c``) unless --client python.

SOH = b"\x01"
SHAPES = [  # (symbol, side): the order shapes of the load
    ("BTC-USD", "2"), ("BTC-USD", "1"), ("ETH-USD", "2"), ("ETH-USD", "1"),
]
# Shapes per firm, alternated: ALPHA (firm 0) buys BTC-USD and sells ETH-USD, BETA (firm 1)
# the other way round, so an order that crosses trades with the other firm (a firm's own
# orders never cross each other, which self-trade prevention would cancel instead).
FIRM_SHAPES = [(1, 2), (0, 3)]
_REFS = [INSTRUMENTS[symbol][0] for symbol, _ in SHAPES]
_LO, _HI = -0.02, 0.02  # limit price: reference price * (1 + uniform(_LO, _HI))
_SPAN = _HI - _LO
_CENTS = [b"%02d" % i for i in range(100)]
_TRAILERS = [b"10=%03d\x01" % i for i in range(256)]
_MAX_FRAME = 1 << 20
_perf_ns = time.perf_counter_ns


# ExecType(150) and OrdStatus(39) of a New and of a Filled report, adjacent as the venue writes
# them: one find reads both (neither tag repeats in a report); otherwise _status reads each
_NEW, _FILLED = b"\x01150=0\x0139=0\x01", b"\x01150=F\x0139=2\x01"


def _status(buf: bytes, start: int, end: int) -> tuple[int, int]:
    """ExecType(150) and OrdStatus(39) of the frame ``buf[start:end]`` as character codes,
    0 when absent or longer than one character."""
    i = buf.find(b"\x01150=", start, end)
    et = buf[i + 5] if i >= 0 and buf[i + 6] == 1 else 0
    i = buf.find(b"\x0139=", start, end)
    return et, buf[i + 4] if i >= 0 and buf[i + 5] == 1 else 0


def _literal(text: str) -> bytes:
    """``text`` for a bytes % template."""
    return text.encode().replace(b"%", b"%%")


def _field(buf: bytes, key: bytes, start: int, end: int) -> bytes | None:
    """Value of the first ``key`` field (``b"\\x01<tag>="``) of the frame ``buf[start:end]``."""
    i = buf.find(key, start, end)
    if i < 0:
        return None
    i += len(key)
    return buf[i:buf.find(SOH, i, end)]


class _Writer:
    """Sans-IO output of a load session: MsgSeqNum, time text, encoded messages in ``out``."""

    __slots__ = (
        "_begin", "_cancels", "_checksum", "_encode", "_format_utc", "_heads", "_ms", "_orders",
        "_ts", "_units", "begin", "clock", "out", "sender", "seq",
    )

    def __init__(self, begin: str, sender: str, account: str, clock: Callable[[], int] = time.time_ns) -> None:
        from fix_gateway.codec import checksum, encode
        from fix_gateway.session.times import format_utc

        self.begin, self.sender, self.clock = begin, sender, clock
        self._checksum, self._encode, self._format_utc = checksum, encode, format_utc
        self.seq = 1
        self.out: list[bytes] = []
        self._ms = -1
        self._ts = b""
        self._begin = b"8=%s\x019=" % begin.encode()
        self._heads: dict[int, tuple[bytes, int]] = {}  # BodyLength -> (b"8=..\x019=..\x01", its sum)
        self._units: dict[int, bytes] = {}  # Price text before the cents: b"60123."
        s, a = _literal(sender), _literal(account)
        self._orders: list[bytes] = []  # % templates per shape: seq, time, ClOrdID, units, cents, time
        self._cancels: list[bytes] = []  # seq, time, ClOrdID, OrigClOrdID, time
        for symbol, side in SHAPES:
            y, d, q = _literal(symbol), _literal(side), _literal(INSTRUMENTS[symbol][1])
            self._orders.append(
                b"35=D\x0149=%s\x0156=VENUE\x0134=%%d\x0152=%%s\x0111=%%s\x011=%s\x0155=%s\x0154=%s"
                b"\x0138=%s\x0140=2\x0144=%%s%%s\x0159=1\x0160=%%s\x01" % (s, a, y, d, q))
            self._cancels.append(
                b"35=F\x0149=%s\x0156=VENUE\x0134=%%d\x0152=%%s\x0111=%%sx\x0141=%%s\x011=%s\x0155=%s"
                b"\x0154=%s\x0160=%%s\x01" % (s, a, y, d))

    def now(self) -> bytes:
        """UTCTimestamp text of now, at most a millisecond stale."""
        ms = self.clock() // 1_000_000
        return self._ts if ms == self._ms else self._tick(ms)

    def queue(self, msg_type: str, fields: list[tuple[int, Any]]) -> None:
        """Any message, by the general encoder (Logon, Heartbeat, Logout)."""
        header: list[tuple[int, Any]] = [(49, self.sender), (56, "VENUE"), (34, self.seq), (52, self.now())]
        self.seq += 1
        self.out.append(self._encode(self.begin, msg_type, header + fields))

    def order(self, cl: bytes, shape: int, cents: int) -> None:
        """NewOrderSingle 11 1 55 54 38 40=2 44 59=1 60: a day limit order at ``cents``/100."""
        ms = self.clock() // 1_000_000
        ts = self._ts if ms == self._ms else self._tick(ms)
        seq = self.seq
        self.seq = seq + 1
        units, c = divmod(cents, 100)
        body = self._orders[shape] % (seq, ts, cl, self._units.get(units) or self._unit(units), _CENTS[c], ts)
        n = len(body)
        head, head_sum = self._heads.get(n) or self._head(n)
        self.out += (head, body, _TRAILERS[(head_sum + self._checksum(body)) & 255])

    def cancel(self, cl: bytes, shape: int) -> None:
        """OrderCancelRequest 11 41 1 55 54 60 for order ``cl``, with ClOrdID ``cl`` + "x"."""
        ms = self.clock() // 1_000_000
        ts = self._ts if ms == self._ms else self._tick(ms)
        seq = self.seq
        self.seq = seq + 1
        body = self._cancels[shape] % (seq, ts, cl, cl, ts)
        n = len(body)
        head, head_sum = self._heads.get(n) or self._head(n)
        self.out += (head, body, _TRAILERS[(head_sum + self._checksum(body)) & 255])

    def _tick(self, ms: int) -> bytes:
        self._ms = ms
        self._ts = self._format_utc(ms * 1_000_000)
        return self._ts

    def _unit(self, units: int) -> bytes:
        text = self._units[units] = b"%d." % units
        return text

    def _head(self, body_length: int) -> tuple[bytes, int]:
        text = self._begin + b"%d\x01" % body_length
        head = self._heads[body_length] = (text, self._checksum(text))
        return head


class _Load(_Writer):
    """Sans-IO load session: received bytes in (``feed``), orders and cancels out (``out``).

    Frames as ``fix_gateway.codec.Framer`` does (its C ``frame_end``; a partial frame waits
    for the next ``feed``), in place over the bytes received. Handles: TestRequest (answered
    with a Heartbeat), Logon, ExecutionReport (the first per ClOrdID: latency, reject or live;
    later ones: fills, cancels), OrderCancelReject (counted).
    """

    __slots__ = (  # (attribute access is a good part of the per-message cost)
        "_frame_end", "_prefixes", "_rest", "_shapes", "acks", "cancel_acks", "cancel_rejects", "cancels_sent",
        "fills", "from_write", "idx", "live", "logged_on", "max_resting", "n", "prng", "reject_texts", "rejects",
        "resting", "rng", "sent", "sess", "window", "written",
    )

    def __init__(
        self, sess: dict[str, str], idx: int, max_resting: int, clock: Callable[[], int] = time.time_ns,
    ) -> None:
        from fix_gateway.codec import frame_end

        super().__init__(sess["begin"], sess["sender"], sess["account"], clock)
        self.sess, self.idx, self.max_resting = sess, idx, max_resting
        self.rng = random.Random(1000 + idx)
        self.prng = 1000 + idx  # the state of bench._fixload's price generator (latency phases in C)
        self.n = 0
        self.sent: dict[bytes, int] = {}  # ClOrdID -> scheduled/sent perf_counter_ns (awaiting first ER)
        self.resting: deque[tuple[bytes, int]] = deque()  # (ClOrdID, shape) in send order
        self.live: set[bytes] = set()
        self.acks: list[tuple[int, int]] = []  # (receive ns, latency ns) for first ERs
        # latency phases: when each order was actually written (ClOrdID -> ns), and per first
        # ER (scheduled ns, written -> received ns, written - scheduled ns)
        self.written: dict[bytes, int] = {}
        self.from_write: list[tuple[int, int, int]] = []
        self.rejects: list[int] = []
        self.reject_texts: dict[str, int] = {}
        self.cancels_sent = 0
        self.cancel_acks: list[int] = []
        self.cancel_rejects = 0
        self.fills = 0
        self.logged_on = False
        self.window = 0  # > 0: keep this many orders awaiting their first ER (throughput phase)
        self._prefixes = {p: f"{p}{idx}-".encode() for p in ("T", "L")}  # ClOrdID: T0-1, L0-2...
        self._shapes = FIRM_SHAPES[int(sess.get("firm", "0")) % len(FIRM_SHAPES)]
        self._frame_end = frame_end
        self._rest = b""  # received bytes not yet framed

    def feed(self, data: bytes) -> None:
        buf = self._rest + data if self._rest else data
        find, frame_end, sent, checksum = buf.find, self._frame_end, self.sent, self._checksum
        view = memoryview(buf)
        pos = 0
        while True:
            start = pos if buf.startswith(b"8=FIX", pos) else find(b"8=FIX", pos)
            if start < 0:
                pos = max(pos, len(buf) - 4)  # garbage; keep what may begin "8=FIX"
                break
            status, end = frame_end(buf, start, _MAX_FRAME)
            if status != 1:
                if status == 0:  # incomplete
                    pos = start
                    break
                if status == 2:
                    from fix_gateway.codec import GarbledMessage

                    raise GarbledMessage(f"frame not where BodyLength says: {buf[start:end]!r}")
                pos = end  # 3: skipped
                continue
            pos = end
            # the frame is buf[start:end]; its CheckSum is verified (a bad one fails the run:
            # the venue never sends one), then fields are read as b"\x01<tag>=" .. SOH
            if checksum(view[start:end - 7]) != int(buf[end - 4:end - 1]):
                from fix_gateway.codec import GarbledMessage

                raise GarbledMessage(f"bad CheckSum: {buf[start:end]!r}")
            if find(b"\x0135=8\x01", start, end) >= 0:  # ExecutionReport
                i = find(b"\x0111=", start, end)
                cl = buf[i + 4:find(SOH, i + 4, end)] if i >= 0 else b""
                t0 = sent.pop(cl, None)
                if t0 is not None:  # the order's first report
                    now = _perf_ns()
                    self.acks.append((now, now - t0))
                    tw = self.written.pop(cl, None)
                    if tw is not None:
                        self.from_write.append((t0, now - tw, tw - t0))
                    if find(_NEW, start, end) < 0:  # (else 150=0, 39=0)
                        et, st = _status(buf, start, end)
                        if et == 56:  # 8 Rejected
                            self.rejects.append(now)
                            text = (_field(buf, b"\x0158=", start, end) or b"").decode("latin-1")[:60]
                            self.reject_texts[text] = self.reject_texts.get(text, 0) + 1
                        elif st == 48:  # OrdStatus 0 New
                            self.live.add(cl)
                    else:
                        self.live.add(cl)
                    if self.window:  # throughput phase: one out, one in (as refill, inlined)
                        now = _perf_ns()
                        while len(sent) < self.window:
                            self.new_order("T", now)
                elif find(_FILLED, start, end) >= 0:
                    self.fills += 1
                    self.live.discard(cl)
                else:
                    et, st = _status(buf, start, end)
                    if et == 70:  # F Trade
                        self.fills += 1
                        if st == 50:  # OrdStatus 2 Filled
                            self.live.discard(cl)
                    elif et == 52:  # 4 Canceled: ours (OrigClOrdID 41) or the venue's (ClOrdID 11)
                        self.live.discard(_field(buf, b"\x0141=", start, end) or cl)
                        self.cancel_acks.append(_perf_ns())
                continue
            kind = _field(buf, b"\x0135=", start, end)
            if kind == b"9":  # OrderCancelReject
                self.cancel_rejects += 1
                text = (_field(buf, b"\x0158=", start, end) or b"").decode("latin-1")[:60]
                self.reject_texts["cancel: " + text] = self.reject_texts.get("cancel: " + text, 0) + 1
            elif kind == b"1":  # TestRequest
                self.queue("0", [(112, _field(buf, b"\x01112=", start, end) or b"")])
            elif kind == b"A":  # Logon
                self.logged_on = True
        self._rest = buf[pos:]

    def refill(self) -> None:
        now = _perf_ns()
        while len(self.sent) < self.window:
            self.new_order("T", now)

    def new_order(self, phase: str, t_ns: int) -> bytes:
        self.n = n = self.n + 1
        shape = self._shapes[n & 1]
        ref = _REFS[shape]
        cents = ref + int(ref * (_LO + _SPAN * self.rng.random()))  # rng.uniform(_LO, _HI)
        cl = b"%s%d" % (self._prefixes[phase], n)
        self.sent[cl] = t_ns
        self.order(cl, shape, cents)
        resting = self.resting
        resting.append((cl, shape))
        if len(resting) > self.max_resting:
            self.cancel_oldest()
        return cl

    def cancel_oldest(self) -> None:
        """Cancel the oldest order still resting; orders already done are dropped from the
        queue, and the scan stops at one not acknowledged yet (it may still come to rest:
        dropping it would leave it on the book for good)."""
        while self.resting:
            cl, shape = self.resting[0]
            if cl in self.sent:
                return
            self.resting.popleft()
            if cl in self.live:
                self.live.discard(cl)
                self.cancels_sent += 1
                self.cancel(cl, shape)
                return


def _pieces(template: bytes) -> tuple[bytes, ...]:
    """The literal runs of a bytes % template between its %d / %s conversions (``%%`` is a
    literal %): what bench._fixload fills in between."""
    out, run = [], b""
    for token in re.split(rb"(%%|%[ds])", template):
        if token == b"%%":
            run += b"%"
        elif token in (b"%d", b"%s"):
            out.append(run)
            run = b""
        else:
            run += token
    out.append(run)
    return tuple(out)


def _heartbeat_pieces(sender: str) -> tuple[bytes, ...]:
    """Heartbeat 49 56 34 52 112: the fields ``_Writer.queue("0", [(112, id)])`` encodes."""
    return _pieces(b"35=0\x0149=%s\x0156=VENUE\x0134=%%d\x0152=%%s\x01112=%%s\x01" % _literal(sender))


def latency_phase_c(
    load: _Load, fd: int, t0: int, interval: float, total: int, measure_from: int, trace: bool,
    drain: float = 15.0,
) -> Phase:
    """One open-loop latency phase by ``bench._fixload.latency_phase`` over the connected,
    non-blocking socket ``fd`` (nothing of ``load`` queued or buffered in the transport):
    ``load``'s state goes in and comes back (MsgSeqNum, order count, resting orders and which
    are live, the orders still awaiting their first report as ``load.sent``, unframed bytes,
    counters); returns the C function's figures of the phase. Like the Python loop, the phase
    starts with no order awaiting (``load.sent`` is cleared)."""
    from bench._fixload import latency_phase
    from fix_gateway.codec import GarbledMessage

    load.sent.clear()
    r = latency_phase(
        fd=fd, head=load._begin, orders=[_pieces(t) for t in load._orders],
        cancels=[_pieces(t) for t in load._cancels], heartbeat=_heartbeat_pieces(load.sender),
        prefix=load._prefixes["L"], shapes=load._shapes, refs=_REFS, lo=_LO, hi=_HI,
        max_resting=load.max_resting, seq=load.seq, n=load.n, prng=load.prng,
        resting=[(cl, shape, cl in load.live) for cl, shape in load.resting], rest=load._rest,
        t0=t0, interval=interval, total=total, measure_from=measure_from, drain=drain, trace=trace,
        max_frame=_MAX_FRAME, garbled=GarbledMessage,
    )
    load.seq, load.n, load.prng, load._rest = r["seq"], r["n"], r["prng"], r["rest"]
    load.resting = deque((cl, shape) for cl, shape, _ in r["resting"])
    load.live = {cl for cl, _, live in r["resting"] if live}  # (only resting orders are ever cancelled)
    load.sent = dict(r["awaiting"])
    load.written.clear()
    load.fills += r["fills"]
    load.cancels_sent += r["cancels_sent"]
    load.cancel_rejects += r["cancel_rejects"]
    load.reject_texts = _summed([load.reject_texts, r["reject_texts"]])
    return r


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Pacer:
    """Wakes the client's event loop at an exact CLOCK_MONOTONIC time (``perf_counter_ns``):
    a timerfd, armed at an absolute time, read by the loop like a socket. uvloop's own
    timers round to whole milliseconds, which made the client send each order ~0.5 ms
    after its scheduled time on average (``--pacing ms``)."""

    _TFD_NONBLOCK, _TFD_CLOEXEC, _TFD_TIMER_ABSTIME, _CLOCK_MONOTONIC = 0o4000, 0o2000000, 1, 1

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.timerfd_create(self._CLOCK_MONOTONIC, self._TFD_NONBLOCK | self._TFD_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        loop.add_reader(self._fd, self._fired)

    def _fired(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 8)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def until(self, t_ns: int) -> None:
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(t_ns // 1_000_000_000, max(t_ns % 1_000_000_000, 1)))
        if self._libc.timerfd_settime(self._fd, self._TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")
        self._waiter = self._loop.create_future()
        await self._waiter


class _Conn(asyncio.Protocol):
    """The asyncio shell of a ``_Load``: what it queues is written once per read (and on
    ``flush``); ``logon`` resolves on the Logon reply."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.logon, self.closed = loop.create_future(), loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.load.feed(data)
        if self.load.logged_on and not self.logon.done():
            self.logon.set_result(None)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def flush(self) -> None:
        out = self.load.out
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))
        out.clear()

    async def socket_to_lend(self) -> int:
        """The socket's fd, once everything queued is written (the C latency phase writes on
        it directly, so nothing may be waiting in the transport)."""
        assert self.transport is not None
        self.flush()
        end = time.monotonic() + 10
        while self.transport.get_write_buffer_size():
            if time.monotonic() > end:
                raise RuntimeError("the transport's write buffer did not drain")
            await asyncio.sleep(0.001)
        return int(self.transport.get_extra_info("socket").fileno())


async def _client_main(port: int, sess: dict[str, str], idx: int, plan: dict[str, Any], go: Any, results: Any) -> None:
    loop = asyncio.get_running_loop()
    load = _Load(sess, idx, plan["max_resting"])
    _, conn = await loop.create_connection(lambda: _Conn(load), "127.0.0.1", port)
    logon = [(98, 0), (108, 30), (141, "Y"), (553, sess["username"]), (554, sess["password"])]
    if sess["begin"] == "FIXT.1.1":
        logon.append((1137, "9"))
    load.queue("A", logon)
    conn.flush()
    await asyncio.wait_for(conn.logon, 15)
    out: dict[str, Any] = {"session": sess["sender"]}

    async def wait_go(phase: str) -> float:
        results.put(("ready", idx, phase))
        start = await loop.run_in_executor(None, go.get)
        await asyncio.sleep(max(0.0, start - time.time()))
        return start

    async def drain(timeout: float) -> None:
        end = time.monotonic() + timeout
        while load.sent and time.monotonic() < end:
            await asyncio.sleep(0.02)

    # Throughput: a window of orders awaiting their first ER per client.
    await wait_go("throughput")
    load.window = plan["window"]
    t_start = time.perf_counter_ns()
    load.refill()
    conn.flush()
    await asyncio.sleep(plan["warmup"] + plan["duration"])
    load.window = 0
    t_end = time.perf_counter_ns()
    await drain(10)
    lo, hi = t_start + int(plan["warmup"] * 1e9), t_start + int((plan["warmup"] + plan["duration"]) * 1e9)
    inside = [lat for t, lat in load.acks if lo <= t < hi]
    out["throughput"] = {
        "orders": len(inside),
        "rejects": sum(1 for t in load.rejects if lo <= t < hi),
        "cancels": sum(1 for t in load.cancel_acks if lo <= t < hi),
        "latency_ns": sorted(inside)[:: max(1, len(inside) // 20000)],
        "unanswered": len(load.sent),
        "elapsed_s": (t_end - t_start) / 1e9,
    }
    load.acks.clear()
    load.rejects.clear()
    load.cancel_acks.clear()
    load.sent.clear()

    # Latency: open loop at each of plan["rates"] (orders/s over all clients; the first is
    # the headline), scheduled send times.
    out["latency"] = []
    in_c = plan["client"] == "c" and plan["pacing"] == "exact"  # (bench._fixload)
    pacer = _Pacer(loop) if plan["pacing"] == "exact" and not in_c else None
    for rate in plan["rates"]:
        rate /= plan["clients"]
        load.acks.clear()
        load.rejects.clear()
        load.sent.clear()
        load.written.clear()
        load.from_write.clear()
        if not out["latency"] and plan["latency_client_priority"] != plan["client_priority"]:
            set_threads_priority(plan["latency_client_priority"])
        await wait_go("latency")
        interval = 1e9 / rate
        total = int(rate * (plan["lat_warmup"] + plan["lat_duration"]))
        measure_from = int(rate * plan["lat_warmup"])
        if in_c:
            fd = await conn.socket_to_lend()
        t0 = time.perf_counter_ns() + int(idx * interval / plan["clients"])  # clients interleave
        m0 = t0 + int(measure_from * interval)  # the first measured order's scheduled time
        if in_c:  # the same loop, drain(15) and feed, in C, blocking this process meanwhile
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            r = latency_phase_c(load, fd, t0, interval, total, measure_from, plan["trace"])
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            if r["unsent"] and conn.transport is not None:  # what the socket had not taken yet
                conn.transport.write(r["unsent"])
            out["latency"].append({
                "sent": r["sent"],
                "measured": r["measured"],
                "unanswered": r["unanswered"],
                "send_lag_at_end_us": r["send_lag_at_end_us"],
                "wakeups": r["wakeups"],
                "cpu_user_s": round(ru1.ru_utime - ru0.ru_utime, 2),
                "cpu_sys_s": round(ru1.ru_stime - ru0.ru_stime, 2),
                "rejects": r["rejects"],
                "latency_ns": r["latency_ns"],
                "from_write_ns": r["from_write_ns"],
                "send_lag_ns": r["send_lag_ns"],
                "to_arrival_ns": r["to_arrival_ns"],
                "write_to_arrival_ns": r["write_to_arrival_ns"],
                "read_lag_ns": r["read_lag_ns"],
                "trace": r["trace"],
                "trace_origin_ns": m0,
            })
            continue
        i = wakeups = 0
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        while i < total:
            wakeups += 1
            now = time.perf_counter_ns()
            due = []
            while i < total and t0 + int(i * interval) <= now:
                due.append(load.new_order("L", t0 + int(i * interval)))
                i += 1
            conn.flush()
            written = time.perf_counter_ns()
            for cl in due:
                load.written[cl] = written
            nxt = t0 + int(i * interval)
            if pacer is not None:  # wake at the next order's scheduled time
                await pacer.until(nxt)
            else:
                # uvloop's timers have 1 ms resolution (a shorter sleep returns at once and the
                # loop would spin on the shared cores): wake every >= 1 ms and send whatever
                # fell due meanwhile in one write
                await asyncio.sleep(max((nxt - time.perf_counter_ns()) / 1e9, 0.001))
        late = time.perf_counter_ns() - (t0 + int(total * interval))
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        await drain(15)
        out["latency"].append({
            "sent": total,
            "measured": total - measure_from,
            "unanswered": len(load.sent),
            "send_lag_at_end_us": late / 1e3,
            "wakeups": wakeups,
            "cpu_user_s": round(ru1.ru_utime - ru0.ru_utime, 2),
            "cpu_sys_s": round(ru1.ru_stime - ru0.ru_stime, 2),
            "rejects": len(load.rejects),
            "latency_ns": [lat for t, lat in load.acks if t - lat >= m0],
            "from_write_ns": [lat for sched, lat, _ in load.from_write if sched >= m0],
            "send_lag_ns": [lag for sched, _, lag in load.from_write if sched >= m0],
            "trace": [(t - lat - m0, lat) for t, lat in load.acks if t - lat >= m0] if plan["trace"] else [],
            "trace_origin_ns": m0,
        })
    out["reject_texts"] = load.reject_texts
    out["fills"] = load.fills
    out["cancels_sent"] = load.cancels_sent
    out["cancel_rejects"] = load.cancel_rejects
    load.queue("5", [])
    conn.flush()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.closed, 3)
    results.put(("done", idx, out))


def set_threads_priority(priority: int) -> None:
    """Every thread of this process to SCHED_FIFO ``priority``, or to SCHED_OTHER for 0
    (a refusal leaves a thread as it was: the result says what the kernel gave)."""
    policy, param = (os.SCHED_FIFO, os.sched_param(priority)) if priority else (os.SCHED_OTHER, os.sched_param(0))
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(int(tid), policy, param)


def client_process(port: int, sess: dict[str, str], idx: int, plan: dict[str, Any], go: Any, results: Any) -> None:
    if plan["client_priority"]:
        # A FIX client has a host of its own; here it shares two cores with the venue, so it
        # runs realtime too, below the venue's order path: ahead of the venue's background
        # work, as on a host where nothing else runs. (Refused: it stays normal; the result
        # says which it was.)
        enter_realtime(plan["client_priority"], threads_inherit=True)
    try:
        import uvloop

        uvloop.run(_client_main(port, sess, idx, plan, go, results))
    except Exception as exc:  # report, do not hang the parent
        results.put(("error", idx, f"{exc.__class__.__name__}: {exc}"))


# ----------------------------------------------------------------------------- process accounting


def _proc_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, label, cpu ticks)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), cmd, int(rest[11]) + int(rest[12]))
    return out


def _label(cmd: str) -> str:
    if "venue.service" in cmd:
        return cmd.split("venue.service", 1)[1].split()[0]
    if "nats-server" in cmd:
        return "nats"
    if "postgres" in cmd:
        return "postgres"
    if "bench.e2e" in cmd or "multiprocessing" in cmd:
        return "clients"
    if " up" in cmd:
        return "venue-up"
    return "other"


def _venue_processes(roots: list[int], tmp: Path) -> Iterable[tuple[int, str, int]]:
    """(pid, component label, CPU ticks) of every process in the trees from ``roots``, and of
    the daemonised PostgreSQL (its command line names ``tmp``)."""
    table = _proc_table()
    roots = roots + [pid for pid, (_, cmd, _) in table.items() if str(tmp) in cmd]
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        stack += children.get(pid, [])
        _, cmd, ticks = table[pid]
        yield pid, _label(cmd), ticks


def cpu_by_component(roots: list[int], tmp: Path) -> dict[tuple[str, int], int]:
    """CPU ticks by (component label, pid)."""
    return {(label, pid): ticks for pid, label, ticks in _venue_processes(roots, tmp)}


def cpu_delta(a: dict[tuple[str, int], int], b: dict[tuple[str, int], int], seconds: float) -> dict[str, float]:
    """Cores used per component between two readings, process by process: one that started
    in between counts from zero; one that ended in between (an autovacuum worker, a
    PostgreSQL backend) is missing from ``b`` and left out, rather than taking all it had
    used before ``a`` off its component (which once read PostgreSQL as 0 cores)."""
    hz = os.sysconf("SC_CLK_TCK")
    ticks: dict[str, int] = {}
    for (label, pid), value in b.items():
        ticks[label] = ticks.get(label, 0) + value - a.get((label, pid), 0)
    return {k: round(v / hz / seconds, 3) for k, v in sorted(ticks.items())}


def descendants(pid: int) -> list[int]:
    table = _proc_table()
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        for q, (ppid, _, _) in table.items():
            if ppid == p:
                out.append(q)
                stack.append(q)
    return out


PIN_COMPONENTS = ("gateway", "engine", "writer", "nats", "postgres", "clients")


def parse_pin(spec: str) -> dict[str, frozenset[int]]:
    """``--pin``'s value: ``gateway=0,nats=0,postgres=1,writer=1,clients=1`` (CPUs of one
    component joined by ``+``: ``clients=0+1``) -> component -> CPU set."""
    out: dict[str, frozenset[int]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, cpus = part.partition("=")
        if not sep or name not in PIN_COMPONENTS:
            raise ValueError(f"--pin: {part!r} is not COMPONENT=CPU[+CPU...] (components: {', '.join(PIN_COMPONENTS)})")
        try:
            cpu_set = frozenset(int(c) for c in cpus.split("+"))
        except ValueError:
            raise ValueError(f"--pin: {part!r}: CPUs are numbers joined by '+'") from None
        if min(cpu_set) < 0:
            raise ValueError(f"--pin: {part!r}: no such CPU")
        out[name] = cpu_set
    return out


def pin_components(roots: list[int], tmp: Path, pins: dict[str, frozenset[int]]) -> dict[str, int]:
    """Set the CPU affinity of every thread of the pinned components' processes (the process
    tree from ``roots``, labelled as in the CPU accounting); threads and processes they start
    later inherit it. Returns the threads pinned per component."""
    out: dict[str, int] = {}
    for pid, label, _ in _venue_processes(roots, tmp):
        cpus = pins.get(label)
        if cpus is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                    os.sched_setaffinity(int(tid), cpus)
                    out[label] = out.get(label, 0) + 1
    return out


# ----------------------------------------------------------------------------- venue


def scrape(tmp: Path) -> dict[str, float]:
    """The venue's counters and gauges (``venue_*``) from the gateway's and engine's metrics
    endpoints: batch sizes, the gateway's event sequence."""
    import urllib.request

    out: dict[str, float] = {}
    try:
        info = json.loads((tmp / "var" / "runtime.json").read_text())
        for name in ("gateway", "engine"):  # (with the engine in the gateway: its metrics are the gateway's)
            if name not in info["services"]:
                continue
            url = info["services"][name]["metrics_url"]
            for line in urllib.request.urlopen(url, timeout=2).read().decode().splitlines():
                if line.startswith("venue_") and (
                    "{" not in line or "_bucket{le=" in line or line.startswith("venue_gc_pause_seconds_")
                ):
                    k, v = line.rsplit(" ", 1)
                    out[k] = float(v)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return out


SCHED_DEBUG = Path("/sys/kernel/debug/sched/debug")


class RealtimeBudgetWatch:
    """``--watch-rt``: samples the kernel's realtime accounting per CPU (``rt_rq``'s
    ``rt_time``, the realtime time spent in the current 1 s period, and ``rt_throttled``) every
    ``interval_s`` while a latency phase runs. A CPU whose realtime tasks reach the budget
    (``kernel.sched_rt_runtime_us``, 950 ms) is throttled: the kernel stops every realtime task
    on it for the rest of the period. Needs root and debugfs
    (``mount -t debugfs none /sys/kernel/debug``); each read costs the kernel ~1 ms, so it is
    off by default."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = self.throttled = 0
        self.max_rt_time_ms = 0.0

    @staticmethod
    def read() -> list[tuple[bool, float]] | None:
        """(throttled, rt_time ms) per CPU."""
        try:
            text = SCHED_DEBUG.read_text()
        except OSError:
            return None
        out: list[tuple[bool, float]] = []
        throttled = False
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(".rt_throttled"):
                throttled = line.rsplit(":", 1)[1].strip() != "0"
            elif line.startswith(".rt_time"):
                out.append((throttled, float(line.rsplit(":", 1)[1])))
        return out

    def start(self) -> None:
        if self.read() is not None:  # (else stop() says None: not readable)
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            cpus = self.read()
            if not cpus:
                continue
            self.samples += 1
            self.throttled += any(t for t, _ in cpus)
            self.max_rt_time_ms = max(self.max_rt_time_ms, *(ms for _, ms in cpus))

    def stop(self) -> dict[str, Any] | None:
        """What was sampled; None when the accounting could not be read."""
        if self._thread is None:
            return None
        self._stop.set()
        self._thread.join()
        return {"samples": self.samples, "throttled_samples": self.throttled,
                "max_rt_time_ms": round(self.max_rt_time_ms, 1)}


def settle_writer(tmp: Path, timeout_s: float, poll_s: float = 0.5) -> dict[str, Any]:
    """Before a latency phase: wait (at most ``timeout_s``; 0: not at all) until the
    persistence writer has stored every event record, so that the phase measures the venue
    at that rate and not the writer still working off the saturating phase before it (which
    takes whatever CPU the order path leaves). Returns the records it was behind, the seconds
    waited and whether it caught up."""
    started = time.monotonic()
    first = lag = writer_lag(tmp, scrape(tmp))
    while timeout_s > 0 and lag is not None and lag > 1 and time.monotonic() - started < timeout_s:
        time.sleep(poll_s)
        lag = writer_lag(tmp, scrape(tmp))
    return {
        "lag_records_before": first, "waited_s": round(time.monotonic() - started, 1),
        "caught_up": lag is not None and lag <= 1,
    }


def writer_lag(tmp: Path, metrics: dict[str, float]) -> int | None:
    """Event records the persistence writer has yet to store: the event stream's last
    sequence (the gateway's ``venue_gateway_event_seq`` in ``metrics``, a ``scrape``) minus
    the writer's progress row."""
    import asyncpg

    head = metrics.get("venue_gateway_event_seq")
    if head is None:
        return None

    async def stored(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT coalesce(max(stream_seq), 0) FROM writer_progress") or 0)
        finally:
            await conn.close()

    try:
        url = json.loads((tmp / "var" / "runtime.json").read_text())["database_url"]
        return int(head) - asyncio.run(stored(url))
    except (OSError, ValueError, KeyError, TypeError, asyncpg.PostgresError):
        return None


def observed_scheduling(tmp: Path, clients: list[Any]) -> dict[str, str]:
    """How the kernel schedules the order path and the load clients, as they run."""
    out = {f"client-{i}": describe(c.pid) for i, c in enumerate(clients) if c.pid}
    try:
        info = json.loads((tmp / "var" / "runtime.json").read_text())
        for name, svc in info["services"].items():
            out[name] = describe(int(svc["pid"]))
        if info.get("nats_embedded_pid"):
            out["nats-server"] = describe(int(info["nats_embedded_pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return out


def wait_port(port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"gateway port {port} never accepted")


def start_venue(cfg: Path, tmp: Path, code: str | None, fix_port: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code
    log_path = tmp / "venue-up.log"
    proc = subprocess.Popen(
        [str(VENV_BIN / "venue"), "--config", str(cfg), "up"],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    up = threading.Event()

    def pump() -> None:
        with open(log_path, "ab") as f:
            for line in proc.stdout:  # type: ignore[union-attr]
                f.write(line)
                f.flush()
                lines.append(line)
                if b"venue is up" in line:
                    up.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        end = time.monotonic() + 180
        while not up.is_set():
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("venue did not come up:\n" + b"".join(lines[-40:]).decode(errors="replace"))
            time.sleep(0.1)
        wait_port(fix_port, 120)
    except BaseException:
        stop_venue(proc, tmp)  # a venue that half came up must not outlive the run (and load the next)
        raise
    return proc, log_path


def stop_venue(proc: subprocess.Popen[bytes], tmp: Path) -> list[str]:
    family = descendants(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    left = []
    for pid, (_, cmd, _) in _proc_table().items():
        if pid in family or str(tmp) in cmd:
            left.append(f"{pid} {cmd[:120]}")
    return left


# ----------------------------------------------------------------------------- driver


def _in_client_units(cores: dict[str, float]) -> float | None:
    clients = cores.get("clients", 0.0)
    venue = sum(v for k, v in cores.items() if k != "clients")
    return round(venue / clients, 2) if clients > 0 else None


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counts per key over several clients (a text every client saw is counted for each)."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(total)


def _percentiles(sorted_ns: list[int]) -> dict[str, float]:
    return {"p50": pct(sorted_ns, 0.50), "p99": pct(sorted_ns, 0.99), "p999": pct(sorted_ns, 0.999)}


def pct(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, max(0, round(q * len(sorted_ns) + 0.5) - 1))
    return round(sorted_ns[i] / 1e3, 1)


def _ratio(a: dict[str, float], b: dict[str, float], num: str, den: str) -> float | None:
    d = b.get(den, 0) - a.get(den, 0)
    return round((b.get(num, 0) - a.get(num, 0)) / d, 1) if d > 0 else None


def _histogram(a: dict[str, float], b: dict[str, float], name: str) -> dict[str, float | None]:
    """Mean and (bucket-interpolated) p50/p99 in microseconds of a Prometheus histogram
    between two scrapes."""
    n = b.get(f"{name}_count", 0) - a.get(f"{name}_count", 0)
    if n <= 0:
        return {"mean": None, "p50": None, "p99": None, "samples": 0}
    buckets = sorted(
        (float(k.split('le="')[1].rstrip('"}')), b[k] - a.get(k, 0))
        for k in b if k.startswith(f"{name}_bucket{{") and "+Inf" not in k
    )

    def quantile(q: float) -> float | None:
        rank, lo, below = q * n, 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                return round((lo + (le - lo) * (rank - below) / max(count - below, 1e-9)) * 1e6, 1)
            lo, below = le, count
        return None  # beyond the last bucket

    mean = (b.get(f"{name}_sum", 0) - a.get(f"{name}_sum", 0)) / n
    return {"mean": round(mean * 1e6, 1), "p50": quantile(0.5), "p99": quantile(0.99), "samples": int(n)}


def _batches(a: dict[str, float], b: dict[str, float], seconds: float) -> dict[str, Any]:
    """Command batches per second and commands per batch between two scrapes."""
    n = b.get("venue_gateway_command_batches_total", 0) - a.get("venue_gateway_command_batches_total", 0)
    return {
        "gateway_batches_per_sec": round(n / seconds, 1) if seconds > 0 else None,
        "gateway_commands_per_batch": _ratio(a, b, "venue_gateway_commands_total", "venue_gateway_command_batches_total"),
        # inside the venue, per command batch (gateway metrics): the JetStream append, and
        # first request handed over -> its reports written
        "append_ack_us": _histogram(a, b, "venue_gateway_command_append_seconds"),
        "round_trip_us": _histogram(a, b, "venue_gateway_command_round_trip_seconds"),
        "gc": _gc_pauses(a, b),
    }


def _gc_pauses(a: dict[str, float], b: dict[str, float]) -> dict[str, dict[str, float]]:
    """The gateway's garbage-collector pauses between two scrapes, by generation: how many,
    their total and the longest bucket reached (milliseconds): a pause stalls every order
    on the event loop."""
    out: dict[str, dict[str, float]] = {}
    for gen in "012":
        label = f'{{generation="{gen}"}}'
        n = b.get(f"venue_gc_pause_seconds_count{label}", 0) - a.get(f"venue_gc_pause_seconds_count{label}", 0)
        if n <= 0:
            continue
        total = b.get(f"venue_gc_pause_seconds_sum{label}", 0) - a.get(f"venue_gc_pause_seconds_sum{label}", 0)
        top = 0.0
        for k, v in b.items():
            if k.startswith("venue_gc_pause_seconds_bucket{") and f'generation="{gen}"' in k and "+Inf" not in k:
                le = float(k.split('le="')[1].split('"')[0])
                if v - a.get(k, 0) < n:
                    top = max(top, le)
        out[gen] = {"count": int(n), "total_ms": round(total * 1e3, 2), "over_ms": round(top * 1e3, 2)}
    return out


def client_kind(args: argparse.Namespace) -> str:
    """Which load client runs the latency phases: "c" (bench._fixload, with exact pacing) or
    "python"; refuses --client c when the extension is not built."""
    if args.client != "c" or args.pacing != "exact":
        return "python"
    try:
        import bench._fixload  # noqa: F401
    except ImportError as exc:
        raise SystemExit(
            f"--client c needs the C extension bench._fixload ({exc}): build it with "
            "`make install-dev` (or `pip install -e .`), or run with --client python"
        )
    return "c"


def run(args: argparse.Namespace) -> dict[str, Any]:
    client = client_kind(args)
    pins = parse_pin(args.pin) if args.pin else {}
    tmp = Path(tempfile.mkdtemp(prefix="venue-e2e-"))
    cfg, fix_port, sessions = make_config(tmp, args.store, args.sessions, args.engine_service, args.order_path)
    load_before = os.getloadavg()
    machine = probe()  # (before the venue starts: the machine otherwise idle)
    proc, _ = start_venue(cfg, tmp, args.code, fix_port)
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    gos = [ctx.Queue() for _ in sessions]
    rates = [args.rate, *args.extra_rates]
    plan = {
        "window": args.window, "trace": bool(args.trace), "pacing": args.pacing, "client": args.client, "client_priority": args.client_priority, "latency_client_priority": args.latency_client_priority, "warmup": args.warmup, "duration": args.duration, "max_resting": args.max_resting,
        "rates": rates, "lat_warmup": args.lat_warmup, "lat_duration": args.lat_duration,
        "clients": len(sessions),
    }
    clients = [
        ctx.Process(target=client_process, args=(fix_port, s, i, plan, gos[i], results), daemon=True)
        for i, s in enumerate(sessions)
    ]
    out: dict[str, Any] = {}
    try:
        for c in clients:
            c.start()
        roots = [proc.pid] + [c.pid for c in clients if c.pid]
        pinned = pin_components(roots, tmp, pins) if pins else {}

        def barrier(phase: str) -> None:
            got = 0
            while got < len(clients):
                kind, idx, what = results.get(timeout=120)
                if kind == "error":
                    raise RuntimeError(f"client {idx}: {what}")
                got += kind == "ready"
            start = time.time() + 0.5
            for g in gos:
                g.put(start)

        barrier("throughput")
        scheduling = observed_scheduling(tmp, clients)
        time.sleep(args.warmup)
        cpu1 = cpu_by_component(roots, tmp)
        m1 = scrape(tmp)
        t1 = time.monotonic()
        time.sleep(args.duration)
        cpu2 = cpu_by_component(roots, tmp)
        m2 = scrape(tmp)
        t2 = time.monotonic()
        lag_after_throughput = writer_lag(tmp, m2)
        lat_cpu: list[dict[str, float]] = []
        lat_batches: list[dict[str, Any]] = []
        latency_scheduling: dict[str, str] = {}
        settles: list[dict[str, Any]] = []
        lat_lags: list[int | None] = []
        rt_watch: list[dict[str, Any] | None] = []
        for _ in rates:
            settles.append(settle_writer(tmp, args.settle_timeout))
            if pins:  # (processes started since: PostgreSQL's backends inherit the postmaster's)
                pin_components(roots, tmp, pins)
            barrier("latency")
            time.sleep(0.5 + args.lat_warmup)
            if not lat_cpu:
                latency_scheduling = {f"client-{i}": describe(c.pid) for i, c in enumerate(clients) if c.pid}
            watch = RealtimeBudgetWatch() if args.watch_rt else None
            if watch is not None:
                watch.start()
            cpu3 = cpu_by_component(roots, tmp)
            m3 = scrape(tmp)
            t3 = time.monotonic()
            time.sleep(args.lat_duration)
            lat_cpu.append(cpu_delta(cpu3, cpu_by_component(roots, tmp), time.monotonic() - t3))
            rt_watch.append(watch.stop() if watch is not None else None)
            m4 = scrape(tmp)
            lat_batches.append(_batches(m3, m4, time.monotonic() - t3))
            lat_lags.append(writer_lag(tmp, m4))
        done: dict[int, Any] = {}
        while len(done) < len(clients):
            kind, idx, what = results.get(timeout=120)
            if kind == "error":
                raise RuntimeError(f"client {idx}: {what}")
            if kind == "done":
                done[idx] = what
        for c in clients:
            c.join(10)
        load_after = os.getloadavg()
        lag_at_end = writer_lag(tmp, scrape(tmp))
    finally:
        for c in clients:
            if c.is_alive():
                c.kill()
        left = stop_venue(proc, tmp)

    thr = [done[i]["throughput"] for i in sorted(done)]
    phases = []
    for k, rate in enumerate(rates):
        lat = [done[i]["latency"][k] for i in sorted(done)]
        lat_ns = sorted(x for t in lat for x in t["latency_ns"])
        phases.append({
            "rate": rate,
            "latency_us": {
                "p50": pct(lat_ns, 0.50), "p99": pct(lat_ns, 0.99), "p999": pct(lat_ns, 0.999),
                "max": pct(lat_ns, 1.0), "samples": len(lat_ns),
            },
            # the same orders measured from when the client actually wrote them, and how late
            # it wrote them (its wake-ups are >= 1 ms apart; counted in latency_us above)
            "latency_from_write_us": _percentiles(sorted(x for t in lat for x in t["from_write_ns"])),
            "client_send_lag_us": _percentiles(sorted(x for t in lat for x in t["send_lag_ns"])),
            # the same orders to their first report's arrival in the client's socket (the
            # kernel's receive timestamp; C client only, else NaN), from scheduled and from
            # written (the venue's part alone), and how long the client took from there to
            # read it: its own wake-up on receipt, in latency_us above
            "latency_to_arrival_us": _percentiles(sorted(x for t in lat for x in t.get("to_arrival_ns", []))),
            "latency_write_to_arrival_us": _percentiles(
                sorted(x for t in lat for x in t.get("write_to_arrival_ns", []))),
            "client_read_lag_us": _percentiles(sorted(x for t in lat for x in t.get("read_lag_ns", []))),
            "sent": sum(t["sent"] for t in lat),
            "unanswered": sum(t["unanswered"] for t in lat),
            "rejects": sum(t["rejects"] for t in lat),
            "max_send_lag_at_end_us": round(max(t["send_lag_at_end_us"] for t in lat), 1),
            "client_wakeups": sum(t["wakeups"] for t in lat),
            "client_cpu_s": round(sum(t["cpu_user_s"] + t["cpu_sys_s"] for t in lat), 2),
            "cpu_cores_used": lat_cpu[k],
            "batches": lat_batches[k],
            "writer_settle": settles[k],
            "writer_lag_records_at_end": lat_lags[k],
            "realtime_budget": rt_watch[k],  # --watch-rt (None: not asked for, or not readable)
        })
    if args.trace:  # every measured order of the first latency phase, in scheduled order
        # (monotonic_ms: the scheduled time on CLOCK_MONOTONIC, to line up with other traces,
        # e.g. `perf record -k CLOCK_MONOTONIC`)
        rows = sorted((sched, i, lat, done[i]["latency"][0]["trace_origin_ns"] + sched)
                      for i in sorted(done) for sched, lat in done[i]["latency"][0]["trace"])
        Path(args.trace).write_text("client,scheduled_ms,latency_us,monotonic_ms\n" + "".join(
            f"{i},{sched / 1e6:.3f},{lat / 1e3:.1f},{mono / 1e6:.3f}\n" for sched, i, lat, mono in rows))
    orders = sum(t["orders"] for t in thr)
    thr_lat = sorted(x for t in thr for x in t["latency_ns"])
    out = {
        "bench": "e2e",
        "orders_per_sec": round(orders / args.duration, 1),
        "latency_us": phases[0]["latency_us"],
        "latency_from_write_us": phases[0]["latency_from_write_us"],
        "client_send_lag_us": phases[0]["client_send_lag_us"],
        "rate": args.rate,
        "duration_s": args.duration,
        "latency_duration_s": args.lat_duration,
        "orders": orders,
        "rejects": sum(t["rejects"] for t in thr),
        "cancels_per_sec": round(sum(t["cancels"] for t in thr) / args.duration, 1),
        "throughput_window_per_client": args.window,
        "throughput_latency_us": {"p50": pct(thr_lat, 0.5), "p99": pct(thr_lat, 0.99)},
        "latency_phases": phases,
        "unanswered_throughput": sum(t["unanswered"] for t in thr),
        # event records not yet in PostgreSQL: the writer keeps up if these stay small
        "writer_lag_records": {"end_of_throughput": lag_after_throughput, "end": lag_at_end},
        "fills": sum(done[i]["fills"] for i in done),
        "cancel_rejects": sum(done[i]["cancel_rejects"] for i in done),
        "reject_texts": _summed(done[i]["reject_texts"] for i in sorted(done)),
        "batches_throughput": {
            "gateway_commands_per_batch": _ratio(m1, m2, "venue_gateway_commands_total", "venue_gateway_command_batches_total"),
            "engine_commands_per_record": _ratio(m1, m2, "venue_engine_commands_total", "venue_engine_command_records_total"),
        },
        "cpu_us_per_request_throughput": {  # core-microseconds per order-or-cancel, per component
            k: round(v * 1e6 / max(1.0, (orders + sum(t["cancels"] for t in thr)) / args.duration), 1)
            for k, v in cpu_delta(cpu1, cpu2, t2 - t1).items()
        },
        "cpu_cores_used": {
            "throughput": cpu_delta(cpu1, cpu2, t2 - t1),
            "latency": lat_cpu[0],
        },
        # the venue's CPU per request in units of the load clients' (the same code in every
        # run): comparable across runs on a machine whose speed drifts, and across machines
        "venue_cpu_per_request_in_client_units": _in_client_units(cpu_delta(cpu1, cpu2, t2 - t1)),
        "env": {
            "fix_store": args.store,
            "code": args.code or str(ROOT),
            "sessions": [s["sender"] for s in sessions],
            "client_processes": len(sessions), "client": client, "pacing": args.pacing, "engine_in_gateway": not args.engine_service,
            "scheduling": scheduling,
            "scheduling_latency_clients": latency_scheduling,
            "client_priority": args.client_priority, "latency_client_priority": args.latency_client_priority,
            "cpus": os.cpu_count(),
            "pin": {"spec": args.pin, "threads": pinned} if args.pin else None,
            "machine": machine,  # bench/machine.py: what a message between processes costs here
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "python": platform.python_version(),
            "platform": platform.platform(),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "note": "NATS, PostgreSQL, engine, writer, gateway and clients all on this machine; "
                    "latency from scheduled send to first ExecutionReport",
        },
        "leftover_processes": left,
    }
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        out["env"]["tmp"] = str(tmp)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.e2e")
    p.add_argument("--json", action="store_true", help="print the JSON result (default: also a summary)")
    p.add_argument("--quick", action="store_true", help="short phases: under a minute in all")
    p.add_argument("--store", choices=["postgres", "memory"], default="postgres")
    p.add_argument("--sessions", type=int, default=1, help="FIX sessions (client processes) per firm")
    p.add_argument("--window", type=int, default=400, help="orders awaiting their first ER, per client")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--rate", type=float, default=5000.0, help="open-loop orders/s over all clients")
    p.add_argument("--extra-rates", type=float, nargs="*", default=[], help="more open-loop phases (orders/s)")
    p.add_argument("--lat-warmup", type=float, default=2.0)
    p.add_argument("--lat-duration", type=float, default=15.0)
    p.add_argument("--engine-service", action="store_true",
                   help="engine.in_gateway = false: the engine as a service of its own (the default runs it in the gateway's process)")
    p.add_argument("--order-path", choices=["realtime", "normal"], default="realtime",
                   help="the venue's scheduling.order_path (normal: also for a source tree older than the key)")
    p.add_argument("--client-priority", type=int, default=5,
                   help="the load clients' SCHED_FIFO priority in the throughput phase, below the venue's order path (10); 0: normal")
    p.add_argument("--latency-client-priority", type=int, default=5,
                   help="the load clients' SCHED_FIFO priority in the latency phases, below the venue's order "
                        "path (10); 0: normal (they then wait behind the venue's realtime gateway on the CPU "
                        "its reports wake them on)")
    p.add_argument("--guest-halt-poll-ns", type=int, default=None,
                   help="in a VM with the haltpoll cpuidle driver: its guest_halt_poll_ns for the run (root; the "
                        "machine's value is restored after); default: leave the machine as it is")
    p.add_argument("--pacing", choices=["exact", "ms"], default="exact",
                   help="latency phases: wake at each order's scheduled time (a timerfd), or every >= 1 ms (uvloop's timers)")
    p.add_argument("--client", choices=["c", "python"], default="c",
                   help="latency phases with --pacing exact: the load client's loop in C (bench._fixload) or in Python (asyncio)")
    p.add_argument("--max-resting", type=int, default=2000,
                   help="resting orders per client before it cancels the oldest (keep it well above --window)")
    p.add_argument("--pin", default="",
                   help="experiment: CPU affinity per component for the whole run, e.g. "
                        "gateway=0,nats=0,postgres=1,writer=1,clients=1 (see the module docs)")
    p.add_argument("--code", help="source tree to run the venue from (PYTHONPATH)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("--settle-timeout", type=float, default=60.0,
                   help="before each latency phase, wait at most this long for the persistence writer "
                        "to store what the phases before left it (0: start at once)")
    p.add_argument("--watch-rt", action="store_true",
                   help="sample the kernel's realtime budget per CPU during the latency phases (root, debugfs): "
                        "whether the realtime tasks were throttled")
    p.add_argument("--trace", help="write each measured order of the first latency phase here (CSV: client, scheduled ms, latency us)")
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.duration, args.lat_warmup, args.lat_duration = 2.0, 8.0, 1.0, 8.0
    with guest_halt_polling(args.guest_halt_poll_ns):
        result = run(args)
        result["env"]["guest_halt_poll_ns"] = guest_halt_poll_ns()  # (None: not a haltpoll VM)
    text = json.dumps(result, indent=2)
    print(text if args.json else json.dumps({k: result[k] for k in ("orders_per_sec", "latency_us", "latency_from_write_us", "rate", "rejects")}))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
