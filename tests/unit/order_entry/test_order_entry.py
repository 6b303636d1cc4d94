"""Order entry as a FIX client sees it: requests in, ExecutionReports out (real C engine)."""

from __future__ import annotations

from fix_gateway.order_entry.orders import OrderBook, Report

from .harness import ALPHA, BETA, Core, fields, order


def test_resting_order_is_acknowledged_only_after_the_engine_answers() -> None:
    core = Core()
    assert core.send(ALPHA, "D", order("a1", "1", "0.5", "60000")) == []  # nothing yet
    [ack] = core.pump()
    f = fields(ack)
    assert ack.session == ALPHA and ack.msg_type == "8"
    assert (f[11], f[150], f[39], f[151], f[14], f[6]) == ("a1", "0", "0", "0.5", "0", "0")
    assert f[38] == "0.5" and f[44] == "60000" and f[1] == "ALPHA-1"


def test_a_cross_fills_both_sides_with_fees_and_liquidity() -> None:
    core = Core()
    core.send(ALPHA, "D", order("a1", "1", "0.5", "60000"))
    core.pump()
    core.send(BETA, "D", order("b1", "2", "0.2", "59990"))
    reports = core.pump()
    by = {(r.session, fields(r)[150]): fields(r) for r in reports}
    maker, taker = by[(ALPHA, "F")], by[(BETA, "F")]
    assert (maker[31], maker[32], maker[14], maker[151], maker[39], maker[851]) == ("60000", "0.2", "0.2", "0.3", "1", "1")
    assert (taker[31], taker[32], taker[14], taker[151], taker[39], taker[851]) == ("60000", "0.2", "0.2", "0", "2", "2")
    # Fees: value 12,000 USD; maker 1 bp = 1.2, taker 5 bp = 6 (account fee tiers)
    assert (maker[12], maker[13], taker[12]) == ("1.2", "3", "6")
    assert taker[1057] == "Y" and 1057 not in maker  # AggressorIndicator only on FIX 5.0
    assert maker[6] == "60000" and maker[17] != taker[17]


def test_average_price_over_several_fills() -> None:
    core = Core()
    core.send(BETA, "D", order("s1", "2", "0.1", "60000"))
    core.send(BETA, "D", order("s2", "2", "0.3", "60001"))
    core.pump()
    core.send(ALPHA, "D", order("b1", "1", "0.4", "60001"))
    fills = [fields(r) for r in core.pump() if r.session == ALPHA and fields(r)[150] == "F"]
    assert [f[31] for f in fills] == ["60000", "60001"]
    assert fills[-1][6] == "60000.75" and fills[-1][39] == "2"


def test_duplicate_cl_ord_id_is_refused_not_executed() -> None:
    core = Core()
    core.send(ALPHA, "D", order("dup", "1", "0.1", "60000"))
    [refusal] = core.send(ALPHA, "D", order("dup", "1", "0.1", "60000"))  # still in flight
    assert (refusal.get(150), refusal.get(39), refusal.get(103)) == (b"8", b"8", b"6")
    core.pump()
    [again] = core.send(ALPHA, "D", order("dup", "1", "0.1", "60000"))  # now known
    assert again.get(103) == b"6"
    assert core.pump() == []


def test_edge_refusals_carry_the_standard_reason_and_a_clear_text() -> None:
    core = Core()
    [unknown] = core.send(ALPHA, "D", [*order("u1", "1", "1", "10")[:1], (55, "DOGE-USD"), (54, "1"), (60, "x"), (38, "1"), (40, "2"), (44, "1")])
    assert unknown.get(103) == b"1" and b"unknown instrument" in (unknown.get(58) or b"")
    [off_tick44] = core.send(ALPHA, "D", order("t1", "1", "0.1", "60000.001"))
    assert off_tick44.get(103) == b"99" and b"tick" in (off_tick44.get(58) or b"")  # 18 is FIX 5.0 only
    [off_tick50] = core.send(BETA, "D", order("t2", "1", "0.1", "60000.001"))
    assert off_tick50.get(103) == b"18"
    [bad_account] = core.send(ALPHA, "D", [*order("x1", "1", "0.1", "60000"), (1, "BETA-1")])
    assert bad_account.get(103) == b"15"


def test_values_beyond_the_command_records_range_are_refused_not_crashed_on() -> None:
    core = Core()
    huge = "93000000000"  # 9.3e18 units of 10**-8: past a signed 64-bit field
    [qty] = core.send(ALPHA, "D", order("h1", "1", huge, "60000"))
    assert (qty.get(150), qty.get(103)) == (b"8", b"3") and b"OrderQty(38) 93000000000 is beyond" in (qty.get(58) or b"")
    [px] = core.send(ALPHA, "D", order("h2", "1", "0.1", "100000000000000000"))
    assert px.get(150) == b"8" and b"Price(44)" in (px.get(58) or b"")
    far = [*order("h3", "1", "0.1", "60000"), (59, "6"), (126, "99991231-00:00:00")]
    [gtd] = core.send(ALPHA, "D", far)
    assert gtd.get(103) == b"4" and b"ExpireTime(126)" in (gtd.get(58) or b"")
    assert core.pump() == []
    core.send(ALPHA, "D", order("o1", "1", "0.5", "60000"))
    core.pump()
    [rep] = core.send(ALPHA, "G", [(11, "o2"), (41, "o1"), (55, "BTC-USD"), (54, "1"), (60, "x"), (38, huge), (40, "2"), (44, "60000")])
    assert rep.msg_type == b"9" and b"OrderQty(38)" in (rep.get(58) or b"")


def test_engine_rejects_become_execution_reports() -> None:
    core = Core(funds=__import__("decimal").Decimal("100"))
    core.send(ALPHA, "D", order("poor", "1", "1", "60000"))
    [rej] = core.pump()
    f = fields(rej)
    assert (f[150], f[39], f[103], f[11], f[54], f[55]) == ("8", "8", "3", "poor", "1", "BTC-USD")
    assert "insufficient" in f[58]
    core.send(ALPHA, "D", order("band", "1", "0.0001", "90000"))
    assert fields(core.pump()[0])[58].startswith("price outside")


def test_cancel_replace_and_their_rejects() -> None:
    core = Core()
    core.send(ALPHA, "D", order("o1", "1", "0.5", "60000"))
    core.pump()
    core.send(ALPHA, "G", [(11, "o2"), (41, "o1"), (55, "BTC-USD"), (54, "1"), (60, "x"), (38, "0.4"), (40, "2"), (44, "60000")])
    [rep] = core.pump()
    assert (fields(rep)[150], fields(rep)[11], fields(rep)[41], fields(rep)[38]) == ("5", "o2", "o1", "0.4")
    core.send(ALPHA, "F", [(11, "o3"), (41, "o2"), (55, "BTC-USD"), (54, "1"), (60, "x")])
    [cxl] = core.pump()
    assert (fields(cxl)[150], fields(cxl)[39], fields(cxl)[11], fields(cxl)[41]) == ("4", "4", "o3", "o2")
    [late] = core.send(ALPHA, "F", [(11, "o4"), (41, "o3"), (55, "BTC-USD"), (54, "1"), (60, "x")])
    assert (late.msg_type, late.get(102), late.get(434)) == (b"9", b"0", b"1")
    [unknown] = core.send(ALPHA, "F", [(11, "o5"), (41, "nope"), (55, "BTC-USD"), (54, "1"), (60, "x")])
    assert (unknown.get(102), unknown.get(37)) == (b"1", b"NONE")


def test_mass_cancel_reports_each_order_and_the_total() -> None:
    core = Core()
    for i in range(3):
        core.send(ALPHA, "D", order(f"m{i}", "1", "0.1", f"5990{i}"))
    core.pump()
    core.send(ALPHA, "q", [(11, "mc1"), (530, "7"), (60, "x")])
    reports = core.pump()
    assert sorted(fields(r)[11] for r in reports if r.msg_type == "8") == ["m0", "m1", "m2"]
    [summary] = [fields(r) for r in reports if r.msg_type == "r"]
    assert (summary[531], summary[533]) == ("7", "3")


def test_cancel_on_disconnect_cancels_only_that_sessions_orders() -> None:
    core = Core()
    core.send(ALPHA, "D", order("a", "1", "0.1", "60000"))
    core.send(BETA, "D", order("b", "1", "0.1", "60000"))
    core.pump()
    core.app.on_logout(ALPHA)
    reports = core.pump()
    assert [(r.session, fields(r)[150], fields(r)[58]) for r in reports] == [(ALPHA, "4", "cancel on disconnect")]
    assert [o.cl_ord_id for o in core.book.live_orders()] == ["b"]


def test_status_and_unsupported_messages() -> None:
    core = Core()
    core.send(ALPHA, "D", order("s", "1", "0.1", "60000"))
    core.pump()
    [status] = core.send(ALPHA, "H", [(11, "s"), (55, "BTC-USD"), (54, "1")])
    assert (status.get(150), status.get(39), status.get(151)) == (b"I", b"0", b"0.1")
    [missing] = core.send(ALPHA, "H", [(11, "zzz"), (55, "BTC-USD"), (54, "1")])
    assert missing.get(39) == b"8"
    from fix_gateway.application import BusinessReject
    from fix_gateway.codec import encode, parse

    reply = core.app.on_message(ALPHA, parse(encode("FIX.4.4", "R", [(49, "C"), (56, "V"), (34, "2"), (52, "x"), (131, "q")])))
    assert isinstance(reply, BusinessReject) and reply.reason == 3


def test_security_list() -> None:
    core = Core()
    [sl] = core.send(ALPHA, "x", [(320, "r1"), (559, "4")])
    assert (sl.get(560), sl.get(146), sl.get(55)) == (b"0", b"1", b"BTC-USD")


def test_replay_skips_reports_handed_over_before_and_keeps_exec_ids() -> None:
    """A restarted gateway replays the event log into a fresh order book; reports of events
    at or below a session's ``reported`` mark are not built again, yet the state and the
    ExecIDs of every later report are those of the first run."""
    core = Core()
    batches: list[tuple[int, bytes, dict[int, object]]] = []
    apply_body = core.book.apply_body

    def recording(evt_seq, body, metas):  # type: ignore[no-untyped-def]
        batches.append((evt_seq, body, dict(metas)))
        return apply_body(evt_seq, body, metas)

    core.book.apply_body = recording  # type: ignore[method-assign]
    first: list[Report] = []
    core.send(ALPHA, "D", order("r1", "1", "0.3", "60000"))
    first += core.pump()
    core.send(BETA, "D", order("r2", "2", "0.1", "60000"))
    first += core.pump()
    core.send(BETA, "D", order("r3", "2", "0.1", "60000"))
    first += core.pump()
    core.send(ALPHA, "F", [(11, "r1c"), (41, "r1"), (55, "BTC-USD"), (54, "1"), (60, "20261122-00:00:00")])
    first += core.pump()
    mark = 2  # both sessions had everything up to event record 2

    again = OrderBook(core.refdata, core.book.fix44, core.book.transact_time, reported={ALPHA: mark, BETA: mark})
    replayed: list[Report] = []
    for evt_seq, body, metas in batches:
        replayed += again.apply_body(evt_seq, body, metas)  # type: ignore[arg-type]
    assert replayed == [r for r in first if r.evt_seq > mark]
    assert len(replayed) < len(first)
    assert again.orders.keys() == core.book.orders.keys()
    assert [(o.status, o.cum_qty, o.leaves, o.cl_ord_id) for o in again.orders.values()] == [
        (o.status, o.cum_qty, o.leaves, o.cl_ord_id) for o in core.book.orders.values()
    ]
