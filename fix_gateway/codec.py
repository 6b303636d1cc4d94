"""FIX tag=value codec: framing, parsing, encoding. On every message's path, so kept lean.

Invariants:
- ``parse`` accepts exactly one frame ``8=...<SOH>9=...<SOH>35=...<SOH>...10=nnn<SOH>``; it
  raises :class:`GarbledMessage` when the first three fields are not 8/9/35, BodyLength does
  not match, CheckSum does not match, a field has no ``=`` or a tag that is not a decimal
  integer of at most 9 digits. Negative and zero tags parse (they are *invalid tag numbers* for the validator, not garbled).
- ``FixMessage.fields`` keeps wire order, duplicates included; ``get`` returns the first
  occurrence.
- DATA fields (e.g. 96 RawData after 95 RawDataLength) are read by length and may contain
  SOH; the tag pairs are in ``LENGTH_TAGS`` / ``DATA_TAGS`` (from the spec dictionaries,
  checked by a unit test).
- ``Framer`` never holds more than about ``max_message_size`` + one read of unconsumed
  bytes: garbage before ``8=FIX`` is dropped, an absurd BodyLength drops the start and
  resyncs, a frame whose trailer is not where BodyLength says is returned as-is so that
  ``parse`` reports it garbled.

The C extension ``fix_gateway._codec`` implements split/frame_end/checksum; the pure-Python
versions below are the fallback and the reference (``VENUE_FIX_PURE=1`` forces them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from fix_gateway._pycodec import (
    GarbledMessage,
    py_checksum,
    py_er_body,
    py_er_terms,
    py_frame_end,
    py_split,
    py_split_shape,
    shape_of,
)
from fix_gateway._spec_tags import DATA_TAGS, LENGTH_TAGS

SOH = b"\x01"
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20

# ----------------------------------------------------------------------------- selection


def _py_first_index(fields: list[tuple[int, bytes]]) -> dict[int, bytes]:
    return dict(reversed(fields))


_c_encode: Callable[[bytes, bytes, Sequence[tuple[int, str | bytes | int]]], bytes] | None
_c_encode_run: Callable[[bytes, bytes, bytes, bytes, bytes, int, list[bytes]], list[bytes]] | None
# (msg, RefData.order_plan(ctx), order id or seq, now ns, in-flight (account, ClOrdID)s,
#  OrderBook.by_cl_ord_id) -> (the command record, RequestMeta) | None (declined)
new_order_fast: Callable[[FixMessage, tuple[Any, ...], int, int, set[tuple[str, str]], Any], tuple[bytes, Any] | None] | None
cancel_fast: Callable[[FixMessage, tuple[Any, ...], int, int, set[tuple[str, str]], Any], tuple[bytes, Any] | None] | None
# (msg, begin_string, their CompID, our CompID, expected MsgSeqNum, now ns, max latency ns)
session_check: Callable[[FixMessage, bytes, bytes, bytes, int, int, int], int] | None
take_run: Callable[..., tuple[int, int, int, Any, int]] | None
group_reports: Callable[..., tuple[list[tuple[str, str, Any, Any]], int]] | None
# (OrderBook, its _fold_context(), event seq, event batch body, metas) -> the reports
fold_events: Callable[[Any, tuple[Any, ...], int, bytes, dict[int, Any]], list[Any]] | None
try:
    if os.environ.get("VENUE_FIX_PURE") == "1":
        raise ImportError("pure Python codec forced")
    from fix_gateway import _codec as _c  # type: ignore[attr-defined,unused-ignore]

    _c.configure(GarbledMessage, sorted(LENGTH_TAGS), sorted(DATA_TAGS))
    checksum = _c.checksum
    split = _c.split
    split_shape = _c.split_shape
    frame_end = _c.frame_end
    _c_encode = _c.encode
    _c_encode_run = _c.encode_run
    _first_index = _c.first_index
    er_body = _c.er_body
    er_terms = _c.er_terms
    new_order_fast = _c.new_order_fast
    cancel_fast = _c.cancel_fast
    fold_events = _c.fold_events
    session_check = _c.session_check
    take_run = _c.take_run
    group_reports = _c.group_reports
    IMPLEMENTATION = "c"
except ImportError:  # pragma: no cover - exercised with VENUE_FIX_PURE=1
    checksum = py_checksum
    split = py_split
    split_shape = py_split_shape
    frame_end = py_frame_end
    _c_encode = None
    _c_encode_run = None
    _first_index = _py_first_index
    er_body = py_er_body
    er_terms = py_er_terms
    new_order_fast = None  # every NewOrderSingle is translated in Python (requests.new_order)
    cancel_fast = None  # every OrderCancelRequest too (requests.cancel)
    fold_events = None  # event batches are decoded and folded in Python (OrderBook.apply)
    session_check = None  # every message takes the session's checks in Python (InSession)
    take_run = None  # every frame takes the session's and the application's Python path
    group_reports = None  # Gateway.deliver walks the reports in Python
    IMPLEMENTATION = "python"


# ----------------------------------------------------------------------------- messages


class FixMessage:
    """One parsed message: ``fields`` in wire order (header, body, trailer, duplicates kept)."""

    __slots__ = ("_index", "begin_string", "fields", "msg_type", "raw", "shape")

    def __init__(
        self, fields: list[tuple[int, bytes]], raw: bytes = b"", shape: bytes | None = None
    ) -> None:
        self.fields = fields
        self.raw = raw
        self.shape = shape  # packed tags (validation cache key); None if built by hand
        self.begin_string: bytes = fields[0][1]
        self.msg_type: bytes = fields[2][1]
        self._index: dict[int, bytes] | None = None

    def get(self, tag: int, default: bytes | None = None) -> bytes | None:
        index = self._index
        if index is None:
            index = self.fields_by_tag()
        return index.get(tag, default)

    def fields_by_tag(self) -> dict[int, bytes]:
        """First value of each tag, as ``get`` reads it (built once per message): for code
        that reads many tags, ``msg.fields_by_tag().get`` costs one C call per tag."""
        index = self._index
        if index is None:
            index = self._index = _first_index(self.fields)
        return index

    def __contains__(self, tag: int) -> bool:
        return self.get(tag) is not None

    def __repr__(self) -> str:
        return (
            "FixMessage("
            + (self.raw or b"|".join(b"%d=%s" % f for f in self.fields))
            .replace(SOH, b"|")
            .decode("latin-1")
            + ")"
        )


def _parse(frame: bytes) -> FixMessage:
    fields, shape = split_shape(frame)
    return FixMessage(fields, frame, shape)


if IMPLEMENTATION == "c":
    _c.set_message_class(FixMessage)
    parse: Callable[[bytes], FixMessage] = _c.parse_message  # type: ignore[assignment]
else:  # pragma: no cover - VENUE_FIX_PURE=1
    parse = _parse


def py_parse(frame: bytes) -> FixMessage:
    fields, shape = py_split_shape(frame)
    return FixMessage(fields, frame, shape)


# ----------------------------------------------------------------------------- encoding

_PREFIX: dict[int, bytes] = {t: b"%d=" % t for t in range(1, 1200)}


def encode(
    begin_string: str, msg_type: str, fields: Sequence[tuple[int, str | bytes | int]]
) -> bytes:
    """Header fields after 35, then body, in the given order; 8, 9, 35 first and 10 last.
    A field with tag 0 is a run of fields already encoded (``b"37=1\x0111=A\x01"``): its
    bytes are copied as they are (the order-entry hot path builds report bodies that way)."""
    if _c_encode is not None:
        return _c_encode(begin_string.encode(), msg_type.encode(), fields)  # type: ignore[no-any-return]
    return py_encode(begin_string, msg_type, fields)


def encode_bytes(
    begin_string: bytes, msg_type: bytes, fields: Sequence[tuple[int, str | bytes | int]]
) -> bytes:
    """``encode`` with BeginString and MsgType already as bytes (the session's hot path)."""
    if _c_encode is not None:
        return _c_encode(begin_string, msg_type, fields)
    return py_encode(begin_string.decode(), msg_type.decode(), fields)


def encode_run(
    begin_string: bytes, msg_type: bytes, sender: bytes, target: bytes, sending_time: bytes,
    first_seq: int, bodies: list[bytes],
) -> list[bytes]:
    """One message per pre-encoded body, MsgSeqNum ``first_seq``, ``first_seq + 1``...: each
    equals ``encode_bytes(begin_string, msg_type, [(34, seq), (49, sender), (52, sending_time),
    (56, target), (0, body)])`` (the header the session writes), built in one call."""
    if _c_encode_run is not None:
        return _c_encode_run(begin_string, msg_type, sender, target, sending_time, first_seq, bodies)
    return [
        encode_bytes(begin_string, msg_type, [(34, first_seq + i), (49, sender), (52, sending_time), (56, target), (0, body)])
        for i, body in enumerate(bodies)
    ]


def py_encode(
    begin_string: str, msg_type: str, fields: Sequence[tuple[int, str | bytes | int]]
) -> bytes:
    prefix = _PREFIX
    parts = [b"35=", msg_type.encode(), SOH]
    append = parts.append
    for tag, value in fields:
        if tag == 0:  # pre-encoded fields ("tag=value\x01"...), copied as they are
            if type(value) is not bytes:
                raise TypeError("tag 0 (pre-encoded fields) needs bytes")
            append(value)
            continue
        p = prefix.get(tag)
        if p is None:
            p = b"%d=" % tag
        append(p)
        tv = type(value)
        if tv is bytes:
            append(value)  # type: ignore[arg-type]
        elif tv is str:
            append(value.encode())  # type: ignore[union-attr]
        else:
            append(str(value).encode())
        append(SOH)
    body = b"".join(parts)
    msg = b"8=%s\x019=%d\x01%s" % (begin_string.encode(), len(body), body)
    return msg + b"10=%03d\x01" % checksum(msg)


# ----------------------------------------------------------------------------- framing


class Framer:
    """Cut a byte stream into raw frames; bounded memory; garbage skipped.

    ``next_frame`` returns complete frames (possibly garbled: ``parse`` then raises) until
    the buffer holds no complete frame, then ``None``. ``dropped_bytes`` counts skipped
    garbage.
    """

    __slots__ = ("_buf", "_end", "_max", "_pos", "dropped_bytes")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._max = max_message_size
        self._end = frame_end
        self.dropped_bytes = 0

    def feed(self, data: bytes) -> None:
        buf = self._buf
        if self._pos and self._pos >= len(buf):
            buf.clear()
            self._pos = 0
        elif self._pos > 65536:
            del buf[: self._pos]
            self._pos = 0
        buf += data

    def take_buffer(self) -> bytes:
        """Remove and return the unconsumed bytes."""
        data = bytes(self._buf[self._pos :])
        self._buf.clear()
        self._pos = 0
        return data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def view(self) -> tuple[bytearray, int, int]:
        """(buffer, where the next frame is looked for, the largest frame) for a reader that
        takes whole frames itself (``codec.take_run``) and then calls ``advance``."""
        return self._buf, self._pos, self._max

    def advance(self, pos: int) -> None:
        """The frames before ``pos`` (a frame boundary at or after the current one) are taken."""
        self._pos = pos

    def next_frame(self) -> bytes | None:
        buf = self._buf
        while True:
            pos = self._pos
            start = buf.find(b"8=FIX", pos)
            if start < 0:
                keep = max(pos, len(buf) - 4)
                self.dropped_bytes += keep - pos
                self._pos = keep
                return None
            self.dropped_bytes += start - pos
            status, end = self._end(buf, start, self._max)
            if status == 0:
                self._pos = start
                return None
            if status == 3:
                self.dropped_bytes += end - start
                self._pos = end
                continue
            self._pos = end
            return bytes(buf[start:end])


__all__ = [
    "DATA_TAGS",
    "IMPLEMENTATION",
    "LENGTH_TAGS",
    "SOH",
    "FixMessage",
    "Framer",
    "GarbledMessage",
    "checksum",
    "encode",
    "encode_bytes",
    "parse",
    "py_checksum",
    "py_encode",
    "py_frame_end",
    "py_parse",
    "py_split",
    "py_split_shape",
    "shape_of",
]
