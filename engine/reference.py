"""The engine's semantics in plain Python: simple, slow and obviously right (the oracle).

Same surface as the C engine (``apply_batch``, ``apply``, ``state_hash``, ``snapshot``,
``restore``) and the same canonical state words (``engine.canonical``), so events, hashes and
snapshots compare byte for byte across implementations. docs/engine.md states the semantics;
where this module and the C core disagree, the property tests fail.

Invariants: the book is never crossed; every live order is in ``orders`` (accept order) and in
exactly one of a price level or a stop list; ``held`` of (account, asset) equals the holds of
its live orders plus its pending withdrawals; no balance is negative.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from engine import canonical, wire
from engine import commands as c
from engine.commands import BUY, FLAG_POST_ONLY, ORDER_ACTIVE, ORDER_STOP_PENDING, CmdType
from engine.commands import OrdTypeCode as OT
from engine.commands import TifCode as TIF
from venue.rejects import CancelReason as CR
from venue.rejects import RejectCode as RC

I64_MAX = (1 << 63) - 1
U32_MAX = (1 << 32) - 1
NONE, IN_BOOK, IN_STOPS = 0, 1, 2


class Reject(Exception):
    def __init__(self, code: RC) -> None:
        self.code = code


@dataclass
class Order:
    id: int
    account: int
    instrument: int
    side: int
    ord_type: int
    tif: int
    flags: int
    stp: int
    price: int
    stop: int
    qty: int
    leaves: int
    visible: int
    display: int
    cum: int
    expire: int
    serial: int
    state: int
    hpl: int = 0  # quote held per lot (buy orders)
    where: int = NONE


@dataclass
class Instrument:
    id: int
    tick: int
    lot: int
    min_qty: int
    max_qty: int
    price_scale: int
    qty_scale: int
    base: int
    quote: int
    tick_value: int
    band: int
    ref: int
    state: int = 0
    last: int = 0
    books: tuple[dict[int, list[Order]], dict[int, list[Order]]] = field(
        default_factory=lambda: ({}, {}))
    stops: tuple[list[Order], list[Order]] = field(default_factory=lambda: ([], []))


@dataclass
class Account:
    id: int
    group: int
    maker: int
    taker: int
    bal: dict[int, list[int]] = field(default_factory=dict)  # asset -> [available, held]

    def b(self, asset: int) -> list[int]:
        return self.bal.setdefault(asset, [0, 0])


def ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


class ReferenceEngine:
    def __init__(self) -> None:
        self.clock = 0
        self.next_exec = 1
        self.next_serial = 1
        self.instruments: dict[int, Instrument] = {}
        self.orders: dict[int, Order] = {}  # insertion order == accept order
        self.accounts: dict[int, Account] = {c.FEE_ACCOUNT: Account(c.FEE_ACCOUNT, 0, 0, 0)}
        self.withdrawals: dict[int, tuple[int, int, int]] = {}
        self.supply: dict[int, int] = {}
        self.gtd: list[tuple[int, int, int]] = []
        self.out: list[c.Event] = []
        self.touched: dict[tuple[int, int, int], None] = {}
        self.seq = 0

    # ------------------------------------------------------------------ public surface
    def apply_batch(self, buf: bytes) -> bytes:
        out: list[bytes] = []
        for t, seq, ts, cmd in wire.iter_commands(buf):
            out.extend(wire.encode_event(e) for e in self._run(t, seq, ts, cmd))
        return b"".join(out)

    def apply(self, cmd: c.Command) -> list[c.Event]:
        t, seq, ts, dec = wire.decode_command(wire.encode_command(cmd))
        return self._run(t, seq, ts, dec)

    def state_hash(self) -> int:
        return canonical.fnv64(self.canonical_words())

    def snapshot(self) -> bytes:
        return canonical.pack(self.canonical_words())

    @classmethod
    def restore(cls, data: bytes) -> ReferenceEngine:
        eng = cls()
        eng._load(canonical.unpack(data))
        return eng

    def resting_orders(self) -> int:
        return len(self.orders)

    # ------------------------------------------------------------------ dispatch
    def _run(self, t: int, seq: int, ts: int, cmd: c.Command | None) -> list[c.Event]:
        self.out, self.touched, self.seq = [], {}, seq
        self.clock = max(self.clock, ts)
        self._expire_gtd()
        try:
            if cmd is None:
                raise Reject(RC.UNKNOWN_COMMAND)
            getattr(self, "_" + type(cmd).__name__)(cmd)
        except Reject as r:
            self.out.append(_reject_event(t, seq, cmd, r.code))
        for ins_id, side, price in self.touched:
            lvl = self.instruments[ins_id].books[side].get(price, [])
            self.out.append(c.BookLevelChanged(
                seq, ins_id, side, price, sum(o.visible for o in lvl), len(lvl)))
        return self.out

    def _ins(self, iid: int) -> Instrument:
        ins = self.instruments.get(iid)
        if ins is None:
            raise Reject(RC.UNKNOWN_INSTRUMENT)
        return ins

    def _AddInstrument(self, m: c.AddInstrument) -> None:
        if not 0 < m.instrument <= U32_MAX:
            raise Reject(RC.INVALID_INSTRUMENT_CONFIG)
        if m.instrument in self.instruments:
            raise Reject(RC.DUPLICATE_INSTRUMENT)
        ok = (m.tick > 0 and m.lot > 0 and m.min_qty > 0 and m.min_qty % m.lot == 0
              and m.max_qty >= m.min_qty and m.max_qty % m.lot == 0
              and m.base_asset <= U32_MAX and m.quote_asset <= U32_MAX
              and m.base_asset != m.quote_asset and m.tick_value > 0
              and 1 <= m.band_bps <= 1_000_000 and m.reference_price > 0
              and m.reference_price % m.tick == 0 and m.price_scale <= 18 and m.qty_scale <= 18)
        if not ok:
            raise Reject(RC.INVALID_INSTRUMENT_CONFIG)
        self.instruments[m.instrument] = Instrument(
            m.instrument, m.tick, m.lot, m.min_qty, m.max_qty, m.price_scale, m.qty_scale,
            m.base_asset, m.quote_asset, m.tick_value, m.band_bps, m.reference_price)
        self._ack(m.instrument, CmdType.ADD_INSTRUMENT, m.instrument, 0)

    def _SetTradingState(self, m: c.SetTradingState) -> None:
        ins = self._ins(m.instrument)
        if m.state > 2:
            raise Reject(RC.INVALID_TRADING_STATE)
        ins.state = m.state
        self._ack(ins.id, CmdType.SET_TRADING_STATE, ins.id, m.state)

    def _SetReferencePrice(self, m: c.SetReferencePrice) -> None:
        ins = self._ins(m.instrument)
        if m.price <= 0 or m.price % ins.tick:
            raise Reject(RC.INVALID_REFERENCE_PRICE)
        ins.ref = m.price
        self._ack(ins.id, CmdType.SET_REFERENCE_PRICE, ins.id, m.price)

    def _AddAccount(self, m: c.AddAccount) -> None:
        if m.account in self.accounts:
            raise Reject(RC.DUPLICATE_ACCOUNT)
        if not (0 <= m.maker_bps <= 10000 and 0 <= m.taker_bps <= 10000):
            raise Reject(RC.INVALID_ACCOUNT_CONFIG)
        self.accounts[m.account] = Account(m.account, m.stp_group, m.maker_bps, m.taker_bps)
        self._ack(0, CmdType.ADD_ACCOUNT, m.account, m.stp_group)

    def _account(self, aid: int) -> Account:
        a = self.accounts.get(aid)
        if a is None:
            raise Reject(RC.UNKNOWN_ACCOUNT)
        return a

    def _Deposit(self, m: c.Deposit) -> None:
        a = self._account(m.account)
        if m.asset > U32_MAX:
            raise Reject(RC.UNKNOWN_ASSET)
        if m.amount <= 0:
            raise Reject(RC.INVALID_AMOUNT)
        if self.supply.get(m.asset, 0) + m.amount > I64_MAX:
            raise Reject(RC.BALANCE_OVERFLOW)
        self.supply[m.asset] = self.supply.get(m.asset, 0) + m.amount
        b = a.b(m.asset)
        b[0] += m.amount
        self.out.append(c.DepositApplied(self.seq, 0, m.account, m.asset, m.amount, b[0]))

    def _WithdrawHold(self, m: c.WithdrawHold) -> None:
        if m.withdrawal_id in self.withdrawals:
            raise Reject(RC.DUPLICATE_WITHDRAWAL_ID)
        a = self._account(m.account)
        if m.asset > U32_MAX:
            raise Reject(RC.UNKNOWN_ASSET)
        if m.amount <= 0:
            raise Reject(RC.INVALID_AMOUNT)
        b = a.b(m.asset)
        if b[0] < m.amount:
            raise Reject(RC.INSUFFICIENT_FUNDS)
        b[0] -= m.amount
        b[1] += m.amount
        self.withdrawals[m.withdrawal_id] = (m.account, m.asset, m.amount)
        self.out.append(c.WithdrawHeld(
            self.seq, 0, m.withdrawal_id, m.account, m.asset, m.amount, b[0], b[1]))

    def _withdraw_end(self, wid: int, release: bool) -> None:
        if wid not in self.withdrawals:
            raise Reject(RC.UNKNOWN_WITHDRAWAL_ID)
        aid, asset, amount = self.withdrawals.pop(wid)
        b = self.accounts[aid].b(asset)
        b[1] -= amount
        if release:
            b[0] += amount
        else:
            self.supply[asset] -= amount
        ev = c.WithdrawReleased if release else c.WithdrawConfirmed
        self.out.append(ev(self.seq, 0, wid, aid, asset, amount, b[0], b[1]))

    def _WithdrawConfirm(self, m: c.WithdrawConfirm) -> None:
        self._withdraw_end(m.withdrawal_id, False)

    def _WithdrawRelease(self, m: c.WithdrawRelease) -> None:
        self._withdraw_end(m.withdrawal_id, True)

    def _AdvanceClock(self, m: c.AdvanceClock) -> None:
        self._ack(0, CmdType.ADVANCE_CLOCK, 0, self.clock)

    def _ack(self, iid: int, cmd: int, ref: int, value: int) -> None:
        self.out.append(c.Acknowledged(self.seq, iid, cmd, ref, value))

    # ------------------------------------------------------------------ order entry
    def _check_qty(self, ins: Instrument, qty: int) -> None:
        if qty <= 0:
            raise Reject(RC.QTY_NOT_POSITIVE)
        if qty % ins.lot:
            raise Reject(RC.QTY_OFF_LOT)
        if qty < ins.min_qty:
            raise Reject(RC.QTY_BELOW_MIN)
        if qty > ins.max_qty:
            raise Reject(RC.QTY_ABOVE_MAX)

    def _check_limit(self, ins: Instrument, price: int) -> None:
        if price <= 0:
            raise Reject(RC.INVALID_PRICE)
        if price % ins.tick:
            raise Reject(RC.PRICE_OFF_TICK)
        delta = ins.ref * ins.band // 10000
        if not ins.ref - delta <= price <= ins.ref + delta:
            raise Reject(RC.PRICE_OUTSIDE_BAND)

    def _check_state(self, ins: Instrument) -> None:
        if ins.state == 1:
            raise Reject(RC.INSTRUMENT_HALTED)
        if ins.state == 2:
            raise Reject(RC.INSTRUMENT_CLOSED)

    @staticmethod
    def _protection(ins: Instrument, side: int) -> int:
        delta = ins.ref * ins.band // 10000
        if side == BUY:
            return min(ins.ref + delta, I64_MAX) // ins.tick * ins.tick
        lo = ins.ref - delta
        return ins.tick if lo <= ins.tick else ceil_div(lo, ins.tick) * ins.tick

    def _hold_terms(self, ins: Instrument, acct: Account, side: int, price: int, leaves: int
                    ) -> tuple[int, int]:
        """(quote per lot, hold for ``leaves``); raises OVERFLOW (both sides are checked)."""
        v = price // ins.tick * ins.tick_value
        hpl = v + ceil_div(v * max(acct.maker, acct.taker), 10000)
        total = leaves // ins.lot * hpl
        if total > I64_MAX:
            raise Reject(RC.OVERFLOW)
        return hpl, (total if side == BUY else leaves)

    def _hold_of(self, ins: Instrument, o: Order) -> int:
        return o.leaves // ins.lot * o.hpl if o.side == BUY else o.leaves

    def _hold_bal(self, ins: Instrument, o: Order) -> list[int]:
        return self.accounts[o.account].b(ins.quote if o.side == BUY else ins.base)

    def _crosses(self, ins: Instrument, side: int, price: int) -> bool:
        opp = ins.books[1 - side]
        if not opp:
            return False
        return min(opp) <= price if side == BUY else max(opp) >= price

    def _NewOrder(self, m: c.NewOrder) -> None:
        ins = self._ins(m.instrument)
        acct = self._account(m.account)
        if m.side > 1:
            raise Reject(RC.INVALID_SIDE)
        if m.ord_type > 3:
            raise Reject(RC.INVALID_ORD_TYPE)
        if m.tif > 4:
            raise Reject(RC.INVALID_TIF)
        if m.stp > 4:
            raise Reject(RC.INVALID_STP_MODE)
        if m.flags & ~FLAG_POST_ONLY:
            raise Reject(RC.INVALID_FLAGS)
        if m.order_id == 0:
            raise Reject(RC.INVALID_ORDER_ID)
        if m.order_id in self.orders:
            raise Reject(RC.DUPLICATE_ORDER_ID)
        self._check_state(ins)
        self._check_qty(ins, m.qty)
        has_limit = m.ord_type in (OT.LIMIT, OT.STOP_LIMIT)
        is_stop = m.ord_type in (OT.STOP, OT.STOP_LIMIT)
        if has_limit:
            self._check_limit(ins, m.price)
        elif m.price != 0:
            raise Reject(RC.INVALID_PRICE)
        if is_stop:
            if m.stop_price <= 0:
                raise Reject(RC.INVALID_STOP_PRICE)
            if m.stop_price % ins.tick:
                raise Reject(RC.PRICE_OFF_TICK)
        elif m.stop_price != 0:
            raise Reject(RC.INVALID_STOP_PRICE)
        if m.display_qty < 0 or m.display_qty % ins.lot or (m.display_qty and not has_limit):
            raise Reject(RC.INVALID_DISPLAY_QTY)
        if m.ord_type == OT.MARKET and m.tif not in (TIF.IOC, TIF.FOK):
            raise Reject(RC.INVALID_TIF)
        if m.flags & FLAG_POST_ONLY and (m.ord_type != OT.LIMIT or m.tif in (TIF.IOC, TIF.FOK)):
            raise Reject(RC.POST_ONLY_INVALID)
        if (m.expire_time <= self.clock) if m.tif == TIF.GTD else (m.expire_time != 0):
            raise Reject(RC.INVALID_EXPIRE_TIME)
        price = m.price if has_limit else self._protection(ins, m.side)
        hpl, need = self._hold_terms(ins, acct, m.side, price, m.qty)
        if m.flags & FLAG_POST_ONLY and self._crosses(ins, m.side, price):
            raise Reject(RC.POST_ONLY_WOULD_TAKE)
        bal = acct.b(ins.quote if m.side == BUY else ins.base)
        if bal[0] < need:
            raise Reject(RC.INSUFFICIENT_FUNDS)
        bal[0] -= need
        bal[1] += need
        o = Order(m.order_id, m.account, ins.id, m.side, m.ord_type, m.tif, m.flags, m.stp,
                  price, m.stop_price, m.qty, m.qty, 0, m.display_qty, 0, m.expire_time,
                  self.next_serial, ORDER_STOP_PENDING if is_stop else ORDER_ACTIVE, hpl)
        self.next_serial += 1
        self.orders[o.id] = o
        self.out.append(c.OrderAccepted(
            self.seq, ins.id, o.id, o.account, o.side, o.ord_type, o.tif, o.flags, o.stp,
            o.price, o.qty, o.stop, o.display, o.expire))
        if o.tif == TIF.GTD:
            heapq.heappush(self.gtd, (o.expire, o.serial, o.id))
        if is_stop:
            stops = ins.stops[o.side]
            stops.append(o)
            stops.sort(key=lambda s: (s.stop if s.side == BUY else -s.stop, s.serial))
            o.where = IN_STOPS
        else:
            self._execute(ins, o)
        self._triggers(ins)

    # ------------------------------------------------------------------ matching
    def _execute(self, ins: Instrument, o: Order) -> None:
        """Match a taker; then rest it, or cancel the remainder (IOC/FOK/market)."""
        if o.tif == TIF.FOK and not self._fok_ok(ins, o):
            self._remove(o, CR.FOK_UNFILLABLE, c.OrderCanceled)
            return
        self._match(ins, o)
        if o.leaves == 0:
            self.orders.pop(o.id, None)
        elif o.ord_type in (OT.MARKET, OT.STOP) or o.tif in (TIF.IOC, TIF.FOK):
            self._remove(o, CR.IOC_REMAINDER, c.OrderCanceled)
        else:
            o.visible = min(o.display, o.leaves) if o.display else o.leaves
            ins.books[o.side].setdefault(o.price, []).append(o)
            o.where = IN_BOOK
            self._touch(ins, o.side, o.price)

    def _same_party(self, a: Order, b: Order) -> bool:
        if a.account == b.account:
            return True
        ga = self.accounts[a.account].group
        return ga != 0 and ga == self.accounts[b.account].group

    def _levels(self, ins: Instrument, o: Order) -> list[int]:
        book = ins.books[1 - o.side]
        if o.side == BUY:
            return sorted(p for p in book if p <= o.price)
        return sorted((p for p in book if p >= o.price), reverse=True)

    def _fok_ok(self, ins: Instrument, o: Order) -> bool:
        need = o.leaves
        for p in self._levels(ins, o):
            lvl = ins.books[1 - o.side][p]
            if o.stp and any(self._same_party(m, o) for m in lvl):
                return False
            need -= sum(m.leaves for m in lvl)
            if need <= 0:
                return True
        return False

    def _match(self, ins: Instrument, o: Order) -> None:
        book = ins.books[1 - o.side]
        while o.leaves > 0 and book:
            best = min(book) if o.side == BUY else max(book)
            if (best > o.price) if o.side == BUY else (best < o.price):
                return
            m = book[best][0]
            if o.stp and self._same_party(m, o):
                if o.stp == 1:  # cancel newest (the taker)
                    self._remove(o, CR.SELF_TRADE, c.OrderCanceled)
                    return
                if o.stp == 2:  # cancel oldest (the maker)
                    self._remove(m, CR.SELF_TRADE, c.OrderCanceled)
                elif o.stp == 3:  # cancel both
                    self._remove(m, CR.SELF_TRADE, c.OrderCanceled)
                    self._remove(o, CR.SELF_TRADE, c.OrderCanceled)
                    return
                else:  # decrement and cancel
                    q = min(o.leaves, m.leaves)
                    self._decrement(ins, m, q)
                    self._decrement(ins, o, q)
                continue
            self._fill(ins, m, o, min(o.leaves, m.visible))

    def _fill(self, ins: Instrument, m: Order, t: Order, q: int) -> None:
        lots = q // ins.lot
        value = m.price // ins.tick * lots * ins.tick_value
        macct, tacct = self.accounts[m.account], self.accounts[t.account]
        fee_m = ceil_div(value * macct.maker, 10000)
        fee_t = ceil_div(value * tacct.taker, 10000)
        buyer, seller = (t, m) if t.side == BUY else (m, t)
        fee_b, fee_s = (fee_t, fee_m) if t.side == BUY else (fee_m, fee_t)
        bq = self.accounts[buyer.account].b(ins.quote)
        bq[1] -= lots * buyer.hpl
        bq[0] += lots * buyer.hpl - value - fee_b
        self.accounts[buyer.account].b(ins.base)[0] += q
        self.accounts[seller.account].b(ins.base)[1] -= q
        self.accounts[seller.account].b(ins.quote)[0] += value - fee_s
        self.accounts[c.FEE_ACCOUNT].b(ins.quote)[0] += fee_m + fee_t
        m.leaves -= q
        m.visible -= q
        m.cum += q
        t.leaves -= q
        t.cum += q
        ins.last = m.price
        self.out.append(c.Trade(
            self.seq, ins.id, self.next_exec, m.id, t.id, m.account, t.account, m.price, q,
            fee_m, fee_t, m.leaves, t.leaves, t.side))
        self.next_exec += 1
        self._touch(ins, m.side, m.price)
        lvl = ins.books[m.side][m.price]
        if m.leaves == 0:
            lvl.pop(0)
            del self.orders[m.id]
            m.where = NONE
            if not lvl:
                del ins.books[m.side][m.price]
        elif m.visible == 0:
            m.visible = min(m.display, m.leaves)
            lvl.append(lvl.pop(0))

    def _decrement(self, ins: Instrument, o: Order, q: int) -> None:
        """STP decrement: cancel ``q`` of ``o`` (all of it when q == leaves)."""
        if q == o.leaves:
            self._remove(o, CR.SELF_TRADE, c.OrderCanceled)
            return
        b = self._hold_bal(ins, o)
        rel = q // ins.lot * o.hpl if o.side == BUY else q
        b[0] += rel
        b[1] -= rel
        o.leaves -= q
        o.visible = min(o.visible, o.leaves)
        if o.where == IN_BOOK:
            self._touch(ins, o.side, o.price)
        self.out.append(c.OrderCanceled(
            self.seq, ins.id, o.id, o.account, CR.SELF_TRADE, q, o.leaves))

    def _remove(self, o: Order, reason: int, ev: type[c.OrderCanceled] | type[c.OrderExpired]
                ) -> None:
        """Take a live order out entirely, release its hold, emit canceled/expired."""
        ins = self.instruments[o.instrument]
        if o.where == IN_BOOK:
            lvl = ins.books[o.side][o.price]
            lvl.remove(o)
            if not lvl:
                del ins.books[o.side][o.price]
            self._touch(ins, o.side, o.price)
        elif o.where == IN_STOPS:
            ins.stops[o.side].remove(o)
        o.where = NONE
        b = self._hold_bal(ins, o)
        h = self._hold_of(ins, o)
        b[0] += h
        b[1] -= h
        qty, o.leaves = o.leaves, 0
        self.orders.pop(o.id, None)
        self.out.append(ev(self.seq, ins.id, o.id, o.account, reason, qty, 0))

    def _touch(self, ins: Instrument, side: int, price: int) -> None:
        self.touched[(ins.id, side, price)] = None

    def _triggers(self, ins: Instrument) -> None:
        while ins.last > 0:
            bs, ss = ins.stops
            cand = bs[0] if bs and ins.last >= bs[0].stop else None
            if ss and ins.last <= ss[0].stop and (cand is None or ss[0].serial < cand.serial):
                cand = ss[0]
            if cand is None:
                return
            ins.stops[cand.side].pop(0)
            cand.where, cand.state = NONE, ORDER_ACTIVE
            self.out.append(c.OrderTriggered(
                self.seq, ins.id, cand.id, cand.account, cand.stop, ins.last))
            self._execute(ins, cand)

    # ------------------------------------------------------------------ order management
    def _own(self, oid: int, aid: int) -> Order:
        o = self.orders.get(oid)
        if o is None:
            raise Reject(RC.UNKNOWN_ORDER_ID)
        if o.account != aid:
            raise Reject(RC.ACCOUNT_MISMATCH)
        return o

    def _Cancel(self, m: c.Cancel) -> None:
        self._remove(self._own(m.order_id, m.account), CR.USER, c.OrderCanceled)

    def _Replace(self, m: c.Replace) -> None:
        o = self._own(m.order_id, m.account)
        ins = self.instruments[o.instrument]
        if o.state == ORDER_STOP_PENDING:
            raise Reject(RC.ORDER_NOT_REPLACEABLE)
        self._check_state(ins)
        self._check_qty(ins, m.qty)
        if m.qty <= o.cum:
            raise Reject(RC.REPLACE_QTY_TOO_LOW)
        self._check_limit(ins, m.price)
        leaves = m.qty - o.cum
        hpl, need = self._hold_terms(ins, self.accounts[o.account], o.side, m.price, leaves)
        if o.flags & FLAG_POST_ONLY and self._crosses(ins, o.side, m.price):
            raise Reject(RC.POST_ONLY_WOULD_TAKE)
        b = self._hold_bal(ins, o)
        delta = need - self._hold_of(ins, o)
        if delta > b[0]:
            raise Reject(RC.INSUFFICIENT_FUNDS)
        b[0] -= delta
        b[1] += delta
        keep = m.price == o.price and leaves <= o.leaves
        if keep:
            o.qty, o.leaves = m.qty, leaves
            o.visible = min(o.visible, leaves)
            self._touch(ins, o.side, o.price)
        else:
            lvl = ins.books[o.side][o.price]
            lvl.remove(o)
            if not lvl:
                del ins.books[o.side][o.price]
            self._touch(ins, o.side, o.price)
            o.where = NONE
            o.price, o.qty, o.leaves, o.hpl = m.price, m.qty, leaves, hpl
        self.out.append(c.OrderReplaced(
            self.seq, ins.id, o.id, o.account, o.price, o.qty, o.leaves, int(keep)))
        if not keep:
            self._execute(ins, o)
            self._triggers(ins)

    def _MassCancel(self, m: c.MassCancel) -> None:
        if m.side > 2:
            raise Reject(RC.INVALID_SIDE)
        if m.instrument:
            self._ins(m.instrument)
        if m.account:
            self._account(m.account)
        hits = [o for o in self.orders.values()
                if (not m.account or o.account == m.account)
                and (not m.instrument or o.instrument == m.instrument)
                and (m.side == 2 or o.side == m.side)]
        for o in hits:
            self._remove(o, CR.MASS_CANCEL, c.OrderCanceled)
        iid = m.instrument if m.instrument <= U32_MAX else 0
        self.out.append(c.MassCanceled(self.seq, iid, m.account, m.side, len(hits)))

    def _OrderStatus(self, m: c.OrderStatus) -> None:
        o = self._own(m.order_id, m.account)
        self.out.append(c.OrderStatusReport(
            self.seq, o.instrument, o.id, o.account, o.side, o.ord_type, o.tif, o.state,
            o.price, o.qty, o.leaves, o.cum, o.stop))

    def _EndOfSession(self, m: c.EndOfSession) -> None:
        if m.instrument:
            self._ins(m.instrument)
        hits = [o for o in self.orders.values()
                if o.tif == TIF.DAY and (not m.instrument or o.instrument == m.instrument)]
        for o in hits:
            self._remove(o, CR.DAY_EXPIRED, c.OrderExpired)
        self._ack(m.instrument, CmdType.END_OF_SESSION, m.instrument, len(hits))

    def _expire_gtd(self) -> None:
        while self.gtd and self.gtd[0][0] <= self.clock:
            _, serial, oid = heapq.heappop(self.gtd)
            o = self.orders.get(oid)
            if o is not None and o.serial == serial:
                self._remove(o, CR.GTD_EXPIRED, c.OrderExpired)

    # ------------------------------------------------------------------ canonical state
    def canonical_words(self) -> list[int]:
        w = [canonical.VERSION, self.clock, self.next_exec, self.next_serial,
             len(self.instruments)]
        for iid in sorted(self.instruments):
            i = self.instruments[iid]
            w += [i.id, i.tick, i.lot, i.min_qty, i.max_qty, i.price_scale, i.qty_scale, i.base,
                  i.quote, i.tick_value, i.band, i.ref, i.state, i.last]
            for side in (0, 1):
                book = i.books[side]
                prices = sorted(book, reverse=(side == BUY))
                w.append(len(prices))
                for p in prices:
                    lvl = book[p]
                    w += [p, len(lvl), sum(o.visible for o in lvl)] + [o.id for o in lvl]
            for side in (0, 1):
                w.append(len(i.stops[side]))
                w += [o.id for o in i.stops[side]]
        w.append(len(self.orders))
        for o in self.orders.values():
            w += [o.id, o.account, o.instrument, o.side, o.ord_type, o.tif, o.flags, o.stp,
                  o.price, o.stop, o.qty, o.leaves, o.visible, o.display, o.cum, o.expire,
                  o.serial, o.state]
        w.append(len(self.accounts))
        for aid in sorted(self.accounts):
            a = self.accounts[aid]
            bals = [(k, v) for k, v in sorted(a.bal.items()) if v[0] or v[1]]
            w += [a.id, a.group, a.maker, a.taker, len(bals)]
            for k, v in bals:
                w += [k, v[0], v[1]]
        w.append(len(self.withdrawals))
        for wid in sorted(self.withdrawals):
            w += [wid, *self.withdrawals[wid]]
        return w

    def _load(self, words: list[int]) -> None:
        r = canonical.Reader(words)
        if r.u() != canonical.VERSION:
            raise ValueError("unsupported snapshot version")
        self.clock, self.next_exec, self.next_serial = r.s(), r.u(), r.u()
        books: list[tuple[Instrument, int, int, list[int]]] = []
        stops: list[tuple[Instrument, int, list[int]]] = []
        for _ in range(r.count()):
            v = [r.u() if k in (0, 7, 8) else r.s() for k in range(12)]
            i = Instrument(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
                           v[11])
            i.state, i.last = r.s(), r.s()
            self.instruments[i.id] = i
            for side in (0, 1):
                for _ in range(r.count()):
                    p, n, _vis = r.s(), r.count(), r.s()
                    books.append((i, side, p, [r.u() for _ in range(n)]))
            for side in (0, 1):
                stops.append((i, side, [r.u() for _ in range(r.count())]))
        orders: list[Order] = []
        for _ in range(r.count()):
            o = Order(r.u(), r.u(), r.u(), *(r.s() for _ in range(15)))
            orders.append(o)
            self.orders[o.id] = o
        self.accounts = {}
        for _ in range(r.count()):
            a = Account(r.u(), r.u(), r.s(), r.s())
            for _ in range(r.count()):
                k, av, held = r.u(), r.s(), r.s()
                a.bal[k] = [av, held]
                self.supply[k] = self.supply.get(k, 0) + av + held
            self.accounts[a.id] = a
        for _ in range(r.count()):
            wid, aid, asset, amount = r.u(), r.u(), r.u(), r.s()
            self.withdrawals[wid] = (aid, asset, amount)
        r.end()
        try:
            for i, side, p, ids in books:
                lvl = i.books[side][p] = [self.orders[x] for x in ids]
                for o in lvl:
                    o.where = IN_BOOK
            for i, side, ids in stops:
                i.stops[side].extend(self.orders[x] for x in ids)
                for o in i.stops[side]:
                    o.where = IN_STOPS
            for o in orders:
                ins = self.instruments[o.instrument]
                o.hpl = self._hold_terms(ins, self.accounts[o.account], o.side, o.price, 0)[0]
                if o.tif == TIF.GTD:
                    heapq.heappush(self.gtd, (o.expire, o.serial, o.id))
        except (KeyError, Reject) as e:
            raise ValueError(f"inconsistent snapshot: {e!r}")


_REF_FIELD = {"order_id", "withdrawal_id"}


def _reject_event(t: int, seq: int, cmd: c.Command | None, code: int) -> c.Rejected:
    """Rejected event fields: see docs/engine.md (ref_id / account / instrument per command)."""
    if cmd is None:
        return c.Rejected(seq, 0, 0, 0, code, t)
    ref = 0
    if hasattr(cmd, "order_id"):
        ref = cmd.order_id
    elif hasattr(cmd, "withdrawal_id"):
        ref = cmd.withdrawal_id
    elif isinstance(cmd, c.AddAccount | c.Deposit):
        ref = cmd.account
    elif hasattr(cmd, "instrument"):
        ref = cmd.instrument
    account = getattr(cmd, "account", 0)
    iid = getattr(cmd, "instrument", 0)
    if iid > U32_MAX or isinstance(cmd, c.Cancel | c.Replace | c.OrderStatus):
        iid = 0
    return c.Rejected(seq, iid, ref, account, code, t)
