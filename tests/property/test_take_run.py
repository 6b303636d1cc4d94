"""Sessions that take runs of plain requests in one C call (``codec.take_run``) against the
same sessions without it, in lockstep on generated reads.

Two stacks, each the order-entry application with the real C engine (the unit harness's
``Core``) behind two logged-on sessions (ALPHA on FIX.4.4, BETA on FIXT.1.1), get the same
bytes: reads of one to five frames (NewOrderSingles and cancels, plain and odd, with
ClOrdIDs from a small pool; heartbeats, test requests, status requests; a MsgSeqNum too high
or too low, PossDup, a wrong CompID, a SendingTime out of range), sometimes cut mid-frame or
with garbage in front, and the engine answering between reads. After every read both must
have sent the same bytes, queued the same command records and RequestMetas, expect the same
MsgSeqNum and be in the same state; after every engine step they must send the same
ExecutionReports.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway.codec import encode
from fix_gateway.config import SessionConfig
from fix_gateway.dictionary import load
from fix_gateway.order_entry.orders import expand
from fix_gateway.session import Send, Session, TestClock
from fix_gateway.session.times import format_utc
from fix_gateway.stores.memory import MemoryMessageStore
from fix_gateway.validation import Validator
from tests.property.test_order_entry_fast import PRICE, QTY, step
from tests.unit.order_entry.harness import ALPHA, BETA, Core

pytestmark = pytest.mark.skipif(codec.take_run is None, reason="the C codec is not built")

CONFIGS = {
    ALPHA: SessionConfig(begin_string="FIX.4.4", sender_comp_id="VENUE", target_comp_id="ALPHA", user_defined_fields=(7928,)),
    BETA: SessionConfig(begin_string="FIXT.1.1", sender_comp_id="VENUE", target_comp_id="BETA", user_defined_fields=(7928,)),
}

# One validator per session config for the whole module: a frame's shape is taken by
# take_run only once the Python path has validated that shape in full, and the examples
# then warm each other's caches (what a cache holds changes the path, never the outcome).
VALIDATORS: dict[str, Validator] = {}


def validator(sid: str) -> Validator:
    if sid not in VALIDATORS:
        transport, app_dict = CONFIGS[sid].dictionaries()
        VALIDATORS[sid] = Validator(load(transport), load(app_dict), frozenset(CONFIGS[sid].user_defined_fields))
    return VALIDATORS[sid]


class Stack:
    """The application and engine (``Core``) behind two logged-on sessions."""

    def __init__(self, runs: bool, shared_validators: bool = True) -> None:
        self.runs = runs
        self.core = Core()
        self.clock = TestClock()
        self.sessions = {
            sid: Session(cfg, MemoryMessageStore(), self.core.app, self.clock, validator(sid) if shared_validators else None)
            for sid, cfg in CONFIGS.items()
        }
        self.next_seq = dict.fromkeys(CONFIGS, 1)
        for sid, session in self.sessions.items():
            session.on_connect(True)
            body: list[tuple[int, Any]] = [(98, 0), (108, 30)]
            if CONFIGS[sid].is_fixt:
                body.append((1137, "9"))
            sent = self.read(sid, self.frame(sid, "A", body, {}))
            assert session.logged_on, sent

    def frame(self, sid: str, msg_type: str, body: list[tuple[int, Any]], odd: dict[str, Any]) -> bytes:
        cfg = CONFIGS[sid]
        seq = self.next_seq[sid] + odd.get("seq", 0)
        if not odd.get("seq"):
            self.next_seq[sid] += 1
        sending = format_utc(self.clock() + odd.get("late", 0) * 1_000_000_000)
        header: list[tuple[int, Any]] = [
            (34, seq), (49, "NOPE" if odd.get("sender") else cfg.target_comp_id), (52, sending), (56, cfg.sender_comp_id),
        ]
        if odd.get("possdup"):
            header += [(43, "Y"), (122, sending)]
        return encode(cfg.begin_string, msg_type, [*header, *body])

    def read(self, sid: str, data: bytes) -> list[Any]:
        session = self.sessions[sid]
        if self.runs:
            actions = session.on_bytes(data)
        else:
            with mock.patch.object(codec, "take_run", None):
                actions = session.on_bytes(data)
        return [a.data if isinstance(a, Send) else a for a in actions]

    def pump(self) -> list[tuple[str, str, list[Any]]]:
        return [(r.session, r.msg_type, expand(r.fields)) for r in self.core.pump()]

    def state(self) -> list[Any]:
        return [(s.state.name, s.store.next_target_seq, s.store.next_sender_seq) for s in self.sessions.values()]


@st.composite
def plain(draw: st.DrawFn, session: str, sent: list[tuple[str, bytes]]) -> tuple[str, list[tuple[int, bytes]]]:
    """A plain NewOrderSingle with a fresh ClOrdID, or a cancel of an order sent before."""
    mine = [cl for s, cl in sent if s == session]
    if mine and draw(st.integers(0, 2)) == 0:
        return "F", [(11, b"k%d" % draw(st.integers(0, 10**9))), (41, draw(st.sampled_from(mine))), (55, b"BTC-USD"),
                     (54, b"1"), (60, b"20261122-00:00:00")]
    cl = b"p%d" % draw(st.integers(0, 10**9))
    sent.append((session, cl))
    # (a TransactTime the validator refuses now and then: a known shape, a bad value)
    when = draw(st.sampled_from([b"20261122-00:00:00"] * 9 + [b"2026-11-22", b"20261122-25:00:00"]))
    return "D", [(11, cl), (55, b"BTC-USD"), (54, draw(st.sampled_from([b"1", b"2"]))), (60, when),
                 (38, draw(st.sampled_from(QTY))), (40, b"2"), (44, draw(st.sampled_from(PRICE)))]


@st.composite
def frames(draw: st.DrawFn, session: str, sent: list[tuple[str, bytes]]) -> tuple[str, list[tuple[int, bytes]], dict[str, Any]]:
    """Mostly plain requests; else anything test_order_entry_fast generates (odd values,
    duplicates, cancels of what is not there) or a session message."""
    roll = draw(st.integers(0, 9))
    if roll < 6:
        kind, body = draw(plain(session, sent))
    elif roll < 9:
        _, kind, body = draw(step())
        if kind == "pump":
            kind, body = "0", []
    else:
        kind = draw(st.sampled_from(["0", "1", "H"]))
        body = {"0": [], "1": [(112, b"T1")], "H": [(11, b"c1"), (55, b"BTC-USD"), (54, b"1")]}[kind]
    odd: dict[str, Any] = {}
    if draw(st.integers(0, 9)) == 0:
        odd = draw(st.sampled_from([{"seq": 3}, {"seq": -1}, {"possdup": True}, {"sender": True}, {"late": 600}]))
    return kind, body, odd


@st.composite
def reads(draw: st.DrawFn) -> list[tuple[str, list[Any], str]]:
    """Per read: the session, its frames, and how it arrives (whole, cut, after garbage);
    "pump" reads are the engine answering."""
    out: list[tuple[str, list[Any], str]] = []
    sent: list[tuple[str, bytes]] = []
    for _ in range(draw(st.integers(1, 25))):
        if draw(st.integers(0, 4)) == 0:
            out.append(("", [], "pump"))
            continue
        session = draw(st.sampled_from([ALPHA, BETA]))
        parts = [draw(frames(session, sent)) for _ in range(draw(st.integers(1, 5)))]
        out.append((session, parts, draw(st.sampled_from(["whole"] * 6 + ["cut", "garbage"]))))
    return out


@given(reads())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_runs_change_nothing_a_client_or_the_engine_sees(script: list[tuple[str, list[Any], str]]) -> None:
    fast, slow = Stack(runs=True), Stack(runs=False)
    for sid, parts, how in script:
        if how == "pump":
            assert fast.pump() == slow.pump()
            continue
        datas = [b"".join(stack.frame(sid, kind, body, odd) for kind, body, odd in parts) for stack in (fast, slow)]
        assert datas[0] == datas[1]
        data = datas[0]
        chunks = {"whole": [data], "cut": [data[: len(data) // 2], data[len(data) // 2:]],
                  "garbage": [b"xx\x01" + data]}[how]
        for chunk in chunks:
            assert fast.read(sid, chunk) == slow.read(sid, chunk), (how, parts)
            assert fast.core.queued == slow.core.queued, parts
            assert fast.state() == slow.state()
    assert fast.pump() == slow.pump()


def test_a_read_of_plain_requests_is_taken_in_one_call() -> None:
    stack = Stack(runs=True, shared_validators=False)
    calls: list[tuple[Any, ...]] = []
    real = codec.take_run
    assert real is not None

    def counting(*args: Any) -> tuple[Any, ...]:
        calls.append(result := real(*args))
        return result

    order = [(11, b"o1"), (55, b"BTC-USD"), (54, b"1"), (60, b"20261122-00:00:00"), (38, b"0.5"), (40, b"2"), (44, b"60000")]
    with mock.patch.object(codec, "take_run", counting):
        cancel = [(11, b"o2"), (41, b"o1"), (55, b"BTC-USD"), (54, b"1"), (60, b"20261122-00:00:00")]
        # the first of each shape is validated in full (the Python path); the cancel of an
        # order not there yet is refused there too
        first = stack.frame(ALPHA, "D", order, {}) + stack.frame(ALPHA, "F", [(11, b"o9"), *cancel[1:]], {})
        assert len(stack.read(ALPHA, first)) == 1  # the OrderCancelReject
        stack.pump()
        second = [(11, b"o3"), *order[1:]]
        data = stack.frame(ALPHA, "D", second, {}) + stack.frame(ALPHA, "F", cancel, {})
        assert stack.read(ALPHA, data) == []
    assert [call[1] for call in calls] == [0, 0, 2]
    assert [m.cl_ord_id for _, m in stack.core.queued] == ["o3", "o2"]
    assert stack.sessions[ALPHA].store.next_target_seq == 6  # Logon, four requests
    assert ("ALPHA-1", "o3") in stack.core.app._inflight_keys


def test_a_run_that_fails_midway_leaves_nothing_behind() -> None:
    """take_run raising (out of memory) after taking some frames: their ClOrdIDs are not
    left in flight, nothing is submitted, the expected MsgSeqNum has not moved, and the same
    requests sent again are taken as new."""
    stack = Stack(runs=True)
    real = codec.take_run
    assert real is not None
    session = stack.sessions[ALPHA]
    orders = [[(11, b"m%d" % i), (55, b"BTC-USD"), (54, b"1"), (60, b"20261122-00:00:00"), (38, b"0.5"), (40, b"2"),
               (44, b"60000")] for i in range(3)]
    stack.read(ALPHA, stack.frame(ALPHA, "D", [(11, b"warm"), *orders[0][1:]], {}))  # (the shape, validated)
    stack.pump()
    expected = session.store.next_target_seq
    data = b"".join(stack.frame(ALPHA, "D", o, {}) for o in orders)

    def failing(*args: Any) -> tuple[Any, ...]:
        real(*args)
        assert len(args[-1]) == 3  # (all three taken, then the failure)
        raise MemoryError

    with mock.patch.object(codec, "take_run", failing), pytest.raises(MemoryError):
        session.on_bytes(data)
    assert stack.core.queued == [] and stack.core.app.inflight == {} and not stack.core.app._inflight_keys
    assert session.store.next_target_seq == expected
    session.framer = type(session.framer)(CONFIGS[ALPHA].max_message_size)  # (the connection is gone)
    assert stack.read(ALPHA, data) == []
    assert [m.cl_ord_id for _, m in stack.core.queued] == ["m0", "m1", "m2"]
