"""The projection, scenario by scenario, on real engine events (no database).

``Tables`` applies row batches with the same rules as the SQL (insert-only rows: first
write wins; orders: only a newer ``updated`` position replaces a row), so the scenarios read
like the tables the writer would leave behind.
"""

from __future__ import annotations

import random
from typing import Any

from engine import commands as c
from persistence.projection import Projection
from persistence.rows import (
    APPEND_TABLES,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    OrderState,
    Row,
    RowBatch,
)
from tests.support.engine_feed import ALICE, BOB, CAROL, EngineFeed, limit, random_flow
from venue.rejects import CancelReason, RejectCode

BUY, SELL = c.BUY, c.SELL
_KEYS = {"executions": 3, "trades": 1, "rejects": 2, "balance_movements": 2, "mass_cancels": 2}


class Tables:
    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {t: {} for t in APPEND_TABLES}
        self.progress: dict[str, tuple[int, int]] = {}

    def store(self, batch: RowBatch) -> None:
        for table, rows in batch.tables.items():
            cols = APPEND_TABLES[table]
            for row in rows:
                self.rows[table].setdefault(row[: _KEYS[table]], dict(zip(cols, row, strict=True)))
        for row in batch.orders:
            new = dict(zip(ORDER_COLUMNS, row, strict=True))
            old = self.orders.get(new["order_id"])
            pos = (new["updated_evt_seq"], new["updated_evt_idx"])
            if old is None or (old["updated_evt_seq"], old["updated_evt_idx"]) < pos:
                self.orders[new["order_id"]] = new
        for source, (mark, stream) in batch.progress.items():
            old_mark, old_stream = self.progress.get(source, (0, 0))
            self.progress[source] = (max(mark, old_mark), max(stream, old_stream))

    def table(self, name: str) -> list[dict[str, Any]]:
        return [self.rows[name][k] for k in sorted(self.rows[name])]

    def executions(self, order_id: int) -> list[tuple[str, Any, Any, Any]]:
        return [(e["exec_type"], e["last_qty_units"], e["leaves_qty_units"], e["cum_qty_units"])
                for e in self.table("executions") if e["order_id"] == order_id]

    def live(self) -> list[OrderState]:
        return [OrderState(**o) for o in self.orders.values()
                if o["status"] in ("new", "partially_filled")]


def project(feed: EngineFeed, projection: Projection | None = None, tables: Tables | None = None,
            start: int = 0) -> tuple[Projection, Tables]:
    projection = projection or Projection()
    tables = tables or Tables()
    for stream_seq, pub in enumerate(feed.published[start:], start=start + 1):
        projection.apply_record(stream_seq, pub.payload)
        tables.store(projection.take())
    return projection, tables


def test_a_resting_order_filled_in_two_trades() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, SELL, 100, 10), cl_ord_id="S1", account="ALICE")
    feed.one(limit(2, BOB, BUY, 100, 4), cl_ord_id="B1")
    feed.one(limit(3, BOB, BUY, 101, 6), cl_ord_id="B2")
    _, t = project(feed)

    s1 = t.orders[1]
    assert (s1["status"], s1["cum_qty_units"], s1["leaves_qty_units"]) == ("filled", 10, 0)
    assert (s1["cl_ord_id"], s1["session"], s1["account_code"], s1["source"]) == (
        "S1", "FIX.4.4:VENUE->CLIENT", "ALICE", "fix")
    assert (s1["price_units"], s1["qty_units"], s1["side"], s1["tif"]) == (100, 10, SELL, c.TifCode.GTC)
    assert t.executions(1) == [("new", 0, 10, 0), ("trade", 4, 6, 4), ("trade", 6, 0, 10)]
    assert t.orders[2]["status"] == "filled" and t.orders[3]["status"] == "filled"
    trades = t.table("trades")
    assert [(x["exec_id"], x["price_units"], x["qty_units"], x["maker_order_id"],
             x["taker_order_id"], x["aggressor_side"]) for x in trades] == [
        (1, 100, 4, 1, 2, BUY), (2, 100, 6, 1, 3, BUY)]
    assert all(x["taker_fee_units"] >= x["maker_fee_units"] > 0 for x in trades)
    taker_leg = [e for e in t.table("executions") if e["order_id"] == 3][1]
    assert (taker_leg["leg"], taker_leg["cl_ord_id"], taker_leg["exec_id"]) == (0, "B2", 2)
    # Replaces and cancels of filled orders are gone from memory: only live orders stay.
    assert t.live() == []


def test_partial_fill_then_user_cancel_keeps_the_cancel_request_ids() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, BUY, 99, 10), cl_ord_id="O1")
    feed.one(limit(2, BOB, SELL, 99, 3), cl_ord_id="O2")
    feed.one(c.Cancel(0, 0, 1, ALICE), cl_ord_id="X1", orig_cl_ord_id="O1")
    _, t = project(feed)

    o = t.orders[1]
    assert (o["status"], o["cum_qty_units"], o["leaves_qty_units"], o["cl_ord_id"]) == (
        "canceled", 3, 0, "O1")
    cancel = [e for e in t.table("executions") if e["order_id"] == 1][-1]
    assert (cancel["exec_type"], cancel["last_qty_units"], cancel["reason"], cancel["cl_ord_id"],
            cancel["orig_cl_ord_id"], cancel["status"]) == (
        "canceled", 7, CancelReason.USER, "X1", "O1", "canceled")


def test_replace_moves_the_clordid_chain_and_can_trade() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, BUY, 98, 5), cl_ord_id="O1")
    feed.one(limit(2, BOB, SELL, 101, 2), cl_ord_id="O2")
    feed.one(c.Replace(0, 0, 1, ALICE, 101, 8), cl_ord_id="O1b", orig_cl_ord_id="O1")
    _, t = project(feed)

    o = t.orders[1]
    assert (o["cl_ord_id"], o["orig_cl_ord_id"], o["price_units"], o["qty_units"]) == (
        "O1b", "O1", 101, 8)
    assert (o["status"], o["cum_qty_units"], o["leaves_qty_units"]) == ("partially_filled", 2, 6)
    assert t.executions(1) == [("new", 0, 5, 0), ("replaced", 0, 8, 0), ("trade", 2, 6, 2)]
    assert [o.order_id for o in t.live()] == [1]


def test_ioc_remainder_stp_decrement_and_day_expiry() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, SELL, 100, 3), cl_ord_id="A")
    feed.one(limit(2, BOB, BUY, 100, 5, tif=c.TifCode.IOC), cl_ord_id="IOC")
    feed.one(limit(3, CAROL, SELL, 102, 10, tif=c.TifCode.DAY), cl_ord_id="DAY")
    # BOB and CAROL share an STP group: decrement-and-cancel reduces both by 4.
    feed.one(limit(4, BOB, BUY, 102, 4, stp=4), cl_ord_id="STP")
    feed.one(c.EndOfSession(0, 0, 1), source="cli")
    _, t = project(feed)

    assert (t.orders[2]["status"], t.orders[2]["cum_qty_units"]) == ("canceled", 3)
    assert t.executions(2)[-1] == ("canceled", 2, 0, 3)
    assert t.orders[4]["status"] == "canceled"
    assert t.executions(3) == [("new", 0, 10, 0), ("canceled", 4, 6, 0), ("expired", 6, 0, 0)]
    assert (t.orders[3]["status"], t.orders[3]["leaves_qty_units"]) == ("expired", 0)
    expiry = t.table("executions")[-1]
    assert (expiry["reason"], expiry["cl_ord_id"]) == (CancelReason.DAY_EXPIRED, "DAY")


def test_stop_order_triggers_and_executes() -> None:
    feed = EngineFeed()
    feed.one(c.NewOrder(0, 0, 1, ALICE, 1, BUY, c.OrdTypeCode.STOP, c.TifCode.GTC, 0, 2,
                        stop_price=101), cl_ord_id="STOP")
    feed.one(limit(2, BOB, SELL, 101, 5), cl_ord_id="M1")
    feed.one(limit(3, CAROL, SELL, 101, 1), cl_ord_id="M2")  # rests behind BOB
    feed.one(limit(4, ALICE, BUY, 101, 1), cl_ord_id="T")  # trades at 101: the stop fires
    _, t = project(feed)

    stop = t.orders[1]
    assert (stop["triggered"], stop["status"], stop["cum_qty_units"]) == (True, "filled", 2)
    kinds = [k for k, *_ in t.executions(1)]
    assert kinds == ["new", "triggered", "trade"]


def test_rejects_balances_and_mass_cancel() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, BUY, 200, 1), cl_ord_id="FAR", symbol="SYM", account="ALICE")
    feed.one(c.Cancel(0, 0, 99, ALICE), cl_ord_id="X", orig_cl_ord_id="NOPE")
    feed.one(limit(2, ALICE, BUY, 99, 1), cl_ord_id="L1")
    feed.one(limit(3, ALICE, SELL, 104, 1), cl_ord_id="L2")
    feed.one(c.MassCancel(0, 0, ALICE, 1, c.BOTH_SIDES), cl_ord_id="MC")
    feed.batch((c.WithdrawHold(0, 0, 7, ALICE, 2, 500), None),
               (c.WithdrawConfirm(0, 0, 7), None))
    _, t = project(feed)

    rejects = t.table("rejects")
    assert [(r["command"], r["ref_id"], r["code"], r["cl_ord_id"], r["orig_cl_ord_id"],
             r["symbol"]) for r in rejects] == [
        (c.CmdType.NEW_ORDER, 1, RejectCode.PRICE_OUTSIDE_BAND, "FAR", None, "SYM"),
        (c.CmdType.CANCEL, 99, RejectCode.UNKNOWN_ORDER_ID, "X", "NOPE", None)]
    assert 1 not in t.orders  # a rejected order is a reject, not an order
    assert [(m["account_id"], m["canceled_count"], m["cl_ord_id"]) for m in t.table("mass_cancels")
            ] == [(ALICE, 2, "MC")]
    assert t.orders[2]["status"] == t.orders[3]["status"] == "canceled"
    moves = [(m["kind"], m["account_id"], m["asset_id"], m["amount_units"], m["held_units"])
             for m in t.table("balance_movements")]
    assert moves[:2] == [("deposit", ALICE, 1, 1_000_000, None), ("deposit", ALICE, 2, 100_000_000, None)]
    assert moves[-2:] == [("withdraw_held", ALICE, 2, 500, 500), ("withdraw_confirmed", ALICE, 2, 500, 0)]


def test_a_republished_batch_is_skipped_whole() -> None:
    feed = EngineFeed()
    first = feed.one(limit(1, ALICE, SELL, 100, 10), cl_ord_id="S")
    feed.one(limit(2, BOB, BUY, 100, 4), cl_ord_id="B")
    proj, t = project(feed)
    assert proj.apply_record(10, first.payload) is False
    batch = proj.take()
    assert (batch.records, batch.duplicates, batch.row_count) == (1, 1, 0)
    assert batch.progress == {"engine-0": (3, 10)}  # watermark kept, stream position moves on
    assert t.progress == {"engine-0": (3, 3)}


def _flow(seed: int, batches: int = 60) -> EngineFeed:
    feed = EngineFeed()
    random_flow(feed, random.Random(seed), batches=batches, per_batch=8)
    return feed


def _canonical(t: Tables) -> dict[int, Row]:
    return {oid: tuple(o.values()) for oid, o in t.orders.items()}


def test_resuming_from_any_committed_point_gives_the_same_tables() -> None:
    feed = _flow(7)
    _, whole = project(feed)
    assert len(whole.table("trades")) > 20
    for cut in (5, 23, 41):
        _, part = project(_prefix(feed, cut))
        seeded = Projection(part.live(), {s: m for s, (m, _) in part.progress.items()})
        _, part = project(feed, seeded, part, start=cut)
        assert _canonical(part) == _canonical(whole)
        assert part.rows == whole.rows


def test_replaying_everything_over_final_state_changes_nothing() -> None:
    feed = _flow(11)
    _, final = project(feed)
    before = (_canonical(final), {k: dict(v) for k, v in final.rows.items()})
    # progress reset: no watermarks, live orders as the database has them
    replay = Projection(final.live(), {})
    _, again = project(feed, replay, final)
    assert (_canonical(again), again.rows) == before


def _prefix(feed: EngineFeed, n: int) -> EngineFeed:
    clone = EngineFeed.__new__(EngineFeed)
    clone.published = feed.published[:n]
    return clone


def test_orders_accepted_in_a_batch_are_new_later_changes_are_changed() -> None:
    feed = EngineFeed()
    feed.one(limit(1, ALICE, SELL, 100, 10), cl_ord_id="S1")
    feed.one(limit(2, BOB, BUY, 100, 4), cl_ord_id="B1")  # fills B1, changes S1
    proj = Projection()
    proj.apply_record(1, feed.published[0].payload)  # bootstrap
    proj.apply_record(2, feed.published[1].payload)
    first = proj.take()
    assert [r[0] for r in first.orders_new] == [1] and first.orders_changed == []
    proj.apply_record(3, feed.published[2].payload)
    second = proj.take()
    assert [r[0] for r in second.orders_new] == [2]
    assert [r[0] for r in second.orders_changed] == [1]
    # Both in one batch: S1 is new (the database has not seen it), in its latest state.
    together = Projection()
    for seq, pub in enumerate(feed.published, 1):
        together.apply_record(seq, pub.payload)
    batch = together.take()
    assert sorted(r[0] for r in batch.orders_new) == [1, 2] and batch.orders_changed == []
    assert dict(zip(ORDER_COLUMNS, batch.orders_new[0], strict=True))["cum_qty_units"] == 4


def test_events_change_only_the_mutable_order_columns() -> None:
    """The writer UPDATEs only ORDER_MUTABLE on rows stored before (persistence/store.py)."""
    fixed = [i for i, name in enumerate(ORDER_COLUMNS) if name not in ORDER_MUTABLE]
    first_seen: dict[int, Row] = {}
    projection = Projection()
    for stream_seq, pub in enumerate(_flow(13, batches=80).published, 1):
        projection.apply_record(stream_seq, pub.payload)
        for row in projection.take().orders:
            seen = first_seen.setdefault(row[0], row)
            assert [row[i] for i in fixed] == [seen[i] for i in fixed]
    assert len(first_seen) > 100
