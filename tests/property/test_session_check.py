"""The in-session header checks in C (``codec.session_check``) against the Python path they
shortcut (``InSession.on_message``). Two sessions, logged on alike, get the same generated
messages (BeginString, MsgType, MsgSeqNum, SendingTime and CompIDs each right or wrong in
several ways, duplicated, missing, in any order), one with the C check and one without: what
they send back, what they report and their state must be the same after every message. The
C check may decline anything (the Python path then decides); where it accepts, the Python
path must have accepted the same message in the same way."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway.codec import encode, parse
from fix_gateway.session import in_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "fix"))
from fix_scenario import Scenario

pytestmark = pytest.mark.skipif(codec.session_check is None, reason="the C codec is not built")
EXAMPLES = int(os.environ.get("FIX_FUZZ_EXAMPLES", "200"))
NS = 1_000_000_000


@contextmanager
def python_checks_only() -> Iterator[None]:
    saved = in_session.session_check
    in_session.session_check = None
    try:
        yield
    finally:
        in_session.session_check = saved


def utc_text(ns: int, digits: int) -> bytes:
    sec, frac = divmod(ns, NS)
    text = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
    return text + (b".%0*d" % (digits, frac // 10 ** (9 - digits)) if digits else b"")


BAD_TIMES = [
    b"", b"2026-12-04", b"20261304-10:00:00", b"20260230-10:00:00", b"20240229-10:00:00",
    b"20261204-24:00:00", b"20261204-10:60:00", b"20261204-10:00:60", b"19691231-23:59:59",
    b"30000101-00:00:00", b"20261204-10:00:00.", b"20261204-10:00:00.1234567890",
    b"20261204 10:00:00", b"2026120a-10:00:00", b"20261204-10:00:00.12a", b"00000101-00:00:00",
]


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """How one message departs from a plain in-order NewOrderSingle (applied at send time,
    when the expected sequence number and the clock are known)."""
    if draw(st.integers(0, 2)) == 0:  # a third of them plain (the C check's accept side)
        return {"begin": "ok", "type": "D", "seq": "ok", "time": draw(st.sampled_from(["ok", "digits"])),
                "digits": draw(st.integers(0, 9)), "offset": 0, "bad_time": b"", "sender": "ok",
                "target": "ok", "order": draw(st.permutations(range(4))), "possdup": False}
    return {
        "begin": draw(st.sampled_from(["ok"] * 6 + ["other", "fixt"])),
        "type": draw(st.sampled_from(["D"] * 6 + ["F", "0", "1", "2", "3", "4", "5", "A", "AE", "8", "q", "j"])),
        "seq": draw(st.sampled_from(["ok"] * 6 + ["high", "low", "zeros", "abc", "", "missing", "dup-bad", "dup-ok"])),
        "time": draw(st.sampled_from(["ok"] * 4 + ["digits", "offset", "bad", "missing", "dup-bad"])),
        "digits": draw(st.integers(0, 9)),
        "offset": draw(st.sampled_from([-121, -120, -119.999, -1, 0.5, 119, 119.999999, 120, 120.000001, 121, 3600])),
        "bad_time": draw(st.sampled_from(BAD_TIMES)),
        "sender": draw(st.sampled_from(["ok"] * 6 + ["wrong", "missing", "dup-first-wrong", "dup-second-wrong", ""])),
        "target": draw(st.sampled_from(["ok"] * 6 + ["wrong", "missing", "dup-first-wrong", "dup-second-wrong"])),
        "order": draw(st.permutations(range(4))),
        "possdup": draw(st.sampled_from([False] * 5 + [True])),
    }


def build(sc: Scenario, m: dict[str, Any]) -> bytes:
    expected = sc.store.next_target_seq
    now = sc.clock()
    seq: list[tuple[int, Any]] = {
        "ok": [(34, expected)], "high": [(34, expected + 1)], "low": [(34, max(expected - 1, 1))],
        "zeros": [(34, b"000%d" % expected)], "abc": [(34, b"abc")], "": [(34, b"")], "missing": [],
        "dup-bad": [(34, expected + 5), (34, expected)], "dup-ok": [(34, expected), (34, expected + 5)],
    }[m["seq"]]
    sent_ok = utc_text(now, 3)
    sending: list[tuple[int, Any]] = {
        "ok": [(52, sent_ok)],
        "digits": [(52, utc_text(now, m["digits"]))],
        "offset": [(52, utc_text(now + int(m["offset"] * NS), m["digits"]))],
        "bad": [(52, m["bad_time"])],
        "missing": [],
        "dup-bad": [(52, m["bad_time"]), (52, sent_ok)],
    }[m["time"]]

    def comp(kind: str, right: str) -> list[tuple[int, Any]]:
        tag = 49 if right == sc.us else 56
        fields: dict[str, list[tuple[int, Any]]] = {
            "ok": [(tag, right)], "wrong": [(tag, right + "X")], "missing": [], "": [(tag, b"")],
            "dup-first-wrong": [(tag, "NOPE"), (tag, right)], "dup-second-wrong": [(tag, right), (tag, "NOPE")],
        }
        return fields[kind]

    parts = [seq, comp(m["sender"], sc.us), sending, comp(m["target"], sc.them)]
    header = [f for i in m["order"] for f in parts[i]]
    if m["possdup"]:
        header += [(43, "Y"), (122, sent_ok)]
    body: list[tuple[int, Any]] = []
    if m["type"] == "D":
        body = [(11, b"C%d" % expected), (54, 1), (38, 5), (40, 2), (44, "100.5"), (55, "BTC-USD"), (60, sent_ok)]
    begin = {"ok": sc.begin, "other": "FIX.4.2", "fixt": "FIXT.1.1" if sc.begin == "FIX.4.4" else "FIX.4.4"}[m["begin"]]
    return encode(begin, m["type"], [*header, *body])


def outcome(sc: Scenario, before: int, before_events: int) -> tuple[Any, ...]:
    s = sc.session
    return (
        [m.raw for m in sc.sent[before:]], [repr(e) for e in sc.events[before_events:]], sc.disconnected,
        s.state.name, sc.store.next_target_seq, sc.store.next_sender_seq, sorted(s.queue),
        s.last_received_ns, s.test_requests,
    )


def pair(fixt: bool) -> tuple[Scenario, Scenario]:
    fast, slow = Scenario(fixt=fixt), Scenario(fixt=fixt)
    fast.logon()
    with python_checks_only():
        slow.logon()
    assert fast.session.state.logged_on and slow.session.state.logged_on
    return fast, slow


ACCEPTED = {"c": 0, "all": 0}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixt=st.booleans(), steps=st.lists(messages(), min_size=1, max_size=6), advance=st.sampled_from([0, 0.0005, 2]))
def test_the_c_check_changes_nothing_the_python_path_decides(fixt: bool, steps: list[dict[str, Any]], advance: float) -> None:
    fast, slow = pair(fixt)
    for m in steps:
        frame = build(fast, m)
        assert frame == build(slow, m)
        s = fast.session
        verdict = codec.session_check(parse(frame), s.begin_string_b, s.target_b, s.sender_b,  # type: ignore[misc]
                                      fast.store.next_target_seq, fast.clock(), s.max_latency_ns)
        ACCEPTED["all"] += 1
        ACCEPTED["c"] += bool(verdict)
        marks = (len(fast.sent), len(fast.events), len(slow.sent), len(slow.events))
        in_order = fast.session.state is in_session.IN_SESSION and not fast.session.queue
        fast.send_raw(frame)
        with python_checks_only():
            slow.send_raw(frame)
        assert outcome(fast, marks[0], marks[1]) == outcome(slow, marks[2], marks[3]), m
        if verdict and in_order:  # accepted in C: the Python path took it in order (the
            # dictionary's validation, which comes after, may still Reject it), no Logout
            assert fast.store.next_target_seq == verdict + 1 and not fast.disconnected
            assert not any(x.msg_type == b"5" for x in fast.sent[marks[0]:])
        fast.clock.advance(advance)
        slow.clock.advance(advance)
        if fast.disconnected:
            break


def test_a_plain_message_is_accepted_and_each_flaw_declined() -> None:
    fast, _ = pair(False)
    s = fast.session
    expected = fast.store.next_target_seq

    def check(**change: Any) -> int:
        m = {"begin": "ok", "type": "D", "seq": "ok", "time": "ok", "digits": 3, "offset": 0, "bad_time": b"",
             "sender": "ok", "target": "ok", "order": [0, 1, 2, 3], "possdup": False, **change}
        return codec.session_check(parse(build(fast, m)), s.begin_string_b, s.target_b,  # type: ignore[misc,no-any-return]
                                   s.sender_b, expected, fast.clock(), s.max_latency_ns)

    assert check() == expected
    assert check(order=[3, 2, 1, 0]) == check(seq="zeros") == check(time="digits", digits=9) == expected
    assert check(time="digits", digits=0) == check(time="offset", offset=119.999) == expected
    assert check(sender="dup-second-wrong") == check(target="dup-second-wrong") == check(possdup=True) == expected
    declined = [
        check(begin="other"), check(type="0"), check(type="A"), check(type="5"), check(type="4"),
        check(seq="high"), check(seq="abc"), check(seq="missing"), check(seq="dup-bad"),
        check(time="offset", offset=121), check(time="missing"), check(time="dup-bad", bad_time=b"x"),
        check(sender="wrong"), check(sender="dup-first-wrong"), check(target="missing"),
        *(check(time="bad", bad_time=t) for t in BAD_TIMES),
    ]
    assert declined == [0] * len(declined)


def test_the_c_check_took_part() -> None:
    """(after the property test: the generated messages did reach the C path's accept side)"""
    if ACCEPTED["all"]:
        assert ACCEPTED["c"] > 0


def test_odd_inputs_are_declined_not_raised() -> None:
    """Messages built by hand, arguments out of range: the C check declines (0) and the
    Python path decides; it never raises on the order path."""
    import calendar

    from fix_gateway.codec import FixMessage

    ok = [(8, b"FIX.4.4"), (9, b"10"), (35, b"D"), (34, b"5"), (49, b"A"), (52, b"20261204-10:00:00"), (56, b"V")]
    now = calendar.timegm((2026, 12, 4, 10, 0, 0, 0, 0, 0)) * NS
    check = codec.session_check
    assert check is not None
    assert check(FixMessage(ok), b"FIX.4.4", b"A", b"V", 5, now, 120 * NS) == 5
    odd_fields: list[list[tuple[Any, Any]]] = [
        [*ok[:3], ("34", b"5"), *ok[4:]],  # a tag that is not an int
        [*ok[:3], (2**70, b"x"), *ok[3:]],  # a tag past 64 bits
        [*ok[:3], (34, "5"), *ok[4:]],  # a value that is not bytes
        [*ok[:4], (49, 7), *ok[5:]],
    ]
    for fields in odd_fields:
        assert check(FixMessage(fields), b"FIX.4.4", b"A", b"V", 5, now, 120 * NS) == 0

    class Other(FixMessage):
        __slots__ = ()

    assert check(Other(ok), b"FIX.4.4", b"A", b"V", 5, now, 120 * NS) == 0
    assert check(FixMessage(ok), b"FIX.4.4", b"A", b"V", 5, now, 1.5) == 0  # type: ignore[arg-type]
    assert check(FixMessage(ok), b"FIX.4.4", b"A", b"V", 2**70, now, NS) == 0
    assert check(FixMessage(ok), "FIX.4.4", b"A", b"V", 5, now, NS) == 0  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check(FixMessage(ok), b"FIX.4.4")  # type: ignore[call-arg]
