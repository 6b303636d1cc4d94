"""``FastParser`` against nats-py's own parser: the same protocol stream, cut anywhere, makes
the same calls on the client in the same order; a direct handler takes what it accepts and
nothing else."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.errors import ProtocolError
from nats.protocol.parser import Parser

from venue.bus.nats_parser import FastParser, read_inline


class Recorder:
    """The client methods a parser calls, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._subs: dict[int, object] = {}

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> None:
        self.calls.append(("msg", sid, bytes(subject), bytes(reply), bytes(data), None if hdr is None else bytes(hdr)))

    async def _process_ping(self) -> None:
        self.calls.append(("ping",))

    async def _process_pong(self) -> None:
        self.calls.append(("pong",))

    async def _process_err(self, text: str) -> None:
        self.calls.append(("err", text))

    async def _process_info(self, info: dict[str, Any]) -> None:
        self.calls.append(("info", info))


token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-$>*", min_size=1, max_size=12)
subject = st.lists(token, min_size=1, max_size=4).map(".".join)
payload = st.binary(max_size=64) | st.sampled_from([b"\r\n", b"MSG x 1 2\r\n", b"PING\r\n"])
header = st.lists(st.tuples(token, token), max_size=3).map(
    lambda kv: b"NATS/1.0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in kv) + b"\r\n"
) | st.sampled_from([b"NATS/1.0 503\r\n\r\n", b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Stream: 7\r\n\r\n"])


@st.composite
def operation(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["msg", "hmsg", "ok", "ping", "pong", "info", "err"]))
    if kind in ("msg", "hmsg"):
        sid = draw(st.integers(1, 99))
        reply = draw(st.none() | subject)
        data = draw(payload)
        head = f"{draw(subject)} {sid}" + (f" {reply}" if reply else "")
        if kind == "msg":
            return f"MSG {head} {len(data)}\r\n".encode() + data + b"\r\n"
        hdr = draw(header)
        return f"HMSG {head} {len(hdr)} {len(hdr) + len(data)}\r\n".encode() + hdr + data + b"\r\n"
    if kind == "ok":
        return b"+OK\r\n"
    if kind == "ping":
        return b"PING\r\n"
    if kind == "pong":
        return b"PONG\r\n"
    if kind == "info":
        info = draw(st.dictionaries(token, st.integers() | token, max_size=3))
        return b"INFO " + json.dumps(info).encode() + b"\r\n"
    return b"-ERR '" + draw(token).encode() + b"'\r\n"


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(stream) + 1) for p in points})
    return [stream[a:b] for a, b in zip([0, *marks], [*marks, len(stream)], strict=True)]


@st.composite
def reads(draw: st.DrawFn, ops: int = 12, cuts: int = 8) -> list[bytes]:
    """A protocol stream of random operations, cut into reads at random places."""
    stream = b"".join(draw(st.lists(operation(), max_size=ops)))
    return cut(stream, draw(st.lists(st.integers(0, 10_000), max_size=cuts)))


async def feed(parser: Parser, chunks: list[bytes]) -> None:
    for chunk in chunks:
        await parser.parse(chunk)


def nats_py_calls(chunks: list[bytes]) -> list[tuple[Any, ...]]:
    """What nats-py's own parser calls on the client for these reads."""
    theirs = Recorder()
    asyncio.run(feed(Parser(theirs), chunks))
    return theirs.calls


def even_taker(into: list[tuple[Any, ...]]) -> Callable[[bytes, bytes, bytes, bytes | None], bool]:
    """A direct handler for sid 7 that takes messages of even length (into ``into``, as the
    client would record them) and declines the others."""

    def handler(subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> bool:
        if len(data) % 2:
            return False
        into.append(("msg", 7, subject, reply, data, hdr))
        return True

    return handler


@settings(max_examples=300, deadline=None)
@given(reads())
def test_the_same_calls_as_nats_py_wherever_the_reads_end(chunks: list[bytes]) -> None:
    ours = Recorder()
    asyncio.run(feed(FastParser(ours), chunks))
    assert ours.calls == nats_py_calls(chunks)


@settings(max_examples=200, deadline=None)
@given(reads())
def test_a_direct_handler_takes_what_it_accepts_and_nothing_else(chunks: list[bytes]) -> None:
    theirs = nats_py_calls(chunks)
    ours = Recorder()
    sub = object()
    ours._subs = {7: sub, 8: object()}
    taken: list[tuple[Any, ...]] = []
    parser = FastParser(ours)
    parser.add_direct(sub, even_taker(taken))
    asyncio.run(feed(parser, chunks))
    expected_taken = [c for c in theirs if c[0] == "msg" and c[1] == 7 and len(c[4]) % 2 == 0]
    assert taken == expected_taken
    assert ours.calls == [c for c in theirs if c not in expected_taken or c[1] != 7]


def test_a_handler_follows_its_subscription_to_a_new_sid() -> None:
    nc = Recorder()
    sub = object()
    nc._subs = {3: sub}
    got: list[bytes] = []
    parser = FastParser(nc)

    def take(s: bytes, r: bytes, d: bytes, h: bytes | None) -> bool:
        got.append(d)
        return True

    parser.add_direct(sub, take)
    asyncio.run(parser.parse(b"MSG a 3 1\r\nx\r\n"))
    nc._subs = {9: sub}  # (nats-py re-created the ordered consumer under a new sid)
    asyncio.run(parser.parse(b"MSG a 9 1\r\ny\r\nMSG a 3 1\r\nz\r\n"))
    parser.remove_direct(sub)
    asyncio.run(parser.parse(b"MSG a 9 1\r\nw\r\n"))
    assert got == [b"x", b"y"]
    assert [c[4] for c in nc.calls] == [b"z", b"w"]


@pytest.mark.parametrize("line", [b"BOGUS\r\n", b"MSG a b 1\r\nx\r\n", b"HMSG a 1 x 2\r\nxx\r\n", b"MSG a\r\n"])
def test_a_malformed_line_is_a_protocol_error_as_in_nats_py(line: bytes) -> None:
    for parser in (Parser(Recorder()), FastParser(Recorder())):
        with pytest.raises(ProtocolError):
            asyncio.run(parser.parse(line))


def test_a_reset_drops_what_was_left_of_the_old_connection() -> None:
    nc = Recorder()
    parser = FastParser(nc)
    asyncio.run(parser.parse(b"MSG a 1 5\r\nab"))
    parser.reset()
    asyncio.run(parser.parse(b"PING\r\n"))
    assert nc.calls == [("ping",)]


class YieldingRecorder(Recorder):
    """A client whose handlers wait a little (as nats-py's may), so reads arrive meanwhile."""

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> None:
        await asyncio.sleep(0)
        await super()._process_msg(sid, subject, reply, data, hdr)

    async def _process_ping(self) -> None:
        await asyncio.sleep(0)
        await super()._process_ping()


async def read_like_nats_py(parser: FastParser, chunks: list[bytes]) -> None:
    """A connection's reads through a real ``asyncio.StreamReader`` with ``read_inline`` on it,
    and nats-py's read loop (``Client._read_loop``) taking what is left."""
    reader = asyncio.StreamReader()
    nc = parser.nc
    nc._ps = parser
    nc._transport = type("Transport", (), {"_io_reader": reader})()
    assert read_inline(nc)

    async def feeder() -> None:
        for chunk in chunks:
            reader.feed_data(chunk)  # (what the connection's data_received does)
            await asyncio.sleep(0)
        reader.feed_eof()

    async def read_loop() -> None:
        while not reader.at_eof():
            await parser.parse(await reader.read(32768))

    await asyncio.gather(feeder(), read_loop())


@settings(max_examples=300, deadline=None)
@given(reads(ops=14, cuts=10))
def test_taken_inline_in_the_same_order_as_nats_py_reads_it(chunks: list[bytes]) -> None:
    ours = YieldingRecorder()
    sub = object()
    ours._subs = {7: sub}
    parser = FastParser(ours)
    parser.add_direct(sub, even_taker(ours.calls))  # (in the same list: the order counts)
    asyncio.run(read_like_nats_py(parser, chunks))
    assert ours.calls == nats_py_calls(chunks)
