"""Matching scenarios, each run on the C core and the reference (books drawn before/after)."""

from __future__ import annotations

from engine import commands as c
from engine.commands import BUY, SELL
from engine.commands import OrdTypeCode as OT
from engine.commands import TifCode as TIF
from venue.rejects import CancelReason as CR
from venue.rejects import RejectCode as RC

from .helpers import ALICE, BOB, CAROL, Venue, draw, kinds, of


def test_limit_rests_then_cross_fills_at_maker_price(venue: Venue) -> None:
    """
    before:           after a buy 8 @ 103:
    ask 102: #2:5     ask 103: #3:4
    ask 103: #3:7     ---
    ---
    """
    venue.limit(2, ALICE, SELL, 102, 5)
    venue.limit(3, ALICE, SELL, 103, 7)
    assert draw(venue.eng) == "ask 103: #3:7\nask 102: #2:5\n---"
    ev = venue.limit(4, BOB, BUY, 103, 8)
    assert kinds(ev) == ["OrderAccepted", "Trade", "Trade", "BookLevelChanged",
                         "BookLevelChanged"]
    t1, t2 = of(ev, c.Trade)
    assert (t1.price, t1.qty, t1.maker_leaves, t1.taker_leaves, t1.aggressor_side) == (
        102, 5, 0, 3, BUY)
    assert (t2.price, t2.qty, t2.maker_leaves, t2.taker_leaves) == (103, 3, 4, 0)
    assert t2.exec_id == t1.exec_id + 1
    assert draw(venue.eng) == "ask 103: #3:4\n---"
    books = {(b.side, b.price): (b.qty, b.count) for b in of(ev, c.BookLevelChanged)}
    assert books == {(SELL, 102): (0, 0), (SELL, 103): (4, 1)}


def test_price_time_priority(venue: Venue) -> None:
    """bid 100: #1:5 #2:5 -- a sell 7 fills #1 fully, then #2 partly: bid 100: #2:3."""
    venue.limit(1, ALICE, BUY, 100, 5)
    venue.limit(2, BOB, BUY, 100, 5)
    venue.limit(3, ALICE, BUY, 99, 5)
    ev = venue.limit(4, CAROL, SELL, 99, 7)
    assert [(t.maker_order_id, t.qty) for t in of(ev, c.Trade)] == [(1, 5), (2, 2)]
    assert draw(venue.eng) == "---\nbid 100: #2:3\nbid 99: #3:5"


def test_market_order_stops_at_protection_price(venue: Venue) -> None:
    """Band 50% around 100: a market buy takes asks up to 150 and cancels the rest."""
    venue.limit(1, ALICE, SELL, 120, 2)
    venue.limit(2, ALICE, SELL, 150, 2)
    venue.run(c.SetReferencePrice(0, 0, 1, 100))
    venue.run(c.SetReferencePrice(0, 0, 1, 80))  # band now 40..120
    ev = venue.order(3, BOB, BUY, OT.MARKET, TIF.IOC, 0, 5)
    assert of(ev, c.OrderAccepted)[0].price == 120  # protection price held against
    assert [(t.price, t.qty) for t in of(ev, c.Trade)] == [(120, 2)]
    cancel = of(ev, c.OrderCanceled)[0]
    assert (cancel.reason, cancel.canceled_qty) == (CR.IOC_REMAINDER, 3)
    assert draw(venue.eng) == "ask 150: #2:2\n---"


def test_market_order_needs_ioc_or_fok(venue: Venue) -> None:
    ev = venue.order(1, BOB, BUY, OT.MARKET, TIF.GTC, 0, 5)
    assert of(ev, c.Rejected)[0].code == RC.INVALID_TIF


def test_ioc_remainder_canceled(venue: Venue) -> None:
    venue.limit(1, ALICE, SELL, 101, 3)
    ev = venue.limit(2, BOB, BUY, 101, 5, tif=TIF.IOC)
    assert kinds(ev)[:3] == ["OrderAccepted", "Trade", "OrderCanceled"]
    assert of(ev, c.OrderCanceled)[0].canceled_qty == 2
    assert draw(venue.eng) == "---"


def test_fok_all_or_nothing(venue: Venue) -> None:
    """ask 101: #1:3, ask 102: #2:3 -- FOK 7 @ 102 is killed whole; FOK 6 @ 102 fills."""
    venue.limit(1, ALICE, SELL, 101, 3)
    venue.limit(2, ALICE, SELL, 102, 3)
    ev = venue.limit(3, BOB, BUY, 102, 7, tif=TIF.FOK)
    assert not of(ev, c.Trade)
    assert of(ev, c.OrderCanceled)[0].reason == CR.FOK_UNFILLABLE
    ev = venue.limit(4, BOB, BUY, 102, 6, tif=TIF.FOK)
    assert sum(t.qty for t in of(ev, c.Trade)) == 6
    assert draw(venue.eng) == "---"


def test_post_only(venue: Venue) -> None:
    venue.limit(1, ALICE, SELL, 101, 3)
    ev = venue.limit(2, BOB, BUY, 101, 1, flags=c.FLAG_POST_ONLY)
    assert of(ev, c.Rejected)[0].code == RC.POST_ONLY_WOULD_TAKE
    ev = venue.limit(3, BOB, BUY, 100, 1, flags=c.FLAG_POST_ONLY)
    assert kinds(ev) == ["OrderAccepted", "BookLevelChanged"]
    ev = venue.limit(4, BOB, BUY, 100, 1, flags=c.FLAG_POST_ONLY, tif=TIF.IOC)
    assert of(ev, c.Rejected)[0].code == RC.POST_ONLY_INVALID


def test_iceberg_refresh_goes_to_back_of_queue(venue: Venue) -> None:
    """
    ask 101: #1:2/6 #2:3   -- buy 2 takes #1's display; it refreshes behind #2:
    ask 101: #2:3 #1:2/4
    """
    venue.limit(1, ALICE, SELL, 101, 6, display_qty=2)
    venue.limit(2, BOB, SELL, 101, 3)
    assert draw(venue.eng) == "ask 101: #1:2/6 #2:3\n---"
    ev = venue.limit(3, CAROL, BUY, 101, 2)
    assert of(ev, c.BookLevelChanged)[0].qty == 5  # visible quantity only
    assert draw(venue.eng) == "ask 101: #2:3 #1:2/4\n---"
    ev = venue.limit(4, CAROL, BUY, 101, 6)
    assert [(t.maker_order_id, t.qty) for t in of(ev, c.Trade)] == [(2, 3), (1, 2), (1, 1)]
    assert draw(venue.eng) == "ask 101: #1:1\n---"


def test_replace_priority_rules(venue: Venue) -> None:
    """bid 100: #1:5 #2:5. Qty down keeps the place; qty up or a new price loses it."""
    venue.limit(1, ALICE, BUY, 100, 5)
    venue.limit(2, BOB, BUY, 100, 5)
    ev = venue.run(c.Replace(0, 0, 1, ALICE, 100, 4))
    assert of(ev, c.OrderReplaced)[0].priority_kept == 1
    assert draw(venue.eng) == "---\nbid 100: #1:4 #2:5"
    ev = venue.run(c.Replace(0, 0, 1, ALICE, 100, 6))
    assert of(ev, c.OrderReplaced)[0].priority_kept == 0
    assert draw(venue.eng) == "---\nbid 100: #2:5 #1:6"
    venue.run(c.Replace(0, 0, 2, BOB, 99, 5))
    assert draw(venue.eng) == "---\nbid 100: #1:6\nbid 99: #2:5"


def test_replace_that_crosses_trades(venue: Venue) -> None:
    venue.limit(1, ALICE, SELL, 102, 5)
    venue.limit(2, BOB, BUY, 100, 5)
    ev = venue.run(c.Replace(0, 0, 2, BOB, 102, 5))
    assert kinds(ev)[:2] == ["OrderReplaced", "Trade"]
    assert draw(venue.eng) == "---"


def test_replace_rejects(venue: Venue) -> None:
    venue.limit(1, ALICE, SELL, 102, 5)
    venue.limit(2, BOB, BUY, 102, 2)  # #1 has cum 2
    assert of(venue.run(c.Replace(0, 0, 1, ALICE, 102, 2)), c.Rejected)[0].code == (
        RC.REPLACE_QTY_TOO_LOW)
    assert of(venue.run(c.Replace(0, 0, 1, BOB, 102, 9)), c.Rejected)[0].code == (
        RC.ACCOUNT_MISMATCH)
    assert of(venue.run(c.Replace(0, 0, 99, BOB, 102, 9)), c.Rejected)[0].code == (
        RC.UNKNOWN_ORDER_ID)


def test_stop_triggers_on_last_trade(venue: Venue) -> None:
    """A buy stop at 105 and a sell stop-limit at 95 wait; a trade at 105 fires the buy."""
    venue.limit(1, ALICE, SELL, 105, 1)
    venue.limit(2, ALICE, SELL, 107, 3)
    ev = venue.order(3, BOB, BUY, OT.STOP, TIF.GTC, 0, 2, stop_price=105)
    assert kinds(ev) == ["OrderAccepted"]
    venue.order(4, BOB, SELL, OT.STOP_LIMIT, TIF.GTC, 94, 2, stop_price=95)
    ev = venue.limit(5, CAROL, BUY, 105, 1)
    assert kinds(ev)[:4] == ["OrderAccepted", "Trade", "OrderTriggered", "Trade"]
    trig = of(ev, c.OrderTriggered)[0]
    assert (trig.order_id, trig.stop_price, trig.last_price) == (3, 105, 105)
    assert [(t.taker_order_id, t.price, t.qty) for t in of(ev, c.Trade)] == [
        (5, 105, 1), (3, 107, 2)]
    assert draw(venue.eng) == "ask 107: #2:1\n---"


def test_stop_limit_rests_after_trigger(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 95, 1)
    venue.order(2, BOB, SELL, OT.STOP_LIMIT, TIF.GTC, 96, 4, stop_price=95)
    venue.limit(3, ALICE, SELL, 95, 1)  # ALICE self-trades (STP off): last = 95
    assert draw(venue.eng) == "ask 96: #2:4\n---"


def test_stp_cancel_newest(venue: Venue) -> None:
    venue.limit(1, BOB, SELL, 101, 5)
    ev = venue.limit(2, CAROL, BUY, 101, 3, stp=1)  # same group 5
    assert not of(ev, c.Trade)
    assert [(x.order_id, x.reason) for x in of(ev, c.OrderCanceled)] == [(2, CR.SELF_TRADE)]
    assert draw(venue.eng) == "ask 101: #1:5\n---"


def test_stp_cancel_oldest_then_trades_on(venue: Venue) -> None:
    venue.limit(1, BOB, SELL, 101, 5)
    venue.limit(2, ALICE, SELL, 101, 5)
    ev = venue.limit(3, CAROL, BUY, 101, 3, stp=2)
    assert [x.order_id for x in of(ev, c.OrderCanceled)] == [1]
    assert [(t.maker_order_id, t.qty) for t in of(ev, c.Trade)] == [(2, 3)]
    assert draw(venue.eng) == "ask 101: #2:2\n---"


def test_stp_cancel_both(venue: Venue) -> None:
    venue.limit(1, BOB, SELL, 101, 5)
    ev = venue.limit(2, BOB, BUY, 101, 3, stp=3)
    assert [x.order_id for x in of(ev, c.OrderCanceled)] == [1, 2]
    assert draw(venue.eng) == "---"


def test_stp_decrement_and_cancel(venue: Venue) -> None:
    """maker 5 vs taker 3: maker decremented to 2 (stays, keeps priority), taker canceled."""
    venue.limit(1, BOB, SELL, 101, 5)
    ev = venue.limit(2, CAROL, BUY, 101, 3, stp=4)
    got = [(x.order_id, x.canceled_qty, x.leaves_qty) for x in of(ev, c.OrderCanceled)]
    assert got == [(1, 3, 2), (2, 3, 0)]
    assert draw(venue.eng) == "ask 101: #1:2\n---"


def test_stp_none_allows_self_trade(venue: Venue) -> None:
    venue.limit(1, BOB, SELL, 101, 5)
    assert of(venue.limit(2, BOB, BUY, 101, 5), c.Trade)


def test_gtd_expires_by_engine_clock(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 5, tif=TIF.GTD, expire_time=500)
    assert not of(venue.run(c.AdvanceClock(0, 499)), c.OrderExpired)
    ev = venue.run(c.AdvanceClock(0, 500))
    assert [(x.order_id, x.reason) for x in of(ev, c.OrderExpired)] == [(1, CR.GTD_EXPIRED)]
    ev = venue.limit(2, ALICE, BUY, 100, 5, tif=TIF.GTD, expire_time=400)
    assert of(ev, c.Rejected)[0].code == RC.INVALID_EXPIRE_TIME


def test_day_orders_expire_at_end_of_session(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 5, tif=TIF.DAY)
    venue.limit(2, ALICE, BUY, 99, 5, tif=TIF.GTC)
    ev = venue.run(c.EndOfSession(0, 0, 0))
    assert [x.order_id for x in of(ev, c.OrderExpired)] == [1]
    assert of(ev, c.Acknowledged)[0].value == 1
    assert draw(venue.eng) == "---\nbid 99: #2:5"


def test_halt_blocks_entry_not_cancel(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 5)
    venue.run(c.SetTradingState(0, 0, 1, 1))
    assert of(venue.limit(2, ALICE, BUY, 100, 5), c.Rejected)[0].code == RC.INSTRUMENT_HALTED
    assert of(venue.run(c.Cancel(0, 0, 1, ALICE)), c.OrderCanceled)


def test_mass_cancel_by_account_and_side(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 1)
    venue.limit(2, ALICE, SELL, 110, 1)
    venue.limit(3, BOB, BUY, 99, 1)
    ev = venue.run(c.MassCancel(0, 0, ALICE, 1, BUY))
    assert [x.order_id for x in of(ev, c.OrderCanceled)] == [1]
    assert of(ev, c.MassCanceled)[0].count == 1
    assert draw(venue.eng) == "ask 110: #2:1\n---\nbid 99: #3:1"


def test_order_status(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 5)
    venue.limit(2, BOB, SELL, 100, 2)
    rep = of(venue.run(c.OrderStatus(0, 0, 1, ALICE)), c.OrderStatusReport)[0]
    assert (rep.leaves_qty, rep.cum_qty, rep.qty, rep.state) == (3, 2, 5, c.ORDER_ACTIVE)


def test_sweep_through_many_levels_reports_each_level_once(venue: Venue) -> None:
    """40 ask levels 101..140, one buy sweeps them all and rests the remainder at 140."""
    for k in range(40):
        venue.limit(100 + k, ALICE, SELL, 101 + k, 2)
        venue.limit(200 + k, BOB, SELL, 101 + k, 1)
    ev = venue.limit(1, CAROL, BUY, 140, 125)
    assert len(of(ev, c.Trade)) == 80
    books = [(b.side, b.price, b.qty) for b in of(ev, c.BookLevelChanged)]
    assert books == [(SELL, 101 + k, 0) for k in range(40)] + [(BUY, 140, 5)]
    assert draw(venue.eng) == "---\nbid 140: #1:5"


def test_replace_qty_up_at_the_top_level_reuses_the_price(venue: Venue) -> None:
    venue.limit(1, ALICE, BUY, 100, 5)
    ev = venue.run(c.Replace(0, 0, 1, ALICE, 100, 8))
    assert [(b.price, b.qty, b.count) for b in of(ev, c.BookLevelChanged)] == [(100, 8, 1)]
