"""Engine event batches read straight from their wire bytes, for the projection.

The writer needs a few fields of a few event types. Building an ``engine.commands`` object
per event (``wire.decode_events``) cost more than everything else the projection does, and
a third of the events (``BookLevelChanged``) are not stored at all. Here a batch is walked
record by record: the 4-byte type / size prefix says what follows; book changes, status
reports and acks are stepped over unread; the others are unpacked into one plain tuple
``(type, size, instrument, seq, *words)`` with the words in ``wire.EV_LAYOUT`` order.

Invariants:

- The same checks as ``wire.decode_events``: every record has a known type, that type's
  fixed size, and lies inside the buffer; anything else raises ValueError.
- ``FIELDS`` names the words the projection unpacks, per stored type; it is checked against
  ``wire.EV_LAYOUT`` at import, so a layout change fails loudly instead of misreading.
- Indexes count every record (stored or not): they are the ``evt_idx`` of the tables.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from engine import wire
from engine.commands import EvType

Values = tuple[int, ...]  # (type, size, instrument, seq, *words)

# The words the projection reads, per stored event type (wire.EV_LAYOUT order).
FIELDS: dict[int, tuple[str, ...]] = {
    EvType.ACCEPTED: ("order_id", "account", "info", "price", "qty", "stop_price",
                      "display_qty", "expire_time"),
    EvType.REJECTED: ("ref_id", "account", "code", "command"),
    EvType.TRADE: ("exec_id", "maker_order_id", "taker_order_id", "maker_account",
                   "taker_account", "price", "qty", "maker_fee", "taker_fee", "maker_leaves",
                   "taker_leaves", "aggressor_side"),
    EvType.CANCELED: ("order_id", "account", "reason", "canceled_qty", "leaves_qty"),
    EvType.REPLACED: ("order_id", "account", "price", "qty", "leaves_qty", "priority_kept"),
    EvType.EXPIRED: ("order_id", "account", "reason", "canceled_qty", "leaves_qty"),
    EvType.TRIGGERED: ("order_id", "account", "stop_price", "last_price"),
    EvType.DEPOSITED: ("account", "asset", "amount", "available"),
    EvType.WITHDRAW_HELD: ("withdrawal_id", "account", "asset", "amount", "available", "held"),
    EvType.WITHDRAW_CONFIRMED: ("withdrawal_id", "account", "asset", "amount", "available",
                                "held"),
    EvType.WITHDRAW_RELEASED: ("withdrawal_id", "account", "asset", "amount", "available",
                               "held"),
    EvType.MASS_CANCELED: ("account", "side", "count"),
}
# OrderAccepted packs side, ord_type, tif, flags, stp into its "info" word, one byte each
# from bit 0 (tests/unit/persistence/test_events.py checks it against wire.encode_event).

_SIZES: dict[int, int] = dict(wire.EV_SIZE)
_UNPACK = {
    t: struct.Struct("<HHIQ" + "".join(code for _, code in wire.EV_LAYOUT[t][1])).unpack_from
    for t in FIELDS
}


def _check_layout() -> None:
    for t, names in FIELDS.items():
        layout = tuple(name for name, _ in wire.EV_LAYOUT[t][1])
        if layout != names:
            raise ImportError(f"engine event {EvType(t).name} layout is {layout}, the "
                              f"persistence projection reads {names}: update persistence")


_check_layout()


def walk(body: bytes) -> Iterator[tuple[int, Values]]:
    """``(evt_idx, values)`` for every stored record of an event batch, in order."""
    off, idx, end = 0, 0, len(body)
    head, sizes, unpack = wire.EV_TYPE_SIZE, _SIZES, _UNPACK
    while off < end:
        if off + 16 > end:
            raise ValueError(f"truncated event header at offset {off}")
        t, size = head(body, off)
        if sizes.get(t) != size or off + size > end:
            raise ValueError(f"bad event record at offset {off}: type {t} size {size}")
        reader = unpack.get(t)
        if reader is not None:
            yield idx, reader(body, off)
        off += size
        idx += 1
