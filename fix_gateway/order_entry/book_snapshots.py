"""The gateway's order book on disk, taken when a trading day ends.

A restarted gateway rebuilds its order book by replaying the event stream. Without a
snapshot it replays from the first record, so restart time grows with the venue's history.
At the end of a trading day (``OrderBook.end_of_day``) the book holds only live orders, so it
is small; the gateway writes it then, and a restart loads it and replays only what came
after: restart time is bounded by one day's events.

File: ``<dir>/gateway-<gateway_id>-<evt_seq:020d>.snap``, written durably by
``venue.snapshot_files``: magic, the event-stream sequence the book includes, the event
stream's identity (``Bus.stream_id``: a snapshot of a stream deleted and started again is
never used), CRC-32 of the body; then the body (msgpack). ``latest`` skips damaged files.
Orders refer to instruments by symbol and get the current reference data's spec when
loaded; a snapshot naming an instrument the gateway does not know is not used.

Invariant the gateway keeps (service.py): a snapshot at sequence S is written only after the
reports of every event up to S were handed to the sessions and their message stores have
persisted them, so replaying from S + 1 loses no report.
"""

from __future__ import annotations

import operator
import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from fix_gateway.order_entry.orders import Order, OrderBook
from fix_gateway.order_entry.refdata import RefData
from venue.sharded_dict import ShardedDict
from venue.snapshot_files import SnapshotFiles

_HEADER = struct.Struct("<8sQQI")
_MAGIC = b"VENUEGB2"


# Every field of an Order but its instrument spec (from the reference data when loaded) and
# its encoded report parts (rebuilt on use). The names go into the snapshot, so an Order
# that changed since makes a snapshot fail to load (the gateway then replays) instead of
# filling the wrong fields.
_ORDER_FIELDS = tuple(f for f in Order.__struct_fields__ if f not in ("spec", "head", "terms"))
_order_values = operator.attrgetter(*_ORDER_FIELDS)


class _BookImage(msgspec.Struct, frozen=True):
    evt_seq: int
    days_ended: int
    order_fields: tuple[str, ...]
    orders: list[tuple[Any, ...]]  # each: the values of order_fields
    cl_ord_ids: list[tuple[str, str, int]]  # (account, ClOrdID, order_id): every name in by_cl_ord_id


class BookSnapshot(NamedTuple):
    evt_seq: int
    days_ended: int
    orders: ShardedDict[int, Order]
    by_cl_ord_id: dict[str, ShardedDict[str, Order]]  # as OrderBook.by_cl_ord_id


def encode_book(book: OrderBook, evt_seq: int) -> bytes:
    orders = [_order_values(o) for o in book.orders.values()]
    keys = [(account, cl, o.order_id) for account, cl, o in book.cl_ord_id_keys()]
    return msgspec.msgpack.encode(_BookImage(evt_seq, book.days_ended, _ORDER_FIELDS, orders, keys))


def decode_book(body: bytes, refdata: RefData) -> BookSnapshot:
    """The book in ``body``; ValueError if it is malformed or names an unknown instrument
    or order."""
    try:
        image = msgspec.msgpack.decode(body, type=_BookImage)
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed book snapshot: {exc}") from None
    orders: ShardedDict[int, Order] = ShardedDict()
    for values in image.orders:
        fields = dict(zip(image.order_fields, values, strict=True))
        spec = refdata.instruments.get(fields.get("symbol", ""))
        if spec is None:
            raise ValueError(f"book snapshot names unknown instrument {fields.get('symbol')!r}")
        try:
            order = Order(spec=spec, **fields)
        except TypeError as exc:  # the Order changed since the snapshot was written
            raise ValueError(f"book snapshot of another Order layout: {exc}") from None
        orders[order.order_id] = order
    by_cl_ord_id: dict[str, ShardedDict[str, Order]] = {}
    for account, cl, order_id in image.cl_ord_ids:
        named = orders.get(order_id)
        if named is None:
            raise ValueError(f"book snapshot: ClOrdID {cl!r} names order {order_id}, not in it")
        by_cl_ord_id.setdefault(account, ShardedDict())[cl] = named
    return BookSnapshot(image.evt_seq, image.days_ended, orders, by_cl_ord_id)


class BookSnapshotStore(SnapshotFiles):
    def __init__(self, directory: Path, gateway_id: int = 0, keep: int = 2) -> None:
        super().__init__(directory, f"gateway-{gateway_id}-", keep)

    def save(self, evt_seq: int, body: bytes, stream: int) -> Path:
        """Write a snapshot (blocking I/O: call it off the event loop)."""
        return self._write(evt_seq, _HEADER.pack(_MAGIC, evt_seq, stream, zlib.crc32(body)), body)

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
