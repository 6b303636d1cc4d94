"""An in-process order-entry core: the application, the real C engine, the projection.

No network and no bus: ``pump()`` does what the service does with the command log and the
event stream, in one step. Tests read like a FIX conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from engine import commands as c
from engine.core import MatchingEngine
from fix_gateway.application import Outgoing
from fix_gateway.codec import FixMessage, encode, parse
from fix_gateway.order_entry.app import OrderEntryApplication
from fix_gateway.order_entry.orders import OrderBook, Report, expand
from fix_gateway.order_entry.refdata import AccountRef, RefData
from fix_gateway.order_entry.requests import SessionContext
from venue.bus.envelope import RequestMeta
from venue.clock import TestClock
from venue.ids import IdAllocator
from venue.instruments import InstrumentSpec

BTC = InstrumentSpec(
    instrument_id=1, symbol="BTC-USD", base="BTC", quote="USD", base_asset_id=2, quote_asset_id=1,
    base_decimals=8, quote_decimals=6, tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"),
    min_qty=Decimal("0.0001"), max_qty=Decimal("100"), price_band_pct=Decimal("10"),
    reference_price=Decimal("60000"),
)
ALPHA = "FIX.4.4:VENUE->ALPHA"
BETA = "FIXT.1.1:VENUE->BETA"


class Core:
    def __init__(self, funds: Decimal = Decimal("1000000")) -> None:
        self.clock = TestClock()
        self.refdata = RefData(
            {"BTC-USD": BTC},
            {"ALPHA-1": AccountRef(1, "ALPHA-1", "ALPHA"), "BETA-1": AccountRef(2, "BETA-1", "BETA")},
        )
        self.sessions = {
            ALPHA: SessionContext(ALPHA, "ALPHA", ("ALPHA-1",), fix44=True, cancel_on_disconnect=True),
            BETA: SessionContext(BETA, "BETA", ("BETA-1",), fix44=False),
        }
        self.book = OrderBook(self.refdata, lambda s: s.startswith("FIX.4.4"), lambda: b"20261122-00:00:00.000")
        self.queued: list[tuple[bytes, RequestMeta]] = []
        self.app = OrderEntryApplication(
            self.sessions, self.refdata, self.book, IdAllocator(1, self.clock), self.clock,
            lambda rec, meta: self.queued.append((rec, meta)),
        )
        self.engine = MatchingEngine()
        self.evt_seq = 0
        setup: list[c.Command] = [
            BTC.add_command(1, 0),
            c.AddAccount(2, 0, 1, 1, 1, 5),
            c.AddAccount(3, 0, 2, 2, 1, 5),
        ]
        for i, acct in enumerate((1, 2)):
            setup += [
                c.Deposit(10 + i, 0, acct, 1, int(funds * 10**6)),
                c.Deposit(20 + i, 0, acct, 2, 100 * 10**8),
            ]
        for ev in self.engine.apply_many(setup):
            assert not isinstance(ev, c.Rejected), ev

    def send(self, session: str, msg_type: str, fields: Sequence[tuple[int, str]]) -> list[FixMessage]:
        """The client sends; returns the immediate replies (refusals)."""
        begin = session.split(":")[0]
        raw = encode(begin, msg_type, [(49, "CLIENT"), (56, "VENUE"), (34, "2"), (52, "20261122-00:00:00"), *fields])
        reply = self.app.on_message(session, parse(raw))
        if isinstance(reply, (list, tuple)):
            return [parse(encode(begin, o.msg_type, o.fields)) for o in reply if isinstance(o, Outgoing)]
        raise AssertionError(f"unexpected reply {reply!r}")

    def pump(self) -> list[Report]:
        """Command log -> engine -> event stream -> projection: the reports to send."""
        if not self.queued:
            return []
        self.clock.advance(0.001)
        records = b"".join(r for r, _ in self.queued)
        metas = {m.seq: m for _, m in self.queued}
        self.queued.clear()
        self.evt_seq += 1
        body = bytes(self.engine.apply_batch(records))
        reports = self.book.apply_body(self.evt_seq, body, metas)  # as the gateway folds them
        self.app.settle(metas)
        return reports


    def end_of_session(self) -> list[Report]:
        """The ticker's EndOfSession (every instrument) through the engine and the projection."""
        self.evt_seq += 1
        events = self.engine.apply(c.EndOfSession(seq=10_000 + self.evt_seq, ts=self.clock.now_ns()))
        return self.book.apply(self.evt_seq, events, {})


def fields(report: Report) -> dict[int, str]:
    return {tag: v.decode() if isinstance(v, bytes) else str(v) for tag, v in expand(report.fields)}


def order(cl: str, side: str, qty: str, price: str | None = None, **extra: str) -> list[tuple[int, str]]:
    f = [(11, cl), (55, "BTC-USD"), (54, side), (60, "20261122-00:00:00"), (38, qty), (40, "2" if price else "1")]
    if price:
        f.append((44, price))
    f += [(int(k[1:]), v) for k, v in extra.items()]
    return f
