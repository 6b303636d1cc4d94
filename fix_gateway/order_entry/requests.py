"""FIX order-entry requests -> engine commands (pure functions, no I/O).

Each translator returns either ``(command, meta)`` — ready to queue for the command log — or a
``Refusal`` the application answers at once (ExecutionReport 150=8 for a new order,
OrderCancelReject for a cancel/replace). Refusals at this edge use the same reject table as
the engine (venue.rejects), so a client sees one set of reasons wherever a check happens.

Tag mapping (docs/fix.md, "Order entry"): Side(54) 1/2; OrdType(40) 1 market, 2 limit, 3 stop,
4 stop limit; TimeInForce(59) 0 DAY (default), 1 GTC, 3 IOC, 4 FOK, 6 GTD (ExpireTime 126);
Price(44); StopPx(99); OrderQty(38); MaxFloor(111) iceberg display quantity; ExecInst(18)
containing 6 post-only; SelfTradePreventionMode(7928, venue tag) 1 cancel newest, 2 cancel
oldest, 3 cancel both, 4 decrement and cancel (default: the session's stp_mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from engine import commands as c
from engine import wire
from fix_gateway._pycodec import POW10
from fix_gateway.codec import FixMessage
from fix_gateway.session.times import parse_utc
from venue.bus.envelope import RequestMeta
from venue.fixedpoint import NotANumber, OffIncrement, parse_decimal
from venue.instruments import InstrumentSpec
from venue.rejects import RejectCode, cxl_rej_reason, ord_rej_reason, reject_text

from .refdata import AccountRef, RefData, scales

TAG_STP_MODE = 7928

# Plain ints (not the IntEnum members) on the per-order path: an enum attribute costs more
# than the dictionary lookup it feeds.
_LIMIT, _STOP, _STOP_LIMIT = int(c.OrdTypeCode.LIMIT), int(c.OrdTypeCode.STOP), int(c.OrdTypeCode.STOP_LIMIT)
_GTD = int(c.TifCode.GTD)
_ORD_TYPES = {b"1": int(c.OrdTypeCode.MARKET), b"2": _LIMIT, b"3": _STOP, b"4": _STOP_LIMIT}
_TIFS = {b"0": int(c.TifCode.DAY), b"1": int(c.TifCode.GTC), b"3": int(c.TifCode.IOC), b"4": int(c.TifCode.FOK), b"6": _GTD}
_SIDES = {b"1": int(c.BUY), b"2": int(c.SELL)}
_PRICED = frozenset({_LIMIT, _STOP_LIMIT})
_STOPS = frozenset({_STOP, _STOP_LIMIT})
_STP_MODES = {b"0": 0, b"1": 1, b"2": 2, b"3": 3, b"4": 4}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # the command record's signed fields


@dataclass(frozen=True)
class SessionContext:
    session_id: str
    firm: str
    accounts: tuple[str, ...]  # accounts this session may trade; the first is the default
    stp_mode: int = 1  # venue.enums.SelfTradePrevention
    fix44: bool = True
    cancel_on_disconnect: bool = False


class Refusal(NamedTuple):
    ord_rej_reason: int  # 103 for new orders
    cxl_rej_reason: int  # 102 for cancels / replaces
    text: str

    @classmethod
    def of(cls, code: RejectCode, detail: str = "") -> Refusal:
        text = reject_text(code)
        return cls(ord_rej_reason(code), cxl_rej_reason(code), f"{text}: {detail}" if detail else text)


class OrderRef(NamedTuple):
    """What a cancel/replace needs to know about a live order."""

    order_id: int
    account: str
    symbol: str
    side: str
    live: bool


def _text(msg: FixMessage, tag: int) -> str:
    value = msg.get(tag)
    return value.decode("latin-1") if value is not None else ""


def _decimal(msg: FixMessage, tag: int) -> Decimal | None:
    value = msg.get(tag)
    if value is None:
        return None
    return parse_decimal(value)


def _fast_units(raw: bytes, scale: int) -> int | None:
    """Integer units (of 10**-scale) of a plain ``digits[.digits]`` value, without Decimal;
    None for anything else (signs, exponents, an off-increment value...): the caller then
    takes the general Decimal path, which refuses or converts exactly as before."""
    head, dot, frac = raw.partition(b".")
    if not head.isdigit() or (dot and not frac.isdigit()) or len(head) + scale > 27:
        return None
    if len(frac) > scale:
        if frac[scale:].strip(b"0"):
            return None
        frac = frac[:scale]
    units = int(head) * POW10[scale]
    if frac:
        units += int(frac) * POW10[scale - len(frac)]
    return units


def _account(ctx: SessionContext, refdata: RefData, msg: FixMessage) -> AccountRef | Refusal:
    code = _text(msg, 1) or (ctx.accounts[0] if ctx.accounts else "")
    if code not in ctx.accounts:
        return Refusal.of(RejectCode.UNKNOWN_ACCOUNT, f"account {code!r} is not tradable on this session")
    ref = refdata.accounts.get(code)
    if ref is None:
        return Refusal.of(RejectCode.UNKNOWN_ACCOUNT, code)
    if ref.firm in refdata.killed_firms:
        return Refusal(3, 99, f"trading disabled for firm {ref.firm} (kill switch)")
    return ref


def _instrument(refdata: RefData, msg: FixMessage) -> InstrumentSpec | Refusal:
    symbol = _text(msg, 55)
    spec = refdata.instruments.get(symbol)
    if spec is None:
        return Refusal.of(RejectCode.UNKNOWN_INSTRUMENT, symbol or "(no Symbol)")
    return spec


def _price(spec: InstrumentSpec, value: Decimal | None, what: str) -> int | Refusal:
    if value is None:
        return 0
    try:
        return spec.price_units(value)
    except OffIncrement:
        return Refusal.of(RejectCode.PRICE_OFF_TICK, f"{what} {value} (tick {spec.tick_size})")


def _qty(spec: InstrumentSpec, value: Decimal | None, what: str) -> int | Refusal:
    if value is None:
        return 0
    try:
        return spec.qty_units(value)
    except OffIncrement:
        return Refusal.of(RejectCode.QTY_OFF_LOT, f"{what} {value} (lot {spec.lot_size})")


def new_order(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, order_id: int, now_ns: int
) -> tuple[bytes, RequestMeta] | Refusal:
    """(the NewOrder command record, its metadata), or the Refusal. The record comes encoded
    (``wire.encode_new_order``): the gateway needs no NewOrder object, only its bytes.
    The reference of ``codec.new_order_fast``, which the application tries first."""
    try:
        return _new_order(ctx, refdata, msg, order_id, now_ns)
    except NotANumber as exc:
        return Refusal(99, 99, str(exc))


def _new_order(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, order_id: int, now_ns: int
) -> tuple[bytes, RequestMeta] | Refusal:
    account = _account(ctx, refdata, msg)
    if isinstance(account, Refusal):
        return account
    spec = _instrument(refdata, msg)
    if isinstance(spec, Refusal):
        return spec
    get = msg.fields_by_tag().get  # one dict lookup per tag below, no method call
    _, price_scale, qty_scale, _ = scales(spec)
    terms = _order_terms(ctx, spec, msg, get, price_scale, qty_scale)
    if isinstance(terms, Refusal):
        return terms
    side, ord_type, tif, qty, price, stop, display, flags, stp, expire = terms
    side_raw, type_raw, qty_raw, price_raw = get(54), get(40), get(38), get(44)
    command = wire.encode_new_order(
        order_id, now_ns, order_id, account.account_id, spec.instrument_id, side, ord_type, tif,
        price, qty, stop, display, flags, stp, expire,
    )
    cl_ord_id = get(11)
    meta = RequestMeta(
        seq=order_id,
        session=ctx.session_id,
        cl_ord_id=cl_ord_id.decode("latin-1") if cl_ord_id is not None else "",
        account=account.code,
        symbol=spec.symbol,
        firm=account.firm,
        source="fix",
        side=side_raw.decode("latin-1"),  # type: ignore[union-attr]
        ord_type=type_raw.decode("latin-1"),  # type: ignore[union-attr]
        price=price_raw.decode("latin-1") if price_raw is not None else "",
        qty=qty_raw.decode("latin-1") if qty_raw is not None else "",
    )
    return command, meta


def _order_terms(
    ctx: SessionContext, spec: InstrumentSpec, msg: FixMessage, get: Callable[[int], bytes | None],
    price_scale: int, qty_scale: int,
) -> tuple[int, int, int, int, int, int, int, int, int, int] | Refusal:
    """(side, ord_type, tif, qty, price, stop, display, flags, stp, expire) of a NewOrderSingle,
    every tag read and checked."""
    side_raw = get(54)
    side = _SIDES.get(side_raw or b"")
    if side is None:
        return Refusal.of(RejectCode.INVALID_SIDE, _text(msg, 54))
    type_raw = get(40)
    ord_type = _ORD_TYPES.get(type_raw or b"")
    if ord_type is None:
        return Refusal.of(RejectCode.INVALID_ORD_TYPE, _text(msg, 40))
    tif = _TIFS.get(get(59) or b"0")
    if tif is None:
        return Refusal.of(RejectCode.INVALID_TIF, f"TimeInForce {_text(msg, 59)} not supported")
    qty_raw = get(38)
    fast_qty = _fast_units(qty_raw, qty_scale) if qty_raw is not None else None
    if fast_qty:  # a plain positive quantity
        qty = fast_qty
    else:  # absent, zero or not a plain number: the general path
        qty_dec = _decimal(msg, 38)
        if qty_dec is None or qty_dec <= 0:
            return Refusal.of(RejectCode.QTY_NOT_POSITIVE)
        qty_or = _qty(spec, qty_dec, "OrderQty")
        if isinstance(qty_or, Refusal):
            return qty_or
        qty = qty_or
    price_raw = get(44)
    fast_price = _fast_units(price_raw, price_scale) if price_raw is not None else None
    if fast_price:  # a plain positive price
        price = fast_price if ord_type in _PRICED else 0
    else:
        price_dec = _decimal(msg, 44)
        if ord_type in _PRICED and (price_dec is None or price_dec <= 0):
            return Refusal.of(RejectCode.INVALID_PRICE, "limit orders need a positive Price(44)")
        price_or = _price(spec, price_dec, "Price") if ord_type in _PRICED else 0
        if isinstance(price_or, Refusal):
            return price_or
        price = price_or
    stop = 0
    if ord_type in _STOPS or get(99) is not None:  # a StopPx must parse even when unused
        stop_dec = _decimal(msg, 99)
        if ord_type in _STOPS:
            if stop_dec is None or stop_dec <= 0:
                return Refusal.of(RejectCode.INVALID_STOP_PRICE, "stop orders need a positive StopPx(99)")
            stop_or = _price(spec, stop_dec, "StopPx")
            if isinstance(stop_or, Refusal):
                return stop_or
            stop = stop_or
    display = 0
    if get(111) is not None:
        display_or = _qty(spec, _decimal(msg, 111), "MaxFloor")
        if isinstance(display_or, Refusal):
            return display_or
        display = display_or
    exec_inst = get(18)
    flags = c.FLAG_POST_ONLY if exec_inst is not None and b"6" in exec_inst.split(b" ") else 0
    stp_raw = get(TAG_STP_MODE)
    stp = ctx.stp_mode
    if stp_raw is not None:
        stp_or = _STP_MODES.get(stp_raw)
        if stp_or is None:
            return Refusal.of(RejectCode.INVALID_STP_MODE, stp_raw.decode("latin-1"))
        stp = stp_or
    expire = 0
    if tif == _GTD:
        raw = get(126)
        parsed = parse_utc(raw) if raw else None
        if parsed is None:
            return Refusal.of(RejectCode.INVALID_EXPIRE_TIME, "GTD needs ExpireTime(126)")
        expire = parsed
    out_of_range = _beyond_int64(msg, ((qty, 38, RejectCode.QTY_ABOVE_MAX), (price, 44, RejectCode.INVALID_PRICE),
                                       (stop, 99, RejectCode.INVALID_STOP_PRICE), (display, 111, RejectCode.INVALID_DISPLAY_QTY),
                                       (expire, 126, RejectCode.INVALID_EXPIRE_TIME)))
    if out_of_range is not None:
        return out_of_range
    return side, ord_type, tif, qty, price, stop, display, flags, stp, expire


def _beyond_int64(msg: FixMessage, values: tuple[tuple[int, int, RejectCode], ...]) -> Refusal | None:
    """The refusal for the first value the command record cannot hold (64-bit signed), if any:
    an order that large can be nothing but a mistake, and it must be refused, not crash."""
    for value, tag, code in values:
        if not _INT64_MIN <= value <= _INT64_MAX:
            return Refusal.of(code, f"{_NAMES[tag]}({tag}) {_text(msg, tag)} is beyond the venue's range")
    return None


_NAMES = {38: "OrderQty", 44: "Price", 99: "StopPx", 111: "MaxFloor", 126: "ExpireTime"}


def _live_order(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, order: OrderRef | None, what: str
) -> tuple[AccountRef, OrderRef] | Refusal:
    """The account and the live order a cancel or replace names (OrigClOrdID 41)."""
    account = _account(ctx, refdata, msg)
    if isinstance(account, Refusal):
        return account
    if order is None or order.account != account.code:
        return Refusal(5, 1, f"unknown order: OrigClOrdID {_text(msg, 41)!r}")
    if not order.live:
        return Refusal(5, 0, f"too late to {what}: the order is done")
    return account, order


def _amend_meta(ctx: SessionContext, msg: FixMessage, seq: int, account: AccountRef, order: OrderRef, **extra: str) -> RequestMeta:
    return RequestMeta(
        seq=seq, session=ctx.session_id, cl_ord_id=_text(msg, 11), orig_cl_ord_id=_text(msg, 41),
        account=account.code, symbol=order.symbol, firm=account.firm, source="fix", side=order.side, **extra,
    )


def cancel(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, order: OrderRef | None, seq: int, now_ns: int
) -> tuple[c.Cancel, RequestMeta] | Refusal:
    found = _live_order(ctx, refdata, msg, order, "cancel")
    if isinstance(found, Refusal):
        return found
    account, live = found
    meta = _amend_meta(ctx, msg, seq, account, live)
    return c.Cancel(seq=seq, ts=now_ns, order_id=live.order_id, account=account.account_id), meta


def replace(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, order: OrderRef | None, seq: int, now_ns: int
) -> tuple[c.Replace, RequestMeta] | Refusal:
    found = _live_order(ctx, refdata, msg, order, "replace")
    if isinstance(found, Refusal):
        return found
    account, order = found
    spec = refdata.instruments.get(order.symbol)
    assert spec is not None
    if _text(msg, 55) not in ("", order.symbol) or _text(msg, 54) not in ("", order.side):
        return Refusal(99, 99, "a replace cannot change Symbol or Side")
    try:
        qty_dec = _decimal(msg, 38)
        price_dec = _decimal(msg, 44)
    except NotANumber as exc:
        return Refusal(99, 99, str(exc))
    if qty_dec is None or qty_dec <= 0:
        return Refusal.of(RejectCode.QTY_NOT_POSITIVE)
    qty = _qty(spec, qty_dec, "OrderQty")
    if isinstance(qty, Refusal):
        return qty
    price = _price(spec, price_dec, "Price")
    if isinstance(price, Refusal):
        return price
    out_of_range = _beyond_int64(msg, ((qty, 38, RejectCode.QTY_ABOVE_MAX), (price, 44, RejectCode.INVALID_PRICE)))
    if out_of_range is not None:
        return out_of_range
    meta = _amend_meta(ctx, msg, seq, account, order, price=_text(msg, 44), qty=_text(msg, 38))
    return c.Replace(seq=seq, ts=now_ns, order_id=order.order_id, account=account.account_id, price=price, qty=qty), meta


def mass_cancel(
    ctx: SessionContext, refdata: RefData, msg: FixMessage, seq: int, now_ns: int
) -> tuple[c.MassCancel, RequestMeta] | Refusal:
    """MassCancelRequestType(530): 1 by Symbol, 7 all orders (of the account)."""
    account = _account(ctx, refdata, msg)
    if isinstance(account, Refusal):
        return account
    kind = _text(msg, 530)
    instrument = 0
    if kind == "1":
        spec = _instrument(refdata, msg)
        if isinstance(spec, Refusal):
            return spec
        instrument = spec.instrument_id
    elif kind != "7":
        return Refusal(99, 99, f"MassCancelRequestType {kind!r} not supported (1 or 7)")
    side = _SIDES.get(msg.get(54) or b"", c.BOTH_SIDES)
    meta = RequestMeta(
        seq=seq, session=ctx.session_id, cl_ord_id=_text(msg, 11), account=account.code,
        symbol=_text(msg, 55), firm=account.firm, source="fix", side=_text(msg, 54), extra=kind,
    )
    return c.MassCancel(seq=seq, ts=now_ns, account=account.account_id, instrument=instrument, side=side), meta
