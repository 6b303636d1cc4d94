"""The load client's latency phase in C (``bench._fixload``, through ``bench.e2e.latency_phase_c``)
against a fake venue: a thread on the other end of a ``socket.socketpair()`` that reads with the
project's full codec (``Framer``, ``parse``: BodyLength and CheckSum checked), compares every
message with what the Python client (``_Writer``) writes for the same ClOrdID, price, time and
MsgSeqNum, and answers with reports written in random chunks (frames split across reads, several
per read), pausing its reads now and then so that the client's writes meet a full socket.
"""

from __future__ import annotations

import random
import re
import select
import socket
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from bench.e2e import _REFS, FIRM_SHAPES, SHAPES, _Load, _pieces, _Writer, latency_phase_c
from fix_gateway.codec import Framer, GarbledMessage, encode, parse
from fix_gateway.session.times import parse_utc

if TYPE_CHECKING:
    from bench._fixload import Phase

SESS = {"begin": "FIXT.1.1", "sender": "BE%dTA", "username": "b", "password": "p", "account": "B%s-1", "firm": "1"}
LONG = "order would exceed the account's limit: " + "x" * 40  # counted by its first 60 characters
RATE, SECONDS, WARMUP = 2000.0, 0.2, 0.05


class FakeVenue(threading.Thread):
    """Reads the client's messages, checks them, answers orders by a plan per order (by its
    number n), cancels by its book, and records what it sent as the client should see it."""

    def __init__(self, sock: socket.socket, load: _Load, known: set[bytes], seed: int = 7) -> None:
        super().__init__(daemon=True)
        self.sock, self.load, self.rng = sock, load, random.Random(seed)
        self.writer = _Writer(SESS["begin"], SESS["sender"], SESS["account"])  # the reference bytes
        self.book = set(known)  # orders resting here
        self.shape: dict[bytes, int] = {}  # ClOrdID -> shape, of the orders seen
        self.silent: set[bytes] = set()  # orders never answered
        self.received: list[Any] = []  # every message, parsed
        self.seqs: list[int] = []
        self.expected: Counter[str] = Counter()  # what the client should count
        self.texts: Counter[str] = Counter()
        self.first_reports: set[bytes] = set()
        self.client_live: dict[bytes, bool] = {}  # the client's view, by the reports sent
        self.errors: list[str] = []
        self.pending = bytearray()
        self.seq = 1
        self.stop = threading.Event()
        self.tail: tuple[bytes, bytes] = (b"", b"")  # 50 ms after this order came: these bytes
        self.tail_at = 0.0
        self.pause_at = 150  # stop reading for a while after this many messages

    # ------------------------------------------------------------------ output
    def send(self, kind: str, fields: list[tuple[int, Any]]) -> None:
        self.pending += encode(SESS["begin"], kind, [(49, "VENUE"), (56, SESS["sender"]), (34, self.seq),
                                                      (52, b"20261122-00:00:00.000"), *fields])
        self.seq += 1

    def report(self, cl: bytes, et: str, st: str, *more: tuple[int, Any], adjacent: bool = True) -> None:
        first = cl not in self.first_reports and cl not in self.silent and cl in self.shape
        body = [(37, b"1"), (11, cl), (150, et), (39, st)] if adjacent else [(150, et), (37, b"1"), (11, cl), (39, st)]
        self.send("8", [*body, *more])
        orig = dict(more).get(41)
        if first:  # the client's rules, on what it will read
            self.first_reports.add(cl)
            self.expected["answered"] += 1
            if et == "8":
                self.expected["rejects"] += 1
                self.texts[dict(more)[58].decode("latin-1")[:60]] += 1
            elif st == "0":
                self.client_live[cl] = True
            return
        if et == "F":
            self.expected["fills"] += 1
            if st == "2":
                self.client_live[cl] = False
        elif et == "4":
            self.expected["cancel_acks"] += 1
            self.client_live[orig or cl] = False

    def flush(self) -> None:
        """Writes what is pending in random chunks, sometimes pausing between them."""
        while self.pending:
            n = self.rng.choice([1, 7, 40, 90, 200, 1000, 5000])
            self.sock.sendall(self.pending[:n])
            del self.pending[:n]
            if self.rng.random() < 0.05:
                time.sleep(0.0003)

    # ------------------------------------------------------------------ input
    def run(self) -> None:
        framer = Framer()
        try:
            while not self.stop.is_set():
                if 0 <= self.pause_at <= len(self.received) or self.rng.random() < 0.002:
                    self.pause_at = -1
                    time.sleep(0.05)  # not reading: the client's writes meet a full socket
                if select.select([self.sock], [], [], 0.005)[0]:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    framer.feed(data)
                    while (frame := framer.next_frame()) is not None:
                        self.on_message(frame)
                if self.tail_at and time.monotonic() > self.tail_at:
                    self.pending += self.tail[1]
                    self.tail_at = 0.0
                self.flush()
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))

    def on_message(self, frame: bytes) -> None:
        msg = parse(frame)  # BodyLength, CheckSum

        def get(tag: int) -> bytes:
            value = msg.get(tag)
            assert value is not None, (tag, frame)
            return value

        self.received.append(msg)
        self.seqs.append(int(get(34)))
        w = self.writer
        w.seq, w.out = int(get(34)), []
        when = parse_utc(get(52)) or 0
        w._ms, w.clock = -1, lambda: when
        if msg.msg_type in (b"D", b"F") and get(52) != get(60):
            self.errors.append(f"52 != 60: {frame!r}")
        if msg.msg_type == b"D":
            cl = get(11)
            n = int(cl.split(b"-")[1])
            shape = FIRM_SHAPES[1][n & 1]
            price = get(44)
            cents = int(price.replace(b".", b""))
            if not re.fullmatch(rb"\d+\.\d\d", price) or abs(cents - _REFS[shape]) > _REFS[shape] * 0.02:
                self.errors.append(f"price {price!r} for shape {shape}")
            w.order(cl, shape, cents)
            if b"".join(w.out) != frame:
                self.errors.append(f"order {frame!r} != {b''.join(w.out)!r}")
            self.shape[cl] = shape
            self.answer(cl, n)
            if cl == self.tail[0]:
                self.tail_at = time.monotonic() + 0.05
        elif msg.msg_type == b"F":
            orig = get(41)
            w.cancel(orig, self.shape[orig])
            if b"".join(w.out) != frame or get(11) != orig + b"x":
                self.errors.append(f"cancel {frame!r} != {b''.join(w.out)!r}")
            self.expected["cancels"] += 1
            if orig in self.book:
                self.book.discard(orig)
                self.report(get(11), "4", "4", (41, orig))
            else:
                self.send("9", [(11, get(11)), (41, orig), (39, b"8"), (434, b"1"), (58, b"unknown order")])
                self.expected["cancel_rejects"] += 1
                self.texts["cancel: unknown order"] += 1
        elif msg.msg_type == b"0":
            w.queue("0", [(112, get(112))])
            if b"".join(w.out) != frame:
                self.errors.append(f"heartbeat {frame!r} != {b''.join(w.out)!r}")
            self.expected["heartbeats"] += 1
        else:
            self.errors.append(f"unexpected {frame!r}")

    def answer(self, cl: bytes, n: int) -> None:
        """Every branch of the client's reader, by n."""
        if cl in self.silent:
            return
        how = n % 9
        if how == 0:
            self.report(cl, "8", "8", (58, LONG.encode()))  # rejected
        elif how == 1:
            self.report(cl, "0", "0", adjacent=False)  # New, read field by field
            self.book.add(cl)
        elif how == 2:  # New, a partial fill, the rest: done
            self.report(cl, "0", "0")
            self.report(cl, "F", "1", (31, b"1"))
            self.report(cl, "F", "2", (31, b"1"))
        elif how == 3:
            self.report(cl, "F", "2")  # filled at once (a first report: not a fill, not live)
        elif how == 4:  # New, then cancelled by the venue (no OrigClOrdID)
            self.report(cl, "0", "0")
            self.report(cl, "4", "4")
        elif how == 5:  # New, a TestRequest, a Logon, a Reject(3): only the first is answered
            self.report(cl, "0", "0")
            self.book.add(cl)
            self.send("1", [(112, b"TEST%d" % n)])
            self.send("A", [(98, b"0"), (108, b"30")])
            self.send("3", [(45, b"1"), (58, b"x")])
        elif how == 6:
            self.report(cl, "8", "8", (58, b"no such instrument"))
        else:
            self.report(cl, "0", "0")  # New, rests
            self.book.add(cl)


def run_phase(load: _Load, venue: FakeVenue, client: socket.socket, total: int, measure_from: int,
              drain: float = 0.3) -> Phase:
    t0 = time.perf_counter_ns() + 2_000_000
    return latency_phase_c(load, client.fileno(), t0, 1e9 / RATE, total, measure_from, True, drain=drain)


def test_a_phase_does_what_the_python_client_does() -> None:
    client, other = socket.socketpair()
    client.setblocking(False)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # fills while the venue pauses
    other.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    load = _Load(SESS, 3, max_resting=6)
    # left from the throughput phase: live or not, known to the venue or not
    load.resting.extend([(b"T3-1", 0), (b"T3-2", 3), (b"T3-3", 0), (b"T3-4", 3)])
    load.live = {b"T3-1", b"T3-3", b"T3-4"}
    load.n, load.seq, load.fills, load.reject_texts = 4, 1000, 5, {"earlier": 2}
    venue = FakeVenue(other, load, known={b"T3-3"})
    venue.shape.update({b"T3-1": 0, b"T3-2": 3, b"T3-3": 0, b"T3-4": 3})
    venue.client_live.update({cl: True for cl in load.live})
    total, measure_from = int(RATE * SECONDS), int(RATE * WARMUP)
    venue.silent = {b"L3-%d" % (4 + total - 1), b"L3-%d" % (4 + total)}  # the last two: unanswered
    load._rest = partial = encode(SESS["begin"], "0", [(49, "VENUE"), (56, "X"), (34, 1), (52, b"1")])[:20]
    venue.pending += encode(SESS["begin"], "0", [(49, "VENUE"), (56, "X"), (34, 1), (52, b"1")])[20:]
    # a partial frame at the end of the first phase, completed in the second
    tail = encode(SESS["begin"], "0", [(49, "VENUE"), (56, "X"), (34, 2), (52, b"2")])
    venue.tail = (b"L3-%d" % (4 + total), tail[:25])
    venue.start()
    try:
        t = time.monotonic()
        r = run_phase(load, venue, client, total, measure_from, drain=0.5)
        elapsed = time.monotonic() - t
        elapsed_ns = int(elapsed * 1e9)  # every figure of the phase is inside it (a VM stall is not garbage)
        assert r["rest"] == load._rest == tail[:25]
        venue.pending += tail[25:]
        second = run_phase(load, venue, client, 40, 0, drain=5)  # the state carries over
        end = time.monotonic() + 5
        while len(venue.seqs) < load.seq - 1000 and time.monotonic() < end:  # (the last writes)
            time.sleep(0.01)
    finally:
        venue.stop.set()
        venue.join(5)
    assert venue.errors == []
    e = venue.expected

    # what went out: every message parses, MsgSeqNum gap-free from the one handed in
    assert venue.seqs == list(range(1000, load.seq))
    assert e["heartbeats"] == sum(1 for n in range(5, 5 + total + 40) if n % 9 == 5 and b"L3-%d" % n not in venue.silent)
    orders = [m.get(11) for m in venue.received if m.msg_type == b"D"]
    assert orders == [b"L3-%d" % n for n in range(5, 5 + total + 40)] and load.n == 4 + total + 40
    assert r["sent"] == total and r["measured"] == total - measure_from and second["sent"] == 40

    # what came back, counted as the client counts it
    assert r["unanswered"] == 2 and set(r["awaiting"]) == venue.silent
    assert second["unanswered"] == 0 and load.sent == {}
    assert r["rejects"] + second["rejects"] == e["rejects"] > 0
    assert r["fills"] + second["fills"] == e["fills"] > 0 and load.fills == 5 + e["fills"]
    assert r["cancel_acks"] + second["cancel_acks"] == e["cancel_acks"] > 0
    assert r["cancels_sent"] + second["cancels_sent"] == e["cancels"] == load.cancels_sent > 0
    assert r["cancel_rejects"] + second["cancel_rejects"] == e["cancel_rejects"] == load.cancel_rejects > 0
    assert load.reject_texts == dict(venue.texts + Counter({"earlier": 2}))
    assert LONG[:60] in load.reject_texts and "cancel: unknown order" in load.reject_texts
    # the first cancels: the oldest live ones of those handed in, T3-2 dropped (not live)
    cancels = [m.get(41) for m in venue.received if m.msg_type == b"F"]
    assert cancels[:3] == [b"T3-1", b"T3-3", b"T3-4"]
    assert all(venue.client_live.get(cl) is not None for cl in cancels)  # each was live
    assert [int(cl[3:]) for cl in cancels[3:]] == sorted(int(cl[3:]) for cl in cancels[3:])

    # measured: the answered orders scheduled from measure_from on, consistent figures
    answered = {b"L3-%d" % (5 + i) for i in range(measure_from, total)} - venue.silent
    assert len(r["latency_ns"]) == len(r["from_write_ns"]) == len(r["send_lag_ns"]) == len(answered)
    for lat, fw, lag in zip(r["latency_ns"], r["from_write_ns"], r["send_lag_ns"], strict=True):
        assert lat == fw + lag and 0 < fw < elapsed_ns and 0 <= lag < elapsed_ns
    # the kernel's receive timestamps: arrival splits each latency into the venue's part and
    # the client's read lag, to the nanosecond
    assert len(r["to_arrival_ns"]) == len(r["write_to_arrival_ns"]) == len(r["read_lag_ns"]) == len(answered)
    for lat, fw, arr, warr, rl in zip(r["latency_ns"], r["from_write_ns"], r["to_arrival_ns"],
                                      r["write_to_arrival_ns"], r["read_lag_ns"], strict=True):
        assert arr + rl == lat and warr + rl == fw and rl >= 0 and 0 < warr <= fw
    assert [lat for _, lat in r["trace"]] == r["latency_ns"]
    scheds = [s for s, _ in r["trace"]]
    assert min(scheds) >= 0 and max(scheds) < (total - measure_from) * 1e9 / RATE
    assert 1 <= r["wakeups"] <= total + 1 and r["send_lag_at_end_us"] >= 0
    assert r["blocked_writes"] > 0  # while the venue paused: all went out later, in order
    assert len(second["latency_ns"]) == 40 and second["trace"]
    assert SECONDS + 0.5 < elapsed < SECONDS + 0.5 + 1.0  # the drain waited for the silent two, not longer

    # the state handed back: the queue in order, live as the reports said, the partial frame
    resting = [cl for cl, _ in load.resting]
    everything = [b"T3-%d" % n for n in range(1, 5)] + orders
    assert resting == everything[len(everything) - len(resting):]
    assert load.live == {cl for cl in resting if venue.client_live.get(cl)}
    assert partial and second["rest"] == load._rest == b""
    assert r["unsent"] == second["unsent"] == b""
    assert load.prng == second["prng"] != r["prng"]


def test_a_bad_checksum_raises() -> None:
    client, other = socket.socketpair()
    client.setblocking(False)
    good = encode(SESS["begin"], "0", [(49, "VENUE"), (56, "X"), (34, 1), (52, b"1")])
    other.sendall(good + good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256))
    load = _Load(SESS, 0, 10)
    with pytest.raises(GarbledMessage, match="CheckSum"):
        latency_phase_c(load, client.fileno(), time.perf_counter_ns(), 1e6, 10, 0, False, drain=1)


def test_a_frame_not_where_its_body_length_says_raises() -> None:
    client, other = socket.socketpair()
    client.setblocking(False)
    good = encode(SESS["begin"], "0", [(49, "VENUE"), (56, "X"), (34, 1), (52, b"1")])
    other.sendall(good.replace(b"9=", b"9=9", 1) + good)
    with pytest.raises(GarbledMessage, match="BodyLength"):
        latency_phase_c(_Load(SESS, 0, 10), client.fileno(), time.perf_counter_ns(), 1e6, 10, 0, False, drain=1)


def test_the_peer_closing_raises_at_once() -> None:
    client, other = socket.socketpair()
    client.setblocking(False)
    threading.Timer(0.05, other.close).start()
    t = time.monotonic()
    with pytest.raises(ConnectionError):
        latency_phase_c(_Load(SESS, 0, 10), client.fileno(), time.perf_counter_ns(), 1e7, 1000, 0, False, drain=5)
    assert time.monotonic() - t < 1


def test_no_answer_ends_with_the_drain() -> None:
    client, other = socket.socketpair()
    client.setblocking(False)
    load = _Load(SESS, 0, 10)
    t = time.monotonic()
    r = latency_phase_c(load, client.fileno(), time.perf_counter_ns(), 1e7, 5, 0, False, drain=0.2)
    assert 0.2 < time.monotonic() - t < 1
    assert r["unanswered"] == 5 and r["latency_ns"] == [] and list(load.sent) == [b"L0-%d" % n for n in range(1, 6)]
    assert len(other.recv(65536)) > 5 * 100


def test_bad_arguments_raise() -> None:
    from bench._fixload import latency_phase

    client, _other = socket.socketpair()
    load = _Load(SESS, 0, 10)
    load.resting.extend([(b"T0-1", 0), (b"T0-1", 1)])
    with pytest.raises(ValueError, match="twice"):
        latency_phase_c(load, client.fileno(), time.perf_counter_ns(), 1e6, 1, 0, False)
    load.resting.clear()
    load.n = -1
    with pytest.raises(ValueError, match="out of range"):
        latency_phase_c(load, client.fileno(), time.perf_counter_ns(), 1e6, 1, 0, False)
    with pytest.raises(TypeError):
        latency_phase(fd=client.fileno())  # type: ignore[call-arg]


def test_template_pieces() -> None:
    assert _pieces(b"a%%d%db%s%%%sc") == (b"a%d", b"b", b"%", b"c")
    w = _Writer("FIX.4.4", "A%dB", "X")
    assert _pieces(w._orders[0])[0] == b"35=D\x0149=A%dB\x0156=VENUE\x0134="
    assert [len(_pieces(t)) for t in w._orders] == [7] * len(SHAPES)
    assert [len(_pieces(t)) for t in w._cancels] == [6] * len(SHAPES)


def test_client_c_without_the_extension_says_how_to_build_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import sys

    from bench.e2e import client_kind

    assert client_kind(argparse.Namespace(client="python", pacing="exact")) == "python"
    assert client_kind(argparse.Namespace(client="c", pacing="ms")) == "python"
    assert client_kind(argparse.Namespace(client="c", pacing="exact")) == "c"
    monkeypatch.setitem(sys.modules, "bench._fixload", None)  # (import fails)
    with pytest.raises(SystemExit, match="make install-dev"):
        client_kind(argparse.Namespace(client="c", pacing="exact"))
