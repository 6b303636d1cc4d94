"""persistence.events against engine.wire: the raw walk reads what the engine encodes."""

from __future__ import annotations

import pytest

from engine import commands as c
from engine import wire
from engine.commands import EvType
from persistence import events


def _sample(t: int) -> c.Event:
    """An event of type ``t`` with a distinct value in every field (small ones for bytes)."""
    cls, _ = wire.EV_LAYOUT[t]
    names = wire.field_names(cls)
    return cls(**{name: (i + 1 if i < 2 or name in ("side", "ord_type", "tif", "flags", "stp",
                                                   "state") else 1000 + i)
                  for i, name in enumerate(names)})


@pytest.mark.parametrize("t", sorted(events.FIELDS))
def test_each_stored_type_reads_back_its_fields(t: int) -> None:
    ev = _sample(t)
    ((idx, values),) = list(events.walk(wire.encode_event(ev)))
    kind, size, instrument, seq, *words = values
    assert (idx, kind, size, instrument, seq) == (0, t, wire.EV_SIZE[t], ev.instrument, ev.seq)
    for name, value in zip(events.FIELDS[t], words, strict=True):
        if name != "info":
            assert value == getattr(ev, name), name


def test_accepted_info_word_packs_one_byte_per_field_from_bit_0() -> None:
    ev = c.OrderAccepted(seq=1, instrument=2, order_id=3, account=4, side=1, ord_type=2, tif=3,
                         flags=1, stp=5, price=6, qty=7, stop_price=8, display_qty=9,
                         expire_time=10)
    ((_, values),) = list(events.walk(wire.encode_event(ev)))
    info = values[4 + events.FIELDS[EvType.ACCEPTED].index("info")]
    assert [(info >> (8 * i)) & 0xFF for i in range(5)] == [1, 2, 3, 1, 5]


def test_unstored_records_are_stepped_over_but_keep_their_index() -> None:
    book = c.BookLevelChanged(seq=1, instrument=1, side=0, price=100, qty=5, count=1)
    ack = c.Acknowledged(seq=2, instrument=0, command=1, ref_id=7, value=0)
    trade = _sample(EvType.TRADE)
    body = b"".join(wire.encode_event(e) for e in (book, trade, ack, trade))
    assert [(idx, v[0]) for idx, v in events.walk(body)] == [(1, EvType.TRADE),
                                                             (3, EvType.TRADE)]


@pytest.mark.parametrize("body", [
    wire.encode_event(_sample(EvType.TRADE))[:-8],  # truncated record
    wire.encode_event(_sample(EvType.TRADE))[:10],  # truncated header
    b"\x63\x00\x10\x00" + bytes(12),  # unknown type
    b"\x03\x00\x18\x00" + bytes(20),  # a Trade with the wrong size
])
def test_malformed_batches_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        list(events.walk(body))
