"""A faster drop-in for nats-py's protocol parser (``nats.protocol.parser.Parser``).

nats-py parses what the server sends with a run of regular expressions tried in turn at
the front of a ``bytearray``, deleting each message from the front once parsed (a copy of
everything behind it), and hands every message to ``Client._process_msg``, which builds a
``Msg`` with its headers parsed into a dict. In the gateway that is the acknowledgement of
each command batch and the delivery of each command record to the engine, every few hundred
microseconds.

``FastParser`` reads the same protocol by offsets: one search for the line end, the
operation told by its first bytes, the arguments split once, the buffer cut once per read.
Every operation goes where nats-py's parser sends it (``_process_msg``, ``_process_ping``,
``_process_pong``, ``_process_err``, ``_process_info``), with the same arguments, so
subscriptions, JetStream's ordered consumers and flow control, reconnects and errors stay
nats-py's. The exception is a subscription given a direct handler (``add_direct``): its
messages are offered to the handler first, as ``(subject, reply, data, headers)`` bytes
without a ``Msg`` or a header dict, and go to ``_process_msg`` only if it declines them
(the bus's acknowledgement inbox and its readers' deliveries: ``venue.bus.jetstream``).
Handlers are kept by subscription object, not by sid: an ordered consumer that nats-py
re-creates keeps its subscription under a new sid. A malformed control line raises
nats-py's ``ProtocolError``, as nats-py's parser does (its read loop then reconnects).

nats-py reads the socket in a task (``Client._read_loop``) fed by an ``asyncio.StreamReader``:
every read wakes that task in a later step of the event loop. ``read_inline`` lets the parser
take what the socket brings as it arrives (``parse_now``, from the connection's
``data_received``), as long as everything in it can be handled without waiting (the direct
handlers' messages, ``+OK``): no task is woken for it. From the first operation that needs
nats-py on, the bytes go to the reader's buffer as before, and nothing more is taken
inline until the read loop has worked the buffer off, so the order is kept.

``tests/unit/venue/test_nats_parser.py`` feeds random protocol streams, cut at random
places, to both parsers (and inline, with the read loop taking what is left) and requires
the same calls in the same order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nats.errors import ProtocolError
from nats.protocol.parser import MAX_CONTROL_LINE_SIZE, Parser

# (subject, reply, data, raw headers or None) -> handled; False: nats-py's _process_msg takes it
DirectHandler = Callable[[bytes, bytes, bytes, bytes | None], bool]

_CRLF = b"\r\n"


class FastParser(Parser):
    """nats-py's ``Parser`` interface (``parse``, ``reset``), read by offsets; ``parse_now``
    for what needs no waiting."""

    def __init__(self, nc: Any = None) -> None:
        self._direct: dict[Any, DirectHandler] = {}
        self.busy = False  # in ``parse`` (which may be waiting in nats-py)
        super().__init__(nc)

    def add_direct(self, sub: Any, handler: DirectHandler) -> None:
        """Offer messages to nats-py subscription ``sub`` to ``handler`` first (what nats-py
        would record for a message it handles, the handler records itself)."""
        self._direct[sub] = handler

    def remove_direct(self, sub: Any) -> None:
        self._direct.pop(sub, None)

    def reset(self) -> None:
        super().reset()
        self._rest = b""
        self._generation = getattr(self, "_generation", 0) + 1  # (a reset during an await)

    async def parse(self, data: bytes = b"") -> None:
        buf = self._rest + data if self._rest else data
        self._rest = b""
        pos = 0
        generation = self._generation
        nc = self.nc
        self.busy = True
        try:
            while True:
                pos, op = self._scan(buf, pos)
                if op is None:
                    break
                kind, pos, args = op
                if kind == "msg":
                    await nc._process_msg(*args)
                elif kind == "ping":
                    await nc._process_ping()
                elif kind == "pong":
                    await nc._process_pong()
                elif kind == "err":
                    await nc._process_err(*args)
                elif kind == "info":
                    await nc._process_info(json.loads(args[0]))
                else:
                    pos = len(buf)  # (nothing is left for a reconnect to trip over again)
                    raise ProtocolError(*args)
        finally:
            self.busy = False
            if pos < len(buf) and generation == self._generation:
                self._rest = buf[pos:]

    def parse_now(self, data: bytes) -> bytes:
        """Handle what ``data`` (with what an earlier read left) holds up to the first
        operation that needs nats-py; return the bytes from that operation on, for ``parse``
        (b"": nothing is left for it). Not while ``parse`` is running (``busy``)."""
        buf = self._rest + data if self._rest else data
        self._rest = b""
        pos, op = self._scan(buf, 0)
        if op is not None:
            return buf[pos:]
        if pos < len(buf):
            self._rest = buf[pos:]
        return b""

    def _scan(self, buf: bytes, pos: int) -> tuple[int, tuple[str, int, tuple[Any, ...]] | None]:
        """Handle operations from ``pos`` on while none needs waiting; return where it
        stopped, and the operation found there that needs nats-py (its kind, where the next
        one starts, its arguments), or None at the end of the buffer or an operation whose
        bytes are not all here yet. It raises nothing of its own (it runs in the connection's
        ``data_received``): a malformed line is an operation of kind "bad", raised by ``parse``."""
        end = len(buf)
        direct = self._direct
        subs = self.nc._subs if direct else None
        while pos < end:
            eol = buf.find(_CRLF, pos)
            if eol < 0:
                if end - pos >= MAX_CONTROL_LINE_SIZE:
                    return pos, ("bad", end, ("nats: control line too long",))
                return pos, None
            first = buf[pos]
            if first == 77 or first == 72:  # "M", "H"
                args = buf[pos:eol].split()
                op = args[0]
                try:
                    n = len(args)
                    if op == b"MSG" and 4 <= n <= 5:
                        hdr_size, size, with_reply = 0, int(args[-1]), n == 5
                    elif op == b"HMSG" and 5 <= n <= 6:
                        hdr_size, size, with_reply = int(args[-2]), int(args[-1]), n == 6
                    else:
                        raise ValueError(op)
                    sid = int(args[2])
                except ValueError:
                    return pos, ("bad", end, ("nats: malformed MSG",))
                start = eol + 2
                stop = start + size
                if stop + 2 > end:
                    return pos, None  # the payload is not all here yet
                subject = args[1]
                if hdr_size:
                    hdr: bytes | None = buf[start:start + hdr_size]
                    payload = buf[start + hdr_size:stop]
                else:
                    hdr, payload = None, buf[start:stop]
                reply = args[3] if with_reply else b""
                if subs is not None:
                    handler = direct.get(subs.get(sid))
                    if handler is not None and handler(subject, reply, payload, hdr):
                        pos = stop + 2
                        continue
                return pos, ("msg", stop + 2, (sid, subject, reply, payload, hdr))
            line = buf[pos:eol]
            nxt = eol + 2
            if line.startswith(b"+OK") and not line[3:].strip():
                pos = nxt
                continue
            if line.startswith(b"PING") and not line[4:].strip():
                return pos, ("ping", nxt, ())
            if line.startswith(b"PONG") and not line[4:].strip():
                return pos, ("pong", nxt, ())
            if line.startswith(b"-ERR") and (line[4:5].isspace() or not line[4:]):
                text = line[4:].strip()
                return pos, ("err", nxt, (text.decode().lower() if text else "",))
            if line.startswith(b"INFO") and line[4:5].isspace() and line[5:].strip():
                return pos, ("info", nxt, (line[4:].strip().decode(),))  # (parsed by ``parse``)
            return pos, ("bad", end, ("nats: unknown protocol",))
        return pos, None


def read_inline(nc: Any) -> bool:
    """Let ``nc``'s parser (a ``FastParser``) take what its connection reads as it arrives
    (see the module doc), until the connection is replaced (call again after a reconnect).
    False: not possible here (another parser or transport), nats-py's read loop reads all."""
    parser = nc._ps
    reader = getattr(nc._transport, "_io_reader", None)
    if not isinstance(parser, FastParser) or not isinstance(reader, asyncio.StreamReader):
        return False
    if getattr(reader, "_venue_inline", False):
        return True
    feed = reader.feed_data

    def feed_data(data: bytes) -> None:
        if not reader._buffer and not parser.busy:  # type: ignore[attr-defined]
            data = parser.parse_now(bytes(data))
            if not data:
                return
        feed(data)

    reader.feed_data = feed_data  # type: ignore[method-assign,assignment]
    reader._venue_inline = True  # type: ignore[attr-defined]
    return True
