"""Holds, settlement, fees and custody commands (C core and reference)."""

from __future__ import annotations

from engine import commands as c
from engine.commands import BUY, SELL
from venue.rejects import RejectCode as RC

from .helpers import ALICE, BASE, BOB, QUOTE, Venue, balance, of


def test_buy_holds_quote_plus_max_fee_and_cancel_releases(fee_venue: Venue) -> None:
    """maker 10 bps, taker 20 bps: per lot hold = 100 + ceil(100 * 20 / 10000) = 101."""
    v = fee_venue
    v.limit(1, ALICE, BUY, 100, 10)
    assert balance(v.eng, ALICE, QUOTE) == (100_000 - 1010, 1010)
    v.run(c.Cancel(0, 0, 1, ALICE))
    assert balance(v.eng, ALICE, QUOTE) == (100_000, 0)


def test_fill_moves_funds_and_fees(fee_venue: Venue) -> None:
    """BOB sells 10 @ 100 resting (maker 10 bps); ALICE buys at 105 (taker 20 bps)."""
    v = fee_venue
    v.limit(1, BOB, SELL, 100, 10)
    assert balance(v.eng, BOB, BASE) == (990, 10)
    ev = v.limit(2, ALICE, BUY, 105, 10)
    t = of(ev, c.Trade)[0]
    assert (t.price, t.maker_fee, t.taker_fee) == (100, 1, 2)  # ceil(1000*10/1e4), ceil(..*20)
    assert balance(v.eng, ALICE, QUOTE) == (100_000 - 1000 - 2, 0)
    assert balance(v.eng, ALICE, BASE) == (1010, 0)
    assert balance(v.eng, BOB, QUOTE) == (100_000 + 1000 - 1, 0)
    assert balance(v.eng, BOB, BASE) == (990, 0)
    assert balance(v.eng, c.FEE_ACCOUNT, QUOTE) == (3, 0)


def test_unfunded_order_rejected(venue: Venue) -> None:
    ev = venue.limit(1, ALICE, SELL, 100, 1000)  # has 1000 base: ok
    assert of(ev, c.OrderAccepted)
    ev = venue.limit(2, ALICE, SELL, 100, 1)
    assert of(ev, c.Rejected)[0].code == RC.INSUFFICIENT_FUNDS


def test_replace_up_needs_funds(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 900)  # holds 90,000 of 100,000
    ev = venue.run(c.Replace(0, 0, 1, ALICE, 120, 900))  # would hold 108,000
    assert of(ev, c.Rejected)[0].code == RC.INSUFFICIENT_FUNDS
    assert balance(venue.eng, ALICE, QUOTE) == (10_000, 90_000)


def test_withdraw_hold_confirm_release(venue: Venue) -> None:
    ev = venue.run(c.WithdrawHold(0, 0, 7, ALICE, QUOTE, 40_000))
    assert of(ev, c.WithdrawHeld)[0].held == 40_000
    assert of(venue.limit(1, ALICE, BUY, 100, 700), c.Rejected)[0].code == RC.INSUFFICIENT_FUNDS
    venue.run(c.WithdrawRelease(0, 0, 7))
    assert balance(venue.eng, ALICE, QUOTE) == (100_000, 0)
    venue.run(c.WithdrawHold(0, 0, 8, ALICE, QUOTE, 1_000))
    ev = venue.run(c.WithdrawConfirm(0, 0, 8))
    assert of(ev, c.WithdrawConfirmed)[0].available == 99_000
    assert balance(venue.eng, ALICE, QUOTE) == (99_000, 0)
    assert of(venue.run(c.WithdrawConfirm(0, 0, 8)), c.Rejected)[0].code == (
        RC.UNKNOWN_WITHDRAWAL_ID)
    ev = venue.run(c.WithdrawHold(0, 0, 9, ALICE, QUOTE, 10**9))
    assert of(ev, c.Rejected)[0].code == RC.INSUFFICIENT_FUNDS


def test_deposit_overflow_rejected(venue: Venue) -> None:
    ev = venue.run(c.Deposit(0, 0, ALICE, 9, 2**63 - 1))
    assert of(ev, c.DepositApplied)
    assert of(venue.run(c.Deposit(0, 0, BOB, 9, 1)), c.Rejected)[0].code == RC.BALANCE_OVERFLOW


def test_validation_rejects(venue: Venue) -> None:
    def code(**kw: int) -> int:
        base = dict(order_id=50, account=ALICE, instrument=1, side=BUY, ord_type=1, tif=1,
                    price=100, qty=1)
        base.update(kw)
        return of(venue.run(c.NewOrder(0, 0, **base)), c.Rejected)[0].code

    venue.limit(1, ALICE, BUY, 90, 1)
    assert code(instrument=9) == RC.UNKNOWN_INSTRUMENT
    assert code(account=99) == RC.UNKNOWN_ACCOUNT
    assert code(side=2) == RC.INVALID_SIDE
    assert code(order_id=1) == RC.DUPLICATE_ORDER_ID
    assert code(order_id=0) == RC.INVALID_ORDER_ID
    assert code(qty=0) == RC.QTY_NOT_POSITIVE
    assert code(qty=-5) == RC.QTY_NOT_POSITIVE
    assert code(qty=1001) == RC.QTY_ABOVE_MAX
    assert code(price=0) == RC.INVALID_PRICE
    assert code(price=151) == RC.PRICE_OUTSIDE_BAND
    assert code(stop_price=5) == RC.INVALID_STOP_PRICE
    assert code(display_qty=-1) == RC.INVALID_DISPLAY_QTY
    assert code(stp=9) == RC.INVALID_STP_MODE
    assert code(flags=4) == RC.INVALID_FLAGS
    assert code(tif=4) == RC.INVALID_EXPIRE_TIME


def test_off_tick_off_lot_and_overflow() -> None:
    from engine.core import MatchingEngine
    from engine.reference import ReferenceEngine

    for eng in (MatchingEngine(), ReferenceEngine()):
        eng.apply(c.AddInstrument(1, 0, 1, 5, 10, 10, 10**15, 1, 2, 10**12, 1_000_000, 10**12))
        eng.apply(c.AddAccount(2, 0, 10))
        eng.apply(c.Deposit(3, 0, 10, 2, 10**18))

        def code(price: int, qty: int, e=eng) -> int:  # type: ignore[no-untyped-def]
            ev = e.apply(c.NewOrder(4, 0, 1, 10, 1, BUY, 1, 1, price, qty))
            return next(x.code for x in ev if isinstance(x, c.Rejected))

        assert code(10**12 + 3, 10) == RC.PRICE_OFF_TICK
        assert code(10**12, 15) == RC.QTY_OFF_LOT
        assert code(10**12, 10**15) == RC.OVERFLOW  # 2e11 ticks * 1e14 lots * 1e12
