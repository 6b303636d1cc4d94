"""Binary batch format of the engine: fixed-size little-endian records via ``struct``.

Commands: every record is ``CMD_SIZE`` = 104 bytes::

    offset  size  field
    0       u16   command type (CmdType)
    2       6xu8  b0..b5: small per-type fields (side, ord_type, tif, flags, stp, state, scales)
    8       u64   seq   caller's command sequence, echoed by every event the command causes
    16      i64   ts    nanoseconds; engine clock := max(clock, ts) before the command runs
    24      10x8  s0..s9: per-type slots (u64 for ids, i64 for prices/quantities/amounts)

A batch is a concatenation of records; a length that is not a multiple of 104 raises
``ValueError``. Unknown types and out-of-range values are ``Rejected`` events, never crashes.

Events: variable size per type (``EV_SIZE``), a 16-byte header then 8-byte words::

    0  u16 type (EvType)   2  u16 size in bytes   4  u32 instrument (0 = n/a)   8  u64 seq

``CMD_LAYOUT`` / ``EV_LAYOUT`` below are the normative field lists (and docs/engine.md).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any

from engine import commands as c
from engine.commands import CmdType, EvType

CMD_SIZE = 104
_CMD_HEAD = struct.Struct("<H6BQq")
_EV_HEAD = struct.Struct("<HHIQ")

# type -> (class, header byte fields b0.., slot fields with struct codes)
CMD_LAYOUT: dict[int, tuple[type[Any], tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    CmdType.ADD_INSTRUMENT: (
        c.AddInstrument,
        ("price_scale", "qty_scale"),
        (("instrument", "Q"), ("tick", "q"), ("lot", "q"), ("min_qty", "q"), ("max_qty", "q"),
         ("base_asset", "Q"), ("quote_asset", "Q"), ("tick_value", "q"), ("band_bps", "q"),
         ("reference_price", "q")),
    ),
    CmdType.SET_TRADING_STATE: (c.SetTradingState, ("state",), (("instrument", "Q"),)),
    CmdType.SET_REFERENCE_PRICE: (
        c.SetReferencePrice, (), (("instrument", "Q"), ("price", "q"))),
    CmdType.ADD_ACCOUNT: (
        c.AddAccount, (),
        (("account", "Q"), ("stp_group", "Q"), ("maker_bps", "q"), ("taker_bps", "q"))),
    CmdType.DEPOSIT: (c.Deposit, (), (("account", "Q"), ("asset", "Q"), ("amount", "q"))),
    CmdType.WITHDRAW_HOLD: (
        c.WithdrawHold, (),
        (("withdrawal_id", "Q"), ("account", "Q"), ("asset", "Q"), ("amount", "q"))),
    CmdType.WITHDRAW_CONFIRM: (c.WithdrawConfirm, (), (("withdrawal_id", "Q"),)),
    CmdType.WITHDRAW_RELEASE: (c.WithdrawRelease, (), (("withdrawal_id", "Q"),)),
    CmdType.NEW_ORDER: (
        c.NewOrder, ("side", "ord_type", "tif", "flags", "stp"),
        (("order_id", "Q"), ("account", "Q"), ("instrument", "Q"), ("price", "q"), ("qty", "q"),
         ("stop_price", "q"), ("display_qty", "q"), ("expire_time", "q"))),
    CmdType.CANCEL: (c.Cancel, (), (("order_id", "Q"), ("account", "Q"))),
    CmdType.REPLACE: (
        c.Replace, (), (("order_id", "Q"), ("account", "Q"), ("price", "q"), ("qty", "q"))),
    CmdType.MASS_CANCEL: (c.MassCancel, ("side",), (("account", "Q"), ("instrument", "Q"))),
    CmdType.ORDER_STATUS: (c.OrderStatus, (), (("order_id", "Q"), ("account", "Q"))),
    CmdType.END_OF_SESSION: (c.EndOfSession, (), (("instrument", "Q"),)),
    CmdType.ADVANCE_CLOCK: (c.AdvanceClock, (), ()),
}
_CMD_TYPE = {cls: t for t, (cls, _, _) in CMD_LAYOUT.items()}
_CMD_SLOTS = {t: struct.Struct("<" + "".join(f for _, f in s) + "8x" * (10 - len(s)))
              for t, (_, _, s) in CMD_LAYOUT.items()}

# Event payload words after the header. "info" words pack small fields (see INFO_FIELDS).
EV_LAYOUT: dict[int, tuple[type[Any], tuple[tuple[str, str], ...]]] = {
    EvType.ACCEPTED: (c.OrderAccepted, (
        ("order_id", "Q"), ("account", "Q"), ("info", "Q"), ("price", "q"), ("qty", "q"),
        ("stop_price", "q"), ("display_qty", "q"), ("expire_time", "q"))),
    EvType.REJECTED: (c.Rejected, (
        ("ref_id", "Q"), ("account", "Q"), ("code", "q"), ("command", "q"))),
    EvType.TRADE: (c.Trade, (
        ("exec_id", "Q"), ("maker_order_id", "Q"), ("taker_order_id", "Q"),
        ("maker_account", "Q"), ("taker_account", "Q"), ("price", "q"), ("qty", "q"),
        ("maker_fee", "q"), ("taker_fee", "q"), ("maker_leaves", "q"), ("taker_leaves", "q"),
        ("aggressor_side", "q"))),
    EvType.CANCELED: (c.OrderCanceled, (
        ("order_id", "Q"), ("account", "Q"), ("reason", "q"), ("canceled_qty", "q"),
        ("leaves_qty", "q"))),
    EvType.REPLACED: (c.OrderReplaced, (
        ("order_id", "Q"), ("account", "Q"), ("price", "q"), ("qty", "q"), ("leaves_qty", "q"),
        ("priority_kept", "q"))),
    EvType.EXPIRED: (c.OrderExpired, (
        ("order_id", "Q"), ("account", "Q"), ("reason", "q"), ("canceled_qty", "q"),
        ("leaves_qty", "q"))),
    EvType.TRIGGERED: (c.OrderTriggered, (
        ("order_id", "Q"), ("account", "Q"), ("stop_price", "q"), ("last_price", "q"))),
    EvType.BOOK: (c.BookLevelChanged, (
        ("side", "q"), ("price", "q"), ("qty", "q"), ("count", "q"))),
    EvType.DEPOSITED: (c.DepositApplied, (
        ("account", "Q"), ("asset", "Q"), ("amount", "q"), ("available", "q"))),
    EvType.WITHDRAW_HELD: (c.WithdrawHeld, (
        ("withdrawal_id", "Q"), ("account", "Q"), ("asset", "Q"), ("amount", "q"),
        ("available", "q"), ("held", "q"))),
    EvType.WITHDRAW_CONFIRMED: (c.WithdrawConfirmed, (
        ("withdrawal_id", "Q"), ("account", "Q"), ("asset", "Q"), ("amount", "q"),
        ("available", "q"), ("held", "q"))),
    EvType.WITHDRAW_RELEASED: (c.WithdrawReleased, (
        ("withdrawal_id", "Q"), ("account", "Q"), ("asset", "Q"), ("amount", "q"),
        ("available", "q"), ("held", "q"))),
    EvType.STATUS: (c.OrderStatusReport, (
        ("order_id", "Q"), ("account", "Q"), ("info", "Q"), ("price", "q"), ("qty", "q"),
        ("leaves_qty", "q"), ("cum_qty", "q"), ("stop_price", "q"))),
    EvType.MASS_CANCELED: (c.MassCanceled, (
        ("account", "Q"), ("side", "q"), ("count", "q"))),
    EvType.ACK: (c.Acknowledged, (("command", "q"), ("ref_id", "Q"), ("value", "Q"))),
}
# info word = field0 | field1 << 8 | ... (one byte each)
INFO_FIELDS: dict[int, tuple[str, ...]] = {
    EvType.ACCEPTED: ("side", "ord_type", "tif", "flags", "stp"),
    EvType.STATUS: ("side", "ord_type", "tif", "state"),
}
EV_SIZE = {t: 16 + 8 * len(w) for t, (_, w) in EV_LAYOUT.items()}
_EV_TYPE = {cls: t for t, (cls, _) in EV_LAYOUT.items()}
_EV_BODY = {t: struct.Struct("<" + "".join(f for _, f in w)) for t, (_, w) in EV_LAYOUT.items()}


def _cmd_encoder(t: int) -> tuple[struct.Struct, Callable[[object], tuple[int, ...]]]:
    _, hb, slots = CMD_LAYOUT[t]
    fmt = ("<H" + "B" * len(hb) + "x" * (6 - len(hb)) + "Qq" + "".join(f for _, f in slots)
           + "8x" * (10 - len(slots)))
    return struct.Struct(fmt), attrgetter(*hb, "seq", "ts", *(n for n, _ in slots))


_CMD_ENC = {cls: (t, *_cmd_encoder(t)) for t, (cls, _, _) in CMD_LAYOUT.items()}


def encode_command(cmd: c.Command) -> bytes:
    t, st, get = _CMD_ENC[type(cmd)]
    return st.pack(t, *get(cmd))


_NEW_ORDER_PACK = _CMD_ENC[c.NewOrder][1].pack


def encode_new_order(
    seq: int, ts: int, order_id: int, account: int, instrument: int, side: int, ord_type: int, tif: int,
    price: int, qty: int, stop_price: int = 0, display_qty: int = 0, flags: int = 0, stp: int = 0,
    expire_time: int = 0,
) -> bytes:
    """``encode_command(NewOrder(...))`` with the same arguments, without the object: the
    order-entry gateway makes one record per NewOrderSingle and needs no NewOrder itself."""
    return _NEW_ORDER_PACK(CmdType.NEW_ORDER, side, ord_type, tif, flags, stp, seq, ts, order_id, account,
                           instrument, price, qty, stop_price, display_qty, expire_time)


def encode_commands(cmds: list[c.Command]) -> bytes:
    return b"".join(encode_command(x) for x in cmds)


def decode_command(rec: bytes | memoryview) -> tuple[int, int, int, c.Command | None]:
    """Return (type, seq, ts, command); command is None for an unknown type."""
    t, b0, b1, b2, b3, b4, b5, seq, ts = _CMD_HEAD.unpack_from(rec, 0)
    lay = CMD_LAYOUT.get(t)
    if lay is None:
        return t, seq, ts, None
    cls, hb, slots = lay
    kw: dict[str, int] = dict(zip(hb, (b0, b1, b2, b3, b4, b5), strict=False))
    kw.update(zip((n for n, _ in slots), _CMD_SLOTS[t].unpack_from(rec, 24), strict=False))
    return t, seq, ts, cls(seq=seq, ts=ts, **kw)


def iter_commands(buf: bytes | memoryview) -> Iterator[tuple[int, int, int, c.Command | None]]:
    if len(buf) % CMD_SIZE:
        raise ValueError(f"command batch length {len(buf)} is not a multiple of {CMD_SIZE}")
    mv = memoryview(buf)
    for off in range(0, len(buf), CMD_SIZE):
        yield decode_command(mv[off : off + CMD_SIZE])


def encode_event(ev: c.Event) -> bytes:
    t = _EV_TYPE[type(ev)]
    _, words = EV_LAYOUT[t]
    vals = []
    for name, _ in words:
        if name == "info":
            vals.append(sum(getattr(ev, f) << (8 * i) for i, f in enumerate(INFO_FIELDS[t])))
        else:
            vals.append(getattr(ev, name))
    return _EV_HEAD.pack(t, EV_SIZE[t], ev.instrument, ev.seq) + _EV_BODY[t].pack(*vals)


def _event_decoder(t: int) -> Callable[[bytes | memoryview, int], c.Event]:
    """The decoder of event type ``t``: (buffer, offset of the record) -> the event. Generated
    from the layout tables: one unpack, then the event class called with its fields in
    declaration order (an "info" word split into its one-byte fields). It runs once per
    event on the gateway's projection, hence no per-field loop."""
    cls, words = EV_LAYOUT[t]
    unpack = struct.Struct("<HHIQ" + "".join(f for _, f in words)).unpack_from
    source = {"seq": "v[3]", "instrument": "v[2]"}
    for i, (name, _) in enumerate(words, 4):
        if name == "info":
            for k, f in enumerate(INFO_FIELDS[t]):
                source[f] = f"(v[{i}] >> {8 * k}) & 255"
        else:
            source[name] = f"v[{i}]"
    args = ", ".join(source[name] for name in cls.__struct_fields__)
    namespace: dict[str, Any] = {"unpack": unpack, "cls": cls}
    exec(f"def decode(buf, off):\n    v = unpack(buf, off)\n    return cls({args})\n", namespace)
    return namespace["decode"]  # type: ignore[no-any-return]


EV_DECODE = {t: _event_decoder(t) for t in EV_LAYOUT}
EV_TYPE_SIZE = struct.Struct("<HH").unpack_from  # (type, size): the start of every event record


def decode_events(buf: bytes | memoryview) -> list[c.Event]:
    out: list[c.Event] = []
    off, n = 0, len(buf)
    while off < n:
        if off + 16 > n:
            raise ValueError(f"truncated event header at offset {off}")
        t, size = EV_TYPE_SIZE(buf, off)
        if t not in EV_LAYOUT or size != EV_SIZE[t] or off + size > n:
            raise ValueError(f"bad event record at offset {off}: type {t} size {size}")
        out.append(EV_DECODE[t](buf, off))
        off += size
    return out


def iter_event_records(buf: bytes | memoryview) -> Iterator[tuple[int, int, int, memoryview]]:
    """Split an event batch without decoding: (type, instrument, seq, record bytes)."""
    mv = memoryview(buf)
    off, n = 0, len(mv)
    while off < n:
        if off + 16 > n:
            raise ValueError(f"truncated event header at offset {off}")
        t, size, instrument, seq = _EV_HEAD.unpack_from(mv, off)
        if size < 16 or off + size > n:
            raise ValueError(f"bad event size {size} at offset {off}")
        yield t, instrument, seq, mv[off : off + size]
        off += size


def field_names(cls: type[Any]) -> list[str]:
    return list(cls.__struct_fields__)
