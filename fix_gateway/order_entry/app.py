"""The order-entry Application: what the FIX session layer calls for each message.

Synchronous and free of I/O: a request becomes an engine command record handed to ``submit``
(the service batches them into the command log) or an immediate refusal. Acknowledgements
come later, from the event stream (orders.OrderBook), never from here: nothing is acknowledged
before the command log has it and the engine has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from engine import commands as c
from engine import wire
from fix_gateway.application import BusinessReject, Outgoing, Reply
from fix_gateway.codec import FixMessage, cancel_fast, new_order_fast
from venue.bus.envelope import RequestMeta
from venue.clock import Clock
from venue.ids import IdAllocator

from . import reports, requests
from .orders import Order, OrderBook, Report, expand
from .refdata import RefData
from .requests import OrderRef, Refusal, SessionContext

Submit = Callable[[bytes, RequestMeta], None]
SubmitRun = Callable[[list[tuple[bytes, RequestMeta]]], None]

SUPPORTED = frozenset({b"D", b"F", b"G", b"H", b"q", b"AF", b"x"})


def _text(msg: FixMessage, tag: int) -> str:
    value = msg.get(tag)
    return value.decode("latin-1") if value is not None else ""


class OrderEntryApplication:
    def __init__(
        self,
        sessions: dict[str, SessionContext],
        refdata: RefData,
        book: OrderBook,
        ids: IdAllocator,
        clock: Clock,
        submit: Submit,
        submit_run: SubmitRun | None = None,
    ) -> None:
        self.sessions = sessions
        self.refdata = refdata
        self.book = book
        self.ids = ids
        self.clock = clock
        self.submit = submit
        self.submit_run = submit_run  # None: a run's requests are submitted one by one
        self.inflight: dict[int, tuple[str, str]] = {}  # command seq -> (account, ClOrdID)
        self._inflight_keys: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ session callbacks
    def on_logon(self, session_id: str) -> None:
        pass

    def on_logout(self, session_id: str) -> None:
        ctx = self.sessions.get(session_id)
        if ctx is not None and ctx.cancel_on_disconnect:
            self.cancel_session_orders(session_id, "cancel-on-disconnect")

    def on_message(self, session_id: str, message: FixMessage) -> Reply:
        ctx = self.sessions.get(session_id)
        mt = message.msg_type
        if ctx is None or mt not in SUPPORTED:
            return BusinessReject(3, "Unsupported Message Type", message.get(35))
        if mt == b"D":
            return self._new_order(ctx, message)
        if mt == b"F":
            return self._cancel_or_replace(ctx, message, replace=False)
        if mt == b"G":
            return self._cancel_or_replace(ctx, message, replace=True)
        if mt == b"H":
            return self._status(ctx, message)
        if mt == b"q":
            return self._mass_cancel(ctx, message)
        if mt == b"AF":
            return self._mass_status(ctx, message)
        return self._security_list(ctx, message)

    # ------------------------------------------------------------ runs of plain requests (application.RunTaker)
    def run_args(self, session_id: str) -> tuple[object, ...] | None:
        """The application's part of ``codec.take_run`` for one read of ``session_id``: its
        plans, ids and duplicate checks, as ``_new_order`` and ``_cancel_or_replace`` pass
        them to the C translations (None when those are not built)."""
        ctx = self.sessions.get(session_id)
        if ctx is None or new_order_fast is None:
            return None
        ids = self.ids
        return (self._plan(ctx), ids.gateway_id, ids.last, self.clock.now_ns(), self.inflight,
                self._inflight_keys, self.book.by_cl_ord_id)

    def took(self, session_id: str, requests: list[tuple[bytes, RequestMeta]], last_id: int) -> None:
        """What ``take_run`` translated (its ClOrdIDs already in flight): to the batching."""
        self.ids.last = last_id
        if self.submit_run is not None:
            self.submit_run(requests)
        else:
            for record, meta in requests:
                self.submit(record, meta)

    def untake(self, session_id: str, requests: list[tuple[bytes, RequestMeta]]) -> None:
        """``take_run`` raised after marking these ClOrdIDs in flight: they were never
        submitted, and the session (closed for the error) has not counted them either."""
        for _, meta in requests:
            key = self.inflight.pop(meta.seq, None)
            if key is not None:
                self._inflight_keys.discard(key)

    # ------------------------------------------------------------ events settle in-flight requests
    def settle(self, metas: dict[int, RequestMeta]) -> None:
        for seq in metas:
            key = self.inflight.pop(seq, None)
            if key is not None:
                self._inflight_keys.discard(key)

    # ------------------------------------------------------------ requests
    def _queue(self, command: c.Command | bytes, meta: RequestMeta) -> None:
        """Hand a command (or its record, already encoded) to the batching with its metadata."""
        self.submit(command if isinstance(command, bytes) else wire.encode_command(command), meta)
        if meta.cl_ord_id:
            key = (meta.account, meta.cl_ord_id)
            self.inflight[meta.seq] = key
            self._inflight_keys.add(key)

    def _duplicate(self, account: str, cl_ord_id: str) -> bool:
        return (account, cl_ord_id) in self._inflight_keys or self.book.find(account, cl_ord_id) is not None

    def _refuse_order(self, ctx: SessionContext, msg: FixMessage, refusal: Refusal) -> Reply:
        zero = Decimal(0)
        fields = reports.execution_report(
            order_id="NONE",
            cl_ord_id=_text(msg, 11),
            exec_id=f"R{self.ids.next()}",
            exec_type="8",
            ord_status="8",
            account=_text(msg, 1),
            symbol=_text(msg, 55) or "?",
            side=_text(msg, 54) or "1",
            order_qty=None,
            ord_type=_text(msg, 40),
            leaves_qty=zero,
            cum_qty=zero,
            avg_px=zero,
            ord_rej_reason=reports.ord_rej_reason(refusal.ord_rej_reason, ctx.fix44),
            text=refusal.text,
            transact_time=self.book.transact_time(),
            fix44=ctx.fix44,
        )
        return [Outgoing("8", fields)]

    def _plan(self, ctx: SessionContext) -> tuple[object, ...]:
        plan = self.refdata.order_plans.get(ctx.session_id)
        return plan if plan is not None and plan[0] is ctx else self.refdata.order_plan(ctx)

    def _new_order(self, ctx: SessionContext, msg: FixMessage) -> Reply:
        now = self.clock.now_ns()
        order_id = self.ids.next_at(now)
        if new_order_fast is not None:  # a plain order, not a duplicate: translated in one C call
            fast = new_order_fast(msg, self._plan(ctx), order_id, now, self._inflight_keys, self.book.by_cl_ord_id)
            if fast is not None:
                self._queue(*fast)
                return []
        result = requests.new_order(ctx, self.refdata, msg, order_id, now)
        if isinstance(result, Refusal):
            return self._refuse_order(ctx, msg, result)
        command, meta = result
        if self._duplicate(meta.account, meta.cl_ord_id):
            if msg.get(97) == b"Y":  # PossResend of an order we already have: not re-executed
                return []
            return self._refuse_order(ctx, msg, Refusal(6, 6, f"duplicate ClOrdID {meta.cl_ord_id!r}"))
        self._queue(command, meta)
        return []

    def _order_ref(self, ctx: SessionContext, msg: FixMessage) -> OrderRef | None:
        account = _text(msg, 1) or (ctx.accounts[0] if ctx.accounts else "")
        o = self.book.find(account, _text(msg, 41))
        if o is None:
            return None
        return OrderRef(o.order_id, o.account, o.symbol, o.side, o.live)

    def _cancel_or_replace(self, ctx: SessionContext, msg: FixMessage, *, replace: bool) -> Reply:
        now = self.clock.now_ns()
        seq = self.ids.next_at(now)
        if not replace and cancel_fast is not None:  # a cancel of a live order: one C call
            fast = cancel_fast(msg, self._plan(ctx), seq, now, self._inflight_keys, self.book.by_cl_ord_id)
            if fast is not None:
                self._queue(*fast)
                return []
        order = self._order_ref(ctx, msg)
        translate = requests.replace if replace else requests.cancel
        result = translate(ctx, self.refdata, msg, order, seq, now)
        if not isinstance(result, Refusal) and self._duplicate(result[1].account, result[1].cl_ord_id):
            result = Refusal(6, 6, f"duplicate ClOrdID {result[1].cl_ord_id!r}")
        if isinstance(result, Refusal):
            known = self.book.orders.get(order.order_id) if order else None
            fields = reports.cancel_reject(
                order_id=str(order.order_id) if order else "NONE",
                cl_ord_id=_text(msg, 11),
                orig_cl_ord_id=_text(msg, 41),
                ord_status=known.status if known else "8",
                response_to="2" if replace else "1",
                reason=reports.cxl_rej_reason(result.cxl_rej_reason, ctx.fix44),
                text=result.text,
                transact_time=self.book.transact_time(),
                account=_text(msg, 1),
            )
            return [Outgoing("9", fields)]
        command, meta = result
        self._queue(command, meta)
        return []

    def _status(self, ctx: SessionContext, msg: FixMessage) -> Reply:
        account = _text(msg, 1) or (ctx.accounts[0] if ctx.accounts else "")
        o = self.book.find(account, _text(msg, 11)) if account in ctx.accounts else None
        if o is None:
            zero = Decimal(0)
            fields = reports.execution_report(
                order_id=_text(msg, 37) or "NONE", cl_ord_id=_text(msg, 11), exec_id=f"S{self.ids.next()}",
                exec_type="I", ord_status="8", account=account, symbol=_text(msg, 55) or "?",
                side=_text(msg, 54) or "1", leaves_qty=zero, cum_qty=zero, avg_px=zero,
                text="unknown order", transact_time=self.book.transact_time(), fix44=ctx.fix44,
            )
            return [Outgoing("8", fields)]
        return [Outgoing("8", self._status_fields(o))]

    def _status_fields(self, o: Order) -> list[tuple[int, str | bytes | int]]:
        out: list[Report] = []
        self.book.status_report(o, out, 0)
        fields = expand(out[0].fields) if out else []
        return [(17, f"S{self.ids.next()}") if tag == 17 else (tag, v) for tag, v in fields]

    def _mass_status(self, ctx: SessionContext, msg: FixMessage) -> Reply:
        account = _text(msg, 1) or (ctx.accounts[0] if ctx.accounts else "")
        if account not in ctx.accounts:
            return BusinessReject(5, f"account {account!r} is not tradable on this session", msg.get(584))
        orders = self.book.live_orders(account=account)
        req_id = _text(msg, 584)
        replies = []
        for i, o in enumerate(orders, 1):
            fields = self._status_fields(o)
            fields.insert(0, (584, req_id))
            fields += [(911, len(orders)), (912, "Y" if i == len(orders) else "N")]
            replies.append(Outgoing("8", fields))
        if not replies:
            zero = Decimal(0)
            fields = list(reports.execution_report(
                order_id="NONE", cl_ord_id="NONE", exec_id=f"S{self.ids.next()}", exec_type="I",
                ord_status="8", account=account, symbol="NONE", side="1", leaves_qty=zero,
                cum_qty=zero, avg_px=zero, text="no open orders", transact_time=self.book.transact_time(),
                fix44=ctx.fix44,
            ))
            fields.insert(0, (584, req_id))
            fields += [(911, 0), (912, "Y")]
            replies.append(Outgoing("8", fields))
        return replies

    def _mass_cancel(self, ctx: SessionContext, msg: FixMessage) -> Reply:
        seq = self.ids.next()
        result = requests.mass_cancel(ctx, self.refdata, msg, seq, self.clock.now_ns())
        if isinstance(result, Refusal):
            fields = reports.mass_cancel_report(
                cl_ord_id=_text(msg, 11), order_id="NONE", request_type=_text(msg, 530) or "7",
                response="0", affected=0, reject_reason=99, text=result.text,
                transact_time=self.book.transact_time(),
            )
            return [Outgoing("r", fields)]
        command, meta = result
        self.submit(wire.encode_command(command), meta)
        return []

    def _security_list(self, ctx: SessionContext, msg: FixMessage) -> Reply:
        req_type = _text(msg, 559)
        wanted = _text(msg, 55)
        specs = [
            s for s in self.refdata.instruments.values()
            if req_type != "0" or s.symbol == wanted
        ]
        fields: list[tuple[int, str | bytes | int]] = [
            (320, _text(msg, 320)), (322, f"SL{self.ids.next()}"),
            (560, "0" if specs else "2"), (146, len(specs)),
        ]
        for s in specs:
            min_qty = reports.dec(s.min_qty or s.lot_size)
            if ctx.fix44:  # NoRelatedSym: Instrument, Currency, RoundLot, MinTradeVol
                fields += [(55, s.symbol), (15, s.quote), (561, reports.dec(s.lot_size)), (562, min_qty)]
            else:  # Instrument (55, MinPriceIncrement 969), SecurityTradingRules, Currency
                fields += [(55, s.symbol), (969, reports.dec(s.tick_size)), (562, min_qty),
                           (561, reports.dec(s.lot_size)), (15, s.quote)]
        return [Outgoing("y", fields)]

    # ------------------------------------------------------------ operator actions
    def cancel_session_orders(self, session_id: str, source: str) -> int:
        return self._cancel_orders(self.book.live_orders(session=session_id), source)

    def cancel_firm_orders(self, firm: str, source: str = "kill-switch") -> int:
        orders = [o for o in self.book.live_orders() if self.refdata.accounts.get(o.account) and self.refdata.accounts[o.account].firm == firm]
        return self._cancel_orders(orders, source)

    def _cancel_orders(self, orders: list[Order], source: str) -> int:
        now = self.clock.now_ns()
        for o in orders:
            ref = self.refdata.accounts[o.account]
            seq = self.ids.next()
            meta = RequestMeta(seq=seq, session=o.session, cl_ord_id=o.cl_ord_id, account=o.account,
                               symbol=o.symbol, firm=ref.firm, source=source, side=o.side)
            self.submit(wire.encode_command(c.Cancel(seq=seq, ts=now, order_id=o.order_id, account=ref.account_id)), meta)
        return len(orders)
