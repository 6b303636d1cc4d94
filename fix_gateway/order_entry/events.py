"""Decoding the event records an order book folds from an event batch's body.

The records of the classes it has handlers for (``orders.HANDLED_EVENTS``) are decoded; the
rest (book levels, deposits, acks: about half the records) are stepped over by their header
and never become objects. ``decode`` does it in Python (one generated function per type,
engine/wire.py); ``codec.fold_events`` does it in C with ``table``'s codes for the events it
hands to Python handlers (tests/unit/order_entry/test_event_decoding.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import wire

Decoders = dict[int, tuple[Callable[[bytes, int], Any], int]]


def decoders(handled: frozenset[type]) -> Decoders:
    """Per event type of a handled class: (its decoder, its record size)."""
    return {t: (wire.EV_DECODE[t], wire.EV_SIZE[t]) for t, (cls, _) in wire.EV_LAYOUT.items() if cls in handled}


def decode(body: bytes, known: Decoders) -> list[Any]:
    """The events of the types ``known`` has in an event batch's body, decoded, in order. A
    record that does not fit raises ValueError (the same messages as ``codec.fold_events``)."""
    out: list[Any] = []
    off, n = 0, len(body)
    while off < n:
        t, size = wire.EV_TYPE_SIZE(body, off) if n - off >= 4 else (-1, 0)
        if size < 16 or off + size > n:
            raise ValueError(f"bad event size {size} at offset {off}")
        d = known.get(t)
        if d is not None:
            if size != d[1]:
                raise ValueError(f"bad event record at offset {off}: type {t} size {size}")
            out.append(d[0](body, off))
        off += size
    return out


def table(handled: frozenset[type]) -> tuple[Any, ...]:
    """The decoding table ``codec.fold_events`` reads (see ``decode_record`` in _codec.c): per
    event type, None or (class, record size, one code per field of the class)."""
    out: list[Any] = [None] * (max(wire.EV_LAYOUT) + 1)
    for t, (cls, words) in wire.EV_LAYOUT.items():
        if cls not in handled:
            continue
        names = [name for name, _ in words]
        codes = []
        for name in cls.__struct_fields__:
            if name == "seq":
                codes.append(3)
            elif name == "instrument":
                codes.append(3 | 1 << 2)
            elif name in names:
                i = names.index(name)
                codes.append((0 if words[i][1] == "q" else 1) | i << 2)
            else:  # a byte of the info word
                i = names.index("info")
                codes.append(2 | i << 2 | wire.INFO_FIELDS[t].index(name) << 10)
        out[t] = (cls, wire.EV_SIZE[t], tuple(codes))
    return tuple(out)
