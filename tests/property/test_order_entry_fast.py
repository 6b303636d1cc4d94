"""The order-entry application with its C fast paths (``codec.new_order_fast``,
``codec.cancel_fast``) against the same application without them, in lockstep on generated
conversations: NewOrderSingles and OrderCancelRequests from two sessions, plain and odd,
with ClOrdIDs drawn from a small pool (duplicates in flight and of the day), cancels of
live, finished, unknown and other accounts' orders, and the engine answering now and then.
Every step must give the same replies, the same command records and RequestMetas queued,
and the same ExecutionReports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import wire
from fix_gateway import codec
from fix_gateway.order_entry import app as app_module
from fix_gateway.order_entry.orders import expand
from tests.unit.order_entry.harness import ALPHA, BETA, Core, fields

C = getattr(codec, "_c", None)
one_of = st.sampled_from
CL = [b"c1", b"c2", b"c3", b"c4", b"c5", b"c6", b"c7", b"c8"]
QTY = [b"0.1", b"0.25", b"1", b"0.3"]
ODD_QTY = [b"0.00001", b"0", b"-1", b"1e2", b"93000000000"]
PRICE = [b"60000", b"59990.5", b"60010", b"60000"]
ODD_PRICE = [b"60000.001", b"0", b"", b"x", b"66000"]


def usually(draw: st.DrawFn, plain: list[Any], odd: list[Any]) -> Any:
    """A plain value four times in five, else an odd one."""
    return draw(one_of(odd if draw(st.integers(0, 4)) == 0 else plain))


Step = tuple[str, str, list[tuple[int, bytes]]]


@st.composite
def conversations(draw: st.DrawFn) -> list[Step]:
    """Steps where a cancel usually names an order its session sent before."""
    steps: list[Step] = []
    sent: list[tuple[str, bytes]] = []
    for _ in range(draw(st.integers(1, 40))):
        session, kind, fields = draw(step())
        if kind == "F" and sent and draw(st.integers(0, 3)):
            session, orig = draw(one_of(sent))
            fields = [(41, orig) if tag == 41 else (tag, v) for tag, v in fields]
        elif kind == "D":
            sent.append((session, fields[0][1]))
        steps.append((session, kind, fields))
    return steps


@st.composite
def step(draw: st.DrawFn) -> Step:
    session = draw(one_of([ALPHA, BETA]))
    kind = draw(one_of(["D", "D", "F", "F", "pump"]))
    if kind == "pump":
        return session, kind, []
    # ClOrdIDs: new orders from a small pool (duplicates), cancels mostly fresh ones
    cl = draw(one_of(CL)) if kind == "D" or draw(st.integers(0, 3)) == 0 else b"x%d" % draw(st.integers(0, 10**6))
    fields: list[tuple[int, bytes]] = [(11, cl)]
    account = usually(draw, [None, None, b"ALPHA-1" if session == ALPHA else b"BETA-1"], [b"BETA-1", b"", b"NOPE"])
    if account is not None:
        fields.append((1, account))
    if kind == "F":
        if draw(st.integers(0, 9)):
            fields.append((41, draw(one_of(CL))))
        fields += [(55, b"BTC-USD"), (54, draw(one_of([b"1", b"2"]))), (60, b"20261122-00:00:00")]
        return session, kind, fields
    fields += [
        (55, usually(draw, [b"BTC-USD"], [b"ETH-USD"])), (54, usually(draw, [b"1", b"2"], [b"7"])),
        (60, b"20261122-00:00:00"), (38, usually(draw, QTY, ODD_QTY)), (40, usually(draw, [b"2", b"2", b"1"], [b"3"])),
    ]
    price = usually(draw, PRICE, ODD_PRICE)
    if price:
        fields.append((44, price))
    if draw(st.integers(0, 9)) == 0:
        fields.append(draw(one_of([(59, b"3"), (59, b"6"), (18, b"6"), (97, b"Y"), (1, b"BETA-1")])))
    return session, kind, fields


def _send(core: Core, session: str, msg_type: str, fields: list[tuple[int, bytes]], fast: bool) -> list[bytes]:
    saved = app_module.new_order_fast, app_module.cancel_fast
    if not fast:
        app_module.new_order_fast = app_module.cancel_fast = None
    try:
        replies = core.send(session, msg_type, fields)  # type: ignore[arg-type]
    finally:
        app_module.new_order_fast, app_module.cancel_fast = saved
    return [m.raw for m in replies]


def _reports(core: Core) -> list[tuple[str, str, list[Any]]]:
    return [(r.session, r.msg_type, expand(r.fields)) for r in core.pump()]


@pytest.mark.skipif(C is None, reason="C codec not built")
@given(conversations())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_fast_paths_change_nothing_a_client_or_the_engine_sees(steps: list[Step]) -> None:
    fast, slow = Core(), Core()
    for session, kind, body in steps:
        if kind == "pump":
            assert _reports(fast) == _reports(slow)
            continue
        assert _send(fast, session, kind, body, True) == _send(slow, session, kind, body, False), (kind, body)
        assert fast.queued == slow.queued, (kind, body)
    assert _reports(fast) == _reports(slow)


@pytest.mark.skipif(C is None, reason="C codec not built")
def test_a_plain_cancel_takes_the_fast_path() -> None:
    assert C is not None
    core = Core()
    core.send(ALPHA, "D", [(11, "o1"), (55, "BTC-USD"), (54, "1"), (60, "x"), (38, "0.5"), (40, "2"), (44, "60000")])
    core.pump()
    calls: list[object] = []

    def counting(*args: Any) -> Any:
        calls.append(result := C.cancel_fast(*args))
        return result

    saved = app_module.cancel_fast
    app_module.cancel_fast = counting
    try:
        assert core.send(ALPHA, "F", [(11, "o2"), (41, "o1"), (55, "BTC-USD"), (54, "1"), (60, "x")]) == []
    finally:
        app_module.cancel_fast = saved
    assert len(calls) == 1 and calls[0] is not None
    [(record, meta)] = core.queued
    assert (meta.cl_ord_id, meta.orig_cl_ord_id, meta.account, meta.symbol, meta.side) == ("o2", "o1", "ALPHA-1", "BTC-USD", "1")
    live = core.book.find("ALPHA-1", "o1")
    assert live is not None
    assert wire.decode_command(record)[3] == c.Cancel(seq=meta.seq, ts=core.clock.now_ns(), order_id=live.order_id, account=1)
    [cxl] = core.pump()
    assert (fields(cxl)[150], fields(cxl)[11], fields(cxl)[41]) == ("4", "o2", "o1")
