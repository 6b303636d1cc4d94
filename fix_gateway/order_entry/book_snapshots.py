"""The gateway's order book on disk, taken when a trading day ends.

A restarted gateway rebuilds its order book by replaying the event stream. Without a
snapshot it replays from the first record, so restart time grows with the venue's history.
At the end of a trading day (``OrderBook.end_of_day``) the book holds only live orders, so it
is small; the gateway writes it then, and a restart loads it and replays only what came
after: restart time is bounded by one day's events.

File: ``<dir>/gateway-<gateway_id>-<evt_seq:020d>.snap``: magic, the event-stream sequence
the book includes, the event stream's identity (``Bus.stream_id``: a
snapshot of a stream deleted and started again is never used), CRC-32 of the body; then the
body (msgpack). Written to a temporary name,
fsynced, then renamed: a crash never leaves a half-written file under a real name, and
``latest`` skips damaged files. Orders refer to instruments by symbol and get the current
reference data's spec when loaded; a snapshot naming an instrument the gateway does not know
is not used.

Invariant the gateway keeps (service.py): a snapshot at sequence S is written only after the
reports of every event up to S were handed to the sessions and their message stores have
persisted them, so replaying from S + 1 loses no report.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import msgspec

from fix_gateway.order_entry.orders import Order, OrderBook
from fix_gateway.order_entry.refdata import RefData

_HEADER = struct.Struct("<8sQQI")
_MAGIC = b"VENUEGB2"


class _OrderImage(msgspec.Struct, array_like=True, frozen=True):
    order_id: int
    session: str
    account: str
    symbol: str
    side: str
    ord_type: str
    tif: str
    cl_ord_id: str
    price: int
    stop_price: int
    qty: int
    leaves: int
    cum_qty: int
    cum_value: int
    status: str
    live: bool
    orig_cl_ord_id: str


class _BookImage(msgspec.Struct, frozen=True):
    evt_seq: int
    days_ended: int
    orders: list[_OrderImage]
    cl_ord_ids: list[tuple[str, str, int]]  # (account, ClOrdID, order_id): every key in by_cl_ord_id


class BookSnapshot(NamedTuple):
    evt_seq: int
    days_ended: int
    orders: dict[int, Order]
    by_cl_ord_id: dict[tuple[str, str], Order]


def encode_book(book: OrderBook, evt_seq: int) -> bytes:
    orders = [
        _OrderImage(
            o.order_id, o.session, o.account, o.symbol, o.side, o.ord_type, o.tif, o.cl_ord_id,
            o.price, o.stop_price, o.qty, o.leaves, o.cum_qty, o.cum_value, o.status, o.live,
            o.orig_cl_ord_id,
        )
        for o in book.orders.values()
    ]
    keys = [(account, cl, o.order_id) for (account, cl), o in book.by_cl_ord_id.items()]
    return msgspec.msgpack.encode(_BookImage(evt_seq, book.days_ended, orders, keys))


def decode_book(body: bytes, refdata: RefData) -> BookSnapshot:
    """The book in ``body``; ValueError if it is malformed or names an unknown instrument
    or order."""
    try:
        image = msgspec.msgpack.decode(body, type=_BookImage)
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed book snapshot: {exc}") from None
    orders: dict[int, Order] = {}
    for i in image.orders:
        spec = refdata.instruments.get(i.symbol)
        if spec is None:
            raise ValueError(f"book snapshot names unknown instrument {i.symbol!r}")
        orders[i.order_id] = Order(
            order_id=i.order_id, session=i.session, account=i.account, symbol=i.symbol, spec=spec,
            side=i.side, ord_type=i.ord_type, tif=i.tif, cl_ord_id=i.cl_ord_id, price=i.price,
            stop_price=i.stop_price, qty=i.qty, leaves=i.leaves, cum_qty=i.cum_qty,
            cum_value=i.cum_value, status=i.status, live=i.live, orig_cl_ord_id=i.orig_cl_ord_id,
        )
    by_cl_ord_id: dict[tuple[str, str], Order] = {}
    for account, cl, order_id in image.cl_ord_ids:
        order = orders.get(order_id)
        if order is None:
            raise ValueError(f"book snapshot: ClOrdID {cl!r} names order {order_id}, not in it")
        by_cl_ord_id[(account, cl)] = order
    return BookSnapshot(image.evt_seq, image.days_ended, orders, by_cl_ord_id)


class BookSnapshotStore:
    def __init__(self, directory: Path, gateway_id: int = 0, keep: int = 2) -> None:
        self.directory = directory
        self.prefix = f"gateway-{gateway_id}-"
        self.keep = max(1, keep)

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob(f"{self.prefix}*.snap"))

    def save(self, evt_seq: int, body: bytes, stream: int) -> Path:
        """Write a snapshot (blocking I/O: call it off the event loop)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}{evt_seq:020d}.snap"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, evt_seq, stream, zlib.crc32(body)))
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        for old in self._files()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def latest(self, refdata: RefData, max_seq: int, stream: int) -> BookSnapshot | None:
        """The newest intact snapshot of event stream ``stream`` with ``evt_seq <= max_seq``
        (the stream's last sequence) that loads."""
        for path in reversed(self._files()):
            try:
                data = path.read_bytes()
                magic, seq, of_stream, crc = _HEADER.unpack_from(data)
                body = data[_HEADER.size:]
                if magic != _MAGIC or seq > max_seq or of_stream != stream or zlib.crc32(body) != crc:
                    continue
                snap = decode_book(body, refdata)
            except (OSError, ValueError, struct.error):
                continue
            if snap.evt_seq == seq:
                return snap
        return None
