"""The order book's C fold (``codec.fold_events``, via ``OrderBook.apply_body``) against its
Python handlers (``OrderBook.apply`` over ``orders.py_order_events``), on generated engine
streams: new orders of every type and time in force, fills at one and at several prices,
cancels by the user, by IOC / FOK / self-trade prevention (decrements too), mass cancels,
replaces, stop triggers, rejects, day and good-till-date expiry, orders of accounts and
instruments the gateway has not loaded, requests with and without metadata, from sessions
and operators, and batches a session was handed before a restart. After every batch both
books must give the same reports (ExecIDs included) and hold the same orders."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import wire
from engine.core import MatchingEngine
from fix_gateway import codec
from fix_gateway.order_entry.orders import OrderBook, Report, expand, py_order_events
from fix_gateway.order_entry.refdata import AccountRef, RefData
from tests.unit.order_entry.harness import ALPHA, BETA, BTC
from venue.bus.envelope import RequestMeta
from venue.instruments import InstrumentSpec

pytestmark = pytest.mark.skipif(codec.fold_events is None, reason="the C codec is not built")

ETH = InstrumentSpec(
    instrument_id=2, symbol="ETH-USD", base="ETH", quote="USD", base_asset_id=3, quote_asset_id=1,
    base_decimals=6, quote_decimals=6, tick_size=Decimal("0.05"), lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"), max_qty=Decimal("1000"), price_band_pct=Decimal("50"),
    reference_price=Decimal("3000"),
)
GHOST = InstrumentSpec(  # in the engine, not in the gateway's refdata
    instrument_id=3, symbol="GHOST-USD", base="GHO", quote="USD", base_asset_id=4, quote_asset_id=1,
    base_decimals=4, quote_decimals=6, tick_size=Decimal("1"), lot_size=Decimal("1"),
    min_qty=Decimal("1"), max_qty=Decimal("1000000"), price_band_pct=Decimal("50"),
    reference_price=Decimal("100"),
)
ACCOUNTS = {"A-1": AccountRef(1, "A-1", "ALPHA"), "A-2": AccountRef(2, "A-2", "ALPHA"), "B-1": AccountRef(3, "B-1", "BETA")}
SESSIONS = [ALPHA, BETA, ""]
SOURCES = ["fix", "fix", "fix", "cancel-on-disconnect", "kill-switch", "cli"]


def _engine() -> MatchingEngine:
    engine = MatchingEngine()
    setup: list[c.Command] = [BTC.add_command(1, 0), ETH.add_command(2, 0), GHOST.add_command(3, 0)]
    for acct in (1, 2, 3, 4):  # account 4: not in the gateway's refdata
        setup += [c.AddAccount(10 + acct, 0, acct, acct if acct != 2 else 1, 1, 5)]
        for asset in (1, 2, 3, 4):
            setup.append(c.Deposit(100 + 10 * acct + asset, 0, acct, asset, 10**16))
    for ev in engine.apply_many(setup):
        assert not isinstance(ev, c.Rejected), ev
    return engine


def _book(reported: dict[str, int]) -> OrderBook:
    refdata = RefData({"BTC-USD": BTC, "ETH-USD": ETH}, dict(ACCOUNTS))
    book = OrderBook(refdata, lambda s: s.startswith("FIX.4.4"), lambda: b"20261122-00:00:00.000")
    book.reported.update(reported)
    return book


def _batches(rng: random.Random) -> list[tuple[bytes, dict[int, RequestMeta]]]:
    """Command batches with their requests' metadata (some have none)."""
    engine = _engine()
    out: list[tuple[bytes, dict[int, RequestMeta]]] = []
    seq = 1000
    orders: list[tuple[int, int, int, str]] = []  # (order id, account, instrument, ClOrdID)
    refs = {1: (6_000_000, 10**4), 2: (60_000, 1000), 3: (100, 1)}  # price units, lot units
    for _ in range(rng.randint(1, 12)):
        cmds: list[c.Command] = []
        metas: dict[int, RequestMeta] = {}
        for _ in range(rng.randint(1, 12)):
            seq += 1
            account = rng.choice((1, 1, 2, 3, 3, 4))
            instrument = rng.choice((1, 1, 1, 2, 2, 3))
            px, lot = refs[instrument]
            kind = rng.random()
            session, source = rng.choice(SESSIONS), rng.choice(SOURCES)
            meta: dict[str, Any] = {"session": session, "source": source, "cl_ord_id": f"c{seq}" if rng.random() < 0.9 else ""}
            if kind < 0.12 and orders:
                oid, acct, _, cl = rng.choice(orders)
                cmds.append(c.Cancel(seq, seq, oid, acct))
                meta["orig_cl_ord_id"] = cl if rng.random() < 0.8 else ""
            elif kind < 0.17 and orders:
                oid, acct, ins, cl = rng.choice(orders)
                p, q = refs[ins]
                cmds.append(c.Replace(seq, seq, oid, acct, p + rng.randint(-50, 50) * (p // 1000 or 1), q * rng.randint(1, 6)))
                meta["orig_cl_ord_id"] = cl
            elif kind < 0.2:
                cmds.append(c.MassCancel(seq, seq, account=account, instrument=rng.choice((0, instrument))))
            elif kind < 0.23:
                cmds.append(c.EndOfSession(seq, seq, instrument=rng.choice((0, 0, instrument))))
            elif kind < 0.26:
                cmds.append(c.AdvanceClock(seq, seq + 10**12))
            else:
                ord_type = rng.choice((0, 1, 1, 1, 1, 2, 3))
                side = rng.choice((c.BUY, c.SELL))
                price = px + rng.randint(-30, 30) * (px // 1000 or 1)
                stop = px + (1 if side == c.BUY else -1) * rng.randint(0, 20) * (px // 1000 or 1) if ord_type >= 2 else 0
                tif = rng.choice((0, 1, 1, 2, 3, 4)) if ord_type != 0 else rng.choice((2, 3))
                cmds.append(c.NewOrder(
                    seq, seq, seq, account, instrument, side, ord_type, tif,
                    price if ord_type in (1, 3) else 0, lot * rng.randint(1, 9), stop_price=stop,
                    display_qty=lot if rng.random() < 0.1 else 0, flags=1 if rng.random() < 0.08 else 0,
                    stp=rng.choice((0, 1, 2, 3, 4)), expire_time=seq + 10**9 if tif == 4 else 0,
                ))
                orders.append((seq, account, instrument, meta["cl_ord_id"] or str(seq)))
            if rng.random() < 0.85:
                metas[seq] = RequestMeta(seq=seq, **meta)
        body = bytes(engine.apply_batch(wire.encode_commands(cmds)))
        out.append((body, metas))
    return out


def _reports(reports: list[Report]) -> list[tuple[str, str, list[Any], int]]:
    return [(r.session, r.msg_type, expand(r.fields), r.evt_seq) for r in reports]


def _state(book: OrderBook) -> tuple[Any, ...]:
    orders = {oid: msgspec.structs.asdict(o) for oid, o in book.orders.items()}
    named = {acct: {cl: o.order_id for cl, o in m.items()} for acct, m in book.by_cl_ord_id.items()}
    return orders, named, list(book.live_by_id), book.days_ended, book._n


@given(st.integers(0, 2**32 - 1), st.sampled_from([{}, {}, {ALPHA: 3}, {BETA: 2, ALPHA: 1}]))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_c_fold_is_the_python_handlers(seed: int, reported: dict[str, int]) -> None:
    fast, slow = _book(reported), _book(reported)
    for evt_seq, (body, metas) in enumerate(_batches(random.Random(seed)), 1):
        got = fast.apply_body(evt_seq, body, metas)
        want = slow.apply(evt_seq, py_order_events(body), metas)
        assert _reports(got) == _reports(want), evt_seq
        assert got == want and all(type(r) is Report and r.session == r[0] for r in got)  # real Reports
        assert _state(fast) == _state(slow), evt_seq


def test_the_streams_hold_every_kind_of_event() -> None:
    """The generator reaches what the fold must handle (else the test above proves little)."""
    kinds: set[Any] = set()
    texts: set[str] = set()
    for seed in range(40):
        book = _book({})
        for evt_seq, (body, metas) in enumerate(_batches(random.Random(seed)), 1):
            events = py_order_events(body)
            kinds |= {type(ev) for ev in events}
            kinds |= {("partial", type(ev)) for ev in events if isinstance(ev, c.OrderCanceled) and ev.leaves_qty > 0}
            for r in book.apply_body(evt_seq, body, metas):
                texts |= {str(v) for tag, v in expand(r.fields) if tag == 58}
    assert {c.OrderAccepted, c.Trade, c.OrderCanceled, c.OrderExpired, c.OrderReplaced, c.OrderTriggered,
            c.Rejected, c.MassCanceled, c.Acknowledged, ("partial", c.OrderCanceled)} <= kinds, kinds
    assert {"b'cancel on disconnect'", "b'kill switch'"} <= texts, texts
