"""The end of the trading day (EndOfSession in the log): DAY orders expire, the gateway
forgets the day's finished orders and their ClOrdIDs become free; live orders stay."""

from __future__ import annotations

from typing import Any

from fix_gateway.order_entry.orders import OrderBook, py_order_events
from tests.unit.order_entry.harness import ALPHA, BETA, Core, fields, order


def test_day_orders_expire_and_finished_orders_are_forgotten() -> None:
    core = Core()
    core.send(ALPHA, "D", order("day", "1", "0.1", "59000"))  # TimeInForce absent: Day
    core.send(ALPHA, "D", order("gtc", "1", "0.1", "58000", t59="1"))
    core.send(ALPHA, "D", order("filled", "2", "0.1", "61000", t59="1"))
    core.pump()
    core.send(BETA, "D", order("taker", "1", "0.1", "61000"))  # fills ALPHA's "filled"
    core.pump()
    assert len(core.book.orders) == 4

    reports = core.end_of_session()
    expired = [fields(r) for r in reports if r.session == ALPHA]
    assert [(f[11], f[150], f[39]) for f in expired] == [("day", "C", "C")]
    # live: only the GTC order; the filled, expired and taker orders are forgotten
    assert [o.cl_ord_id for o in core.book.orders.values()] == ["gtc"]
    assert core.book.find("ALPHA-1", "filled") is None and core.book.find("ALPHA-1", "day") is None

    # a finished order's ClOrdID is free again; the live order's is still taken
    assert core.send(ALPHA, "D", order("filled", "1", "0.1", "57000")) == []
    [dup] = core.send(ALPHA, "D", order("gtc", "1", "0.1", "57000"))
    assert (dup.get(39), dup.get(103)) == (b"8", b"6")
    [new] = core.pump()
    assert (fields(new)[11], fields(new)[150]) == ("filled", "0")
    # the live order is still there to cancel
    core.send(ALPHA, "F", [(41, "gtc"), (11, "gtc-x"), (55, "BTC-USD"), (54, "1"), (60, "20261122-00:00:00")])
    [canceled] = core.pump()
    assert (fields(canceled)[150], fields(canceled)[41]) == ("4", "gtc")


def test_a_replay_forgets_at_the_same_point() -> None:
    """The roll is an event in the log: a book replaying the same event records ends with
    the same orders and ClOrdIDs as the one that saw them live."""
    core = Core()
    replica = OrderBook(core.refdata, core.book.fix44, core.book.transact_time)
    live_apply = core.book.apply

    def both(evt_seq: int, events: Any, metas: Any) -> Any:
        events = list(events)
        replica.apply(evt_seq, events, metas)
        return live_apply(evt_seq, events, metas)

    live_apply_body = core.book.apply_body

    def both_body(evt_seq: int, body: bytes, metas: Any) -> Any:  # the replica folds in Python
        replica.apply(evt_seq, py_order_events(body), metas)
        return live_apply_body(evt_seq, body, metas)

    core.book.apply = both  # type: ignore[method-assign]
    core.book.apply_body = both_body  # type: ignore[method-assign]
    core.send(ALPHA, "D", order("a", "1", "0.1", "59000"))
    core.send(ALPHA, "D", order("b", "1", "0.1", "59000", t59="1"))
    core.pump()
    core.end_of_session()
    core.send(ALPHA, "D", order("a", "1", "0.1", "59000"))
    core.pump()
    assert replica.days_ended == core.book.days_ended == 1
    names = [(account, cl) for account, cl, _ in core.book.cl_ord_id_keys()]
    assert sorted((a, cl) for a, cl, _ in replica.cl_ord_id_keys()) == sorted(names) == [("ALPHA-1", "a"), ("ALPHA-1", "b")]
    assert sorted(replica.orders) == sorted(core.book.orders)


def test_the_live_orders_are_kept_apart_from_the_days_orders() -> None:
    """Cancel-on-disconnect, mass cancel and mass status go through the live orders only:
    the index follows every fill, cancel and expiry, in the order the orders were accepted,
    and a book snapshot restores it."""
    from fix_gateway.order_entry.book_snapshots import decode_book, encode_book

    core = Core()
    core.send(ALPHA, "D", order("day", "1", "0.1", "59000"))
    core.send(ALPHA, "D", order("gtc", "1", "0.1", "58000", t59="1"))
    core.send(ALPHA, "D", order("part", "2", "0.2", "61000", t59="1"))
    core.send(ALPHA, "D", order("gone", "2", "0.1", "62000", t59="1"))
    core.pump()
    core.send(BETA, "D", order("taker", "1", "0.1", "61000"))  # half of "part"
    core.send(ALPHA, "F", [(41, "gone"), (11, "gone-x"), (55, "BTC-USD"), (54, "2"), (60, "20261122-00:00:00")])
    core.pump()

    def scanned() -> list[str]:
        return sorted(o.cl_ord_id for o in core.book.orders.values() if o.live)

    assert [o.cl_ord_id for o in core.book.live_orders()] == ["day", "gtc", "part"]
    assert sorted(o.cl_ord_id for o in core.book.live_orders()) == scanned()
    assert [o.cl_ord_id for o in core.book.live_orders(session=BETA)] == []
    core.end_of_session()  # "day" expires
    assert [o.cl_ord_id for o in core.book.live_orders()] == ["gtc", "part"] and scanned() == ["gtc", "part"]

    image = encode_book(core.book, 99)
    replica = OrderBook(core.refdata, core.book.fix44, core.book.transact_time)
    snap = decode_book(image, core.refdata)
    replica.restore(snap.orders, snap.by_cl_ord_id)
    assert [o.cl_ord_id for o in replica.live_orders()] == ["gtc", "part"]
