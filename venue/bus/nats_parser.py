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

``tests/unit/venue/test_nats_parser.py`` feeds random protocol streams, cut at random
places, to both parsers and requires the same calls in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nats.errors import ProtocolError
from nats.protocol.parser import MAX_CONTROL_LINE_SIZE, Parser

# (subject, reply, data, raw headers or None) -> handled; False: nats-py's _process_msg takes it
DirectHandler = Callable[[bytes, bytes, bytes, bytes | None], bool]

_CRLF = b"\r\n"


class FastParser(Parser):
    """nats-py's ``Parser`` interface (``parse``, ``reset``), read by offsets."""

    def __init__(self, nc: Any = None) -> None:
        self._direct: dict[Any, DirectHandler] = {}
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
        end = len(buf)
        pos = 0
        nc = self.nc
        direct = self._direct
        generation = self._generation
        try:
            while pos < end:
                eol = buf.find(_CRLF, pos)
                if eol < 0:
                    if end - pos >= MAX_CONTROL_LINE_SIZE:
                        raise ProtocolError("nats: control line too long")
                    break
                first = buf[pos]
                if first == 77 or first == 72:  # "M", "H"
                    line = buf[pos:eol]
                    args = line.split()
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
                        raise ProtocolError("nats: malformed MSG") from None
                    start = eol + 2
                    stop = start + size
                    if stop + 2 > end:
                        break  # the payload is not all here yet
                    subject = args[1]
                    if hdr_size:
                        hdr: bytes | None = buf[start:start + hdr_size]
                        payload = buf[start + hdr_size:stop]
                    else:
                        hdr, payload = None, buf[start:stop]
                    pos = stop + 2
                    reply = args[3] if with_reply else b""
                    if direct:
                        handler = direct.get(nc._subs.get(sid))
                        if handler is not None and handler(subject, reply, payload, hdr):
                            continue
                    await nc._process_msg(sid, subject, reply, payload, hdr)
                    continue
                line = buf[pos:eol]
                pos = eol + 2
                if line.startswith(b"+OK") and not line[3:].strip():
                    continue
                if line.startswith(b"PING") and not line[4:].strip():
                    await nc._process_ping()
                    continue
                if line.startswith(b"PONG") and not line[4:].strip():
                    await nc._process_pong()
                    continue
                if line.startswith(b"-ERR"):
                    text = line[4:].strip()
                    if line[4:5].isspace() or not line[4:]:
                        await nc._process_err(text.decode().lower() if text else "")
                        continue
                if line.startswith(b"INFO") and line[4:5].isspace() and line[5:].strip():
                    await nc._process_info(json.loads(line[4:].strip().decode()))
                    continue
                raise ProtocolError("nats: unknown protocol")
        finally:
            if pos < end and generation == self._generation:
                self._rest = buf[pos:]
