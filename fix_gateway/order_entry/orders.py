"""The gateway's order book: a pure projection of the event stream, and the reports it implies.

``OrderBook.apply(evt_seq, events, metas)`` folds one event batch (the engine's answer to one
command record, with the requests' metadata) into per-order state and returns the reports to
send, each addressed to the FIX session that entered the order or the request. Replaying the
same event stream from the start rebuilds the same state and the same reports with the same
ExecIDs (``<evt_seq>-<n>``), which is how a restarted gateway knows what it already sent.

Invariants: cum_qty + leaves_qty == order quantity while live; avg_px = sum(px * qty) / cum_qty;
an order's ClOrdID stays known after it is done, so a ClOrdID is never reused per account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from engine import commands as c
from fix_gateway.codec import er_body, er_terms, fold_events, py_er_body, py_er_terms
from venue.bus.envelope import RequestMeta
from venue.enums import OrdStatus
from venue.fixedpoint import format_decimal
from venue.instruments import InstrumentSpec
from venue.rejects import CancelReason, reject_text
from venue.rejects import cxl_rej_reason as cxl_code
from venue.rejects import ord_rej_reason as rej_code
from venue.sharded_dict import ShardedDict

from . import events as event_records
from . import reports
from .refdata import RefData, scales

_units = reports.units_text

_ASCII = {ch: ch.encode() for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}  # ExecType, OrdStatus
_SIDE = {c.BUY: "1", c.SELL: "2"}
_ORD_TYPE = {0: "1", 1: "2", 2: "3", 3: "4"}
_TIF = {0: "0", 1: "1", 2: "3", 3: "4", 4: "6"}
_CANCEL_TEXT: dict[int, str] = {  # CancelReason keys (IntEnum: an int finds them)
    CancelReason.USER: "",
    CancelReason.IOC_REMAINDER: "unfilled remainder of an immediate order canceled",
    CancelReason.FOK_UNFILLABLE: "fill-or-kill order could not be filled in full",
    CancelReason.SELF_TRADE: "canceled by self-trade prevention",
    CancelReason.MASS_CANCEL: "mass cancel",
    CancelReason.DAY_EXPIRED: "day order expired at end of session",
    CancelReason.GTD_EXPIRED: "good-till-date order expired",
}


def expand(fields: list[tuple[int, str | bytes | int]]) -> list[tuple[int, str | bytes | int]]:
    """A report's fields with its pre-encoded runs (tag 0) split back into (tag, value)."""
    out: list[tuple[int, str | bytes | int]] = []
    for tag, value in fields:
        if tag or type(value) is not bytes:
            out.append((tag, value))
            continue
        for part in value.split(b"\x01")[:-1]:
            t, _, v = part.partition(b"=")
            out.append((int(t), v))
    return out


class Report(NamedTuple):
    session: str
    msg_type: str
    fields: list[tuple[int, str | bytes | int]]
    evt_seq: int


class Order(msgspec.Struct, gc=False):
    """One order as the gateway reports it. Not tracked by the cyclic garbage collector
    (``gc=False``: it references no container that could lead back to it): the gateway keeps
    every order of the day, and a full collection scanning them stalls the event loop for
    hundreds of milliseconds."""

    order_id: int
    session: str
    account: str
    symbol: str
    spec: InstrumentSpec
    side: str
    ord_type: str
    tif: str
    cl_ord_id: str
    price: int
    stop_price: int
    qty: int
    leaves: int
    cum_qty: int = 0
    cum_value: int = 0  # sum of price units x quantity units over fills
    status: str = OrdStatus.NEW.value
    live: bool = True
    orig_cl_ord_id: str = ""
    head: bytes = b""  # encoded OrderID(37), ClOrdID(11); b"" after a change
    terms: bytes = b""  # encoded Account(1) .. TimeInForce(59); b"" after a change

    def encode_head(self) -> bytes:
        self.head = b"37=%d\x0111=%s\x01" % (self.order_id, self.cl_ord_id.encode())
        return self.head

    def encode_terms(self) -> bytes:
        """Account, Symbol, Side, OrderQty, OrdType, Price, StopPx, TimeInForce: the tags
        ``reports.execution_report`` puts between OrdStatus(39) and LastPx(31) (one C call,
        ``codec.er_terms``; its reference for values past 64 bits)."""
        ps, qs = scales(self.spec)[1:3]
        args = (self.account, self.symbol, self.side, self.qty, qs, self.ord_type, self.price, ps,
                self.stop_price, self.tif)
        try:
            self.terms = er_terms(*args)
        except OverflowError:
            self.terms = py_er_terms(*args)
        return self.terms

    def avg_px(self) -> Decimal:
        if self.cum_qty == 0:
            return Decimal(0)
        avg = self.spec.price_unit * Decimal(self.cum_value) / Decimal(self.cum_qty)
        return avg.quantize(Decimal(1).scaleb(-(self.spec.price_scale + 6))).normalize()

    def avg_px_text(self) -> str:
        """``format_decimal(self.avg_px())``; integer arithmetic when the average is a whole
        number of price units (always so for a single fill price)."""
        if self.cum_qty == 0:
            return "0"
        whole, rest = divmod(self.cum_value, self.cum_qty)
        if rest == 0:
            return _units(whole, scales(self.spec)[1])
        return format_decimal(self.avg_px())


@dataclass
class OrderBook:
    refdata: RefData
    fix44: Callable[[str], bool]
    transact_time: Callable[[], bytes]
    # The day's orders and ClOrdIDs: ShardedDicts, which grow a small shard at a time (a
    # dict of a day's orders rebuilt its whole table in one insert, stopping the event loop
    # for up to ~150 ms: venue/sharded_dict.py).
    orders: ShardedDict[int, Order] = field(default_factory=ShardedDict)
    # account -> ClOrdID -> order (every ClOrdID an order carried). Nested rather than keyed
    # by (account, ClOrdID): a tuple key per order is an object the cyclic collector tracks,
    # and the gateway made ~8,000 of them a second at 5,000 orders/s, so its youngest
    # generation filled every ~3 s and each collection stopped the event loop for ~10 ms.
    by_cl_ord_id: dict[str, ShardedDict[str, Order]] = field(default_factory=dict)
    # The live orders alone, in the order they were accepted: what cancel-on-disconnect,
    # mass cancel and mass status go through (a walk over the day's orders, ~0.5 s for
    # 500,000, stopped every session's event loop each time a client disconnected).
    live_by_id: dict[int, Order] = field(default_factory=dict)
    # per session, the event sequence up to which its reports were handed over before this
    # process started (Gateway.delivered_before): replaying the log, those ExecutionReports
    # are counted (ExecIDs stay the same) but not built again
    reported: dict[str, int] = field(default_factory=dict)
    days_ended: int = 0  # EndOfSession (all instruments) events seen: see end_of_day
    forgotten: int = 0  # orders the last end_of_day forgot
    _n: int = 0
    _evt_seq: int = 0
    # the TransactTime(60) of the event batch being folded (one for all its reports, whatever
    # the handler), and each session's FIX.4.4-or-not (sessions are configured once): per
    # report, a dictionary lookup instead of a clock read and formatting, and of a call
    _tt: bytes = b""
    _fix44: dict[str, bool] = field(default_factory=dict)
    _fold_ctx: tuple[Any, ...] | None = None  # codec.fold_events's, for the refdata it was made with

    # ------------------------------------------------------------ queries
    def find(self, account: str, cl_ord_id: str) -> Order | None:
        named = self.by_cl_ord_id.get(account)
        return None if named is None else named.get(cl_ord_id)

    def cl_ord_id_keys(self) -> list[tuple[str, str, Order]]:
        """Every (account, ClOrdID, order) the index holds."""
        return [(account, cl, o) for account, named in self.by_cl_ord_id.items() for cl, o in named.items()]

    def _name(self, o: Order) -> None:
        named = self.by_cl_ord_id.get(o.account)
        if named is None:
            named = self.by_cl_ord_id[o.account] = ShardedDict()
        named[o.cl_ord_id] = o

    def live_orders(self, session: str | None = None, account: str | None = None) -> list[Order]:
        return [
            o for o in self.live_by_id.values()
            if (session is None or o.session == session) and (account is None or o.account == account)
        ]

    def restore(self, orders: ShardedDict[int, Order], by_cl_ord_id: dict[str, ShardedDict[str, Order]]) -> None:
        """Take the orders and ClOrdIDs of a book snapshot (``book_snapshots``)."""
        self.orders, self.by_cl_ord_id = orders, by_cl_ord_id
        live = sorted((o for o in orders.values() if o.live), key=lambda o: o.order_id)  # (ids grow with time)
        self.live_by_id = {o.order_id: o for o in live}

    # ------------------------------------------------------------ folding events
    def apply_body(self, evt_seq: int, body: bytes, metas: dict[int, RequestMeta]) -> list[Report]:
        """``apply`` over an event batch's body (engine/wire.py records): one C call
        (``codec.fold_events``: accepted orders, fills and cancels done in C, the other events
        decoded there and handed to their handlers here), or decoded and applied in Python."""
        if fold_events is None:
            return self.apply(evt_seq, py_order_events(body), metas)
        self._evt_seq, self._n = evt_seq, 0
        self._tt = self.transact_time()
        ctx = self._fold_ctx
        if ctx is None or ctx[6] is not self.refdata.instruments_by_id:
            ctx = self._fold_ctx = self._fold_context()
        return fold_events(self, ctx, evt_seq, body, metas)

    def _fold_context(self) -> tuple[Any, ...]:
        """``codec.fold_events``'s ctx (see its comment in _codec.c), for this refdata."""
        by_id = self.refdata.instruments_by_id
        return (
            EVENT_TABLE, dict(_HANDLERS), Order, Report, ShardedDict,
            {iid: scales(spec) for iid, spec in by_id.items()}, by_id, ("1", "2"),
            tuple(_ORD_TYPE[k] for k in range(4)), tuple(_TIF[k] for k in range(5)),
            {int(k): v for k, v in _CANCEL_TEXT.items()},
            {"cancel-on-disconnect": "cancel on disconnect", "kill-switch": "kill switch"},
            int(CancelReason.USER), int(CancelReason.DAY_EXPIRED), int(CancelReason.GTD_EXPIRED), self.refdata,
        )

    def apply(self, evt_seq: int, events: Iterable[c.Event], metas: dict[int, RequestMeta]) -> list[Report]:
        self._evt_seq, self._n = evt_seq, 0
        self._tt = self.transact_time()
        out: list[Report] = []
        for ev in events:
            handler = _HANDLERS.get(type(ev))
            if handler is not None:
                handler(self, ev, metas.get(ev.seq), out)
        return out

    def _exec_id(self) -> str:
        self._n += 1
        return f"{self._evt_seq}-{self._n}"

    def _er(
        self,
        o: Order,
        exec_type: str,
        out: list[Report],
        orig_cl_ord_id: Any = "",
        *,
        text: Any = "",
        last_px: int = 0,
        last_qty: int = 0,
        commission: int | None = None,
        last_liquidity: str = "",
        aggressor: bool | None = None,
    ) -> None:
        """One ExecutionReport for an order: the fields ``reports.execution_report`` makes
        (same tags, same order, same text), encoded here once as a run of body fields
        (``(0, bytes)``: see ``fix_gateway.codec.encode``), because this runs once per report.
        The order's fixed fields are encoded once per order (``Order.head`` / ``Order.terms``)."""
        session = o.session
        self._n += 1
        try:
            # no session (operator orders), or a replay of what the session was handed before
            # this process started: counted (ExecIDs stay the same), not built
            if not session or 0 < self._evt_seq <= self.reported.get(session, 0):
                return
            fix44 = self._fix44.get(session)
            if fix44 is None:
                fix44 = self._fix44[session] = self.fix44(session)
            if exec_type == "L" and fix44:
                exec_type = "D"  # FIX.4.4 has no ExecType L (Triggered): report it as Restated
            _, ps, qs, quote_scale = scales(o.spec)
            cum, cum_value = o.cum_qty, o.cum_value
            args = (
                o.head or o.encode_head(), orig_cl_ord_id.encode() if orig_cl_ord_id else b"",
                self._evt_seq, self._n, _ASCII[exec_type], _ASCII[o.status], o.terms or o.encode_terms(),
                last_px, last_qty, ps, qs, o.leaves, cum,
                None if cum == 0 or cum_value % cum == 0 else o.avg_px_text().encode(), cum_value,
                commission, quote_scale, text.encode() if text else b"", self._tt,
                last_liquidity.encode(), -1 if aggressor is None or fix44 else int(aggressor),
            )
            try:
                body = er_body(*args)
            except OverflowError:  # a value past 64 bits: the reference has no limit
                body = py_er_body(*args)
            out.append(Report(session, "8", [(0, body)], self._evt_seq))
        finally:
            if not o.live:  # its last report: the encoded parts would only hold memory all day
                o.head = o.terms = b""

    def _accepted(self, ev: c.OrderAccepted, meta: RequestMeta | None, out: list[Report]) -> None:
        spec = self.refdata.instruments_by_id.get(ev.instrument)
        account = self.refdata.accounts_by_id.get(ev.account)
        if spec is None or account is None:
            return  # an instrument/account this gateway has not loaded yet
        o = Order(
            order_id=ev.order_id,
            session=meta.session if meta else "",
            account=account.code,
            symbol=spec.symbol,
            spec=spec,
            side=_SIDE[ev.side],
            ord_type=_ORD_TYPE.get(ev.ord_type, "2"),
            tif=_TIF.get(ev.tif, "0"),
            cl_ord_id=meta.cl_ord_id if meta else str(ev.order_id),
            price=ev.price,
            stop_price=ev.stop_price,
            qty=ev.qty,
            leaves=ev.qty,
        )
        self.orders[o.order_id] = o
        self.live_by_id[o.order_id] = o
        self._name(o)
        self._er(o, "0", out)

    def _rejected(self, ev: c.Rejected, meta: RequestMeta | None, out: list[Report]) -> None:
        if meta is None or not meta.session:
            return
        fix44 = self.fix44(meta.session)
        text = reject_text(ev.code)
        if ev.command == c.CmdType.NEW_ORDER:
            zero = Decimal(0)
            qty = Decimal(meta.qty) if meta.qty else None
            fields = reports.execution_report(
                order_id="NONE", cl_ord_id=meta.cl_ord_id, exec_id=self._exec_id(), exec_type="8",
                ord_status="8", account=meta.account, symbol=meta.symbol, side=meta.side or "1",
                order_qty=qty, ord_type=meta.ord_type, leaves_qty=zero, cum_qty=zero, avg_px=zero,
                ord_rej_reason=reports.ord_rej_reason(rej_code(ev.code), fix44), text=text,
                transact_time=self._tt, fix44=fix44,
            )
            out.append(Report(meta.session, "8", list(fields), self._evt_seq))
        elif ev.command in (c.CmdType.CANCEL, c.CmdType.REPLACE):
            o = self.orders.get(ev.ref_id)
            fields = reports.cancel_reject(
                order_id=str(ev.ref_id) if o else "NONE", cl_ord_id=meta.cl_ord_id,
                orig_cl_ord_id=meta.orig_cl_ord_id, ord_status=o.status if o else "8",
                response_to="1" if ev.command == c.CmdType.CANCEL else "2",
                reason=reports.cxl_rej_reason(cxl_code(ev.code), fix44), text=text,
                transact_time=self._tt, account=meta.account,
            )
            self._n += 1
            out.append(Report(meta.session, "9", list(fields), self._evt_seq))
        elif ev.command == c.CmdType.MASS_CANCEL:
            fields = reports.mass_cancel_report(
                cl_ord_id=meta.cl_ord_id, order_id=f"MC{meta.seq}", request_type=meta.extra or "7",
                response="0", affected=0, reject_reason=99, text=text, transact_time=self._tt,
            )
            self._n += 1
            out.append(Report(meta.session, "r", list(fields), self._evt_seq))

    def _trade(self, ev: c.Trade, meta: RequestMeta | None, out: list[Report]) -> None:
        for order_id, leaves, fee, maker in (
            (ev.maker_order_id, ev.maker_leaves, ev.maker_fee, True),
            (ev.taker_order_id, ev.taker_leaves, ev.taker_fee, False),
        ):
            o = self.orders.get(order_id)
            if o is None:
                continue
            o.cum_qty += ev.qty
            o.cum_value += ev.price * ev.qty
            o.leaves = leaves
            if leaves == 0:
                o.status, o.live = OrdStatus.FILLED.value, False
                self.live_by_id.pop(order_id, None)
            else:
                o.status = OrdStatus.PARTIALLY_FILLED.value
            self._er(
                o, "F", out, last_px=ev.price, last_qty=ev.qty, commission=fee,
                last_liquidity="1" if maker else "2", aggressor=not maker,
            )

    def _canceled(self, ev: c.OrderCanceled | c.OrderExpired, meta: RequestMeta | None, out: list[Report]) -> None:
        o = self.orders.get(ev.order_id)
        if o is None:
            return
        o.leaves = ev.leaves_qty
        if ev.leaves_qty > 0:  # partial cancel (self-trade decrement): the order stays live
            o.qty -= ev.canceled_qty
            o.terms = b""
            self._er(o, "D", out, text=_CANCEL_TEXT.get(ev.reason, ""))
            return
        o.live = False
        self.live_by_id.pop(o.order_id, None)
        expired = isinstance(ev, c.OrderExpired) or ev.reason in (CancelReason.DAY_EXPIRED, CancelReason.GTD_EXPIRED)
        o.status = OrdStatus.EXPIRED.value if expired else OrdStatus.CANCELED.value
        orig = ""
        if meta is not None and ev.reason == CancelReason.USER and meta.cl_ord_id and meta.orig_cl_ord_id:
            orig = o.cl_ord_id
            o.cl_ord_id, o.head = meta.cl_ord_id, b""
            self._name(o)
        text = _CANCEL_TEXT.get(ev.reason, "")
        if meta is not None and meta.source in ("cancel-on-disconnect", "kill-switch"):
            text = meta.source.replace("-", " ")
        self._er(o, "C" if expired else "4", out, orig_cl_ord_id=orig, text=text)

    def _replaced(self, ev: c.OrderReplaced, meta: RequestMeta | None, out: list[Report]) -> None:
        o = self.orders.get(ev.order_id)
        if o is None:
            return
        orig = o.cl_ord_id
        if meta is not None and meta.cl_ord_id:
            o.cl_ord_id, o.head = meta.cl_ord_id, b""
            self._name(o)
        o.price, o.qty, o.leaves, o.terms = ev.price, ev.qty, ev.leaves_qty, b""
        self._er(o, "5", out, orig_cl_ord_id=orig)

    def _triggered(self, ev: c.OrderTriggered, meta: RequestMeta | None, out: list[Report]) -> None:
        o = self.orders.get(ev.order_id)
        if o is not None:
            self._er(o, "L", out, text="stop triggered")

    def _mass_canceled(self, ev: c.MassCanceled, meta: RequestMeta | None, out: list[Report]) -> None:
        if meta is None or not meta.session or meta.source != "fix":
            return
        fields = reports.mass_cancel_report(
            cl_ord_id=meta.cl_ord_id, order_id=f"MC{meta.seq}", request_type=meta.extra or "7",
            response=meta.extra or "7", affected=ev.count, symbol=meta.symbol, side=meta.side,
            transact_time=self._tt,
        )
        self._n += 1
        out.append(Report(meta.session, "r", list(fields), self._evt_seq))

    def _acknowledged(self, ev: c.Acknowledged, meta: RequestMeta | None, out: list[Report]) -> None:
        if ev.command == c.CmdType.END_OF_SESSION and ev.instrument == 0:
            self.end_of_day()

    def end_of_day(self) -> int:
        """The trading day ended (EndOfSession for every instrument, in the event log, so a
        replay forgets at the same point): forget the orders that are done. Their ClOrdIDs
        may be used again (FIX asks ClOrdIDs to be unique within a trading day) and status
        requests no longer find them; live orders (GTC, GTD) and every ClOrdID they carried
        stay. This bounds the gateway's memory by a day's orders. Returns how many went
        (also kept in ``forgotten``)."""
        self.forgotten = len(self.orders) - len(self.live_by_id)
        self.orders = ShardedDict(self.live_by_id.items())
        kept = (
            (account, ShardedDict((cl, o) for cl, o in named.items() if o.live))
            for account, named in self.by_cl_ord_id.items()
        )
        self.by_cl_ord_id = {account: named for account, named in kept if named}
        self.days_ended += 1
        return self.forgotten

    # ------------------------------------------------------------ status (answered locally)
    def status_report(self, o: Order, out: list[Report], evt_seq: int) -> None:
        self._evt_seq, self._n = evt_seq, 0
        self._tt = self.transact_time()
        self._er(o, "I", out)


_HANDLERS: dict[type, Callable[[OrderBook, object, RequestMeta | None, list[Report]], None]] = {
    c.OrderAccepted: OrderBook._accepted,  # type: ignore[dict-item]
    c.Rejected: OrderBook._rejected,  # type: ignore[dict-item]
    c.Trade: OrderBook._trade,  # type: ignore[dict-item]
    c.OrderCanceled: OrderBook._canceled,  # type: ignore[dict-item]
    c.OrderExpired: OrderBook._canceled,  # type: ignore[dict-item]
    c.OrderReplaced: OrderBook._replaced,  # type: ignore[dict-item]
    c.OrderTriggered: OrderBook._triggered,  # type: ignore[dict-item]
    c.MassCanceled: OrderBook._mass_canceled,  # type: ignore[dict-item]
    c.Acknowledged: OrderBook._acknowledged,  # type: ignore[dict-item]
}
HANDLED_EVENTS = frozenset(_HANDLERS)
_DECODERS = event_records.decoders(HANDLED_EVENTS)
EVENT_TABLE = event_records.table(HANDLED_EVENTS)


def py_order_events(body: bytes) -> list[Any]:
    """The events the order book folds in an event batch's body, decoded (the Python way;
    ``OrderBook.apply_body`` folds in C where it can)."""
    return event_records.decode(body, _DECODERS)
