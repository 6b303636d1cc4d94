"""The end-to-end benchmark's load client (``bench.e2e``): its template encoder writes what the
general codec writes, and its lean reader agrees with a full parse.

The reader (``_Load.feed``) is checked against a reference: the same load logic over
``fix_gateway.codec.Framer`` + ``parse`` + ``FixMessage.get``, fed the same venue messages in
random chunks, with fields in any order and near-miss tags (111, 1150, 139) around the ones read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.e2e import INSTRUMENTS, SHAPES, _Load, _Writer
from fix_gateway.codec import Framer, GarbledMessage, encode, parse
from fix_gateway.session.times import format_utc

SESSIONS = [
    {"begin": "FIX.4.4", "sender": "ALPHA", "username": "a", "password": "p", "account": "ALPHA-1"},
    {"begin": "FIXT.1.1", "sender": "BE%dTA", "username": "b", "password": "p", "account": "B%s-1"},
]
T0 = 1_795_000_000_123_456_789  # ns since the epoch


def frames(data: bytes) -> list[Any]:
    framer = Framer()
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse(frame))  # checks BodyLength and CheckSum
    return out


@pytest.mark.parametrize("sess", SESSIONS, ids=["fix44", "fixt11"])
def test_orders_and_cancels_are_the_codec_bytes(sess: dict[str, str]) -> None:
    now = [T0]
    w = _Writer(sess["begin"], sess["sender"], sess["account"], clock=lambda: now[0])
    ts = format_utc(T0 - T0 % 1_000_000)
    expected = []
    for seq, (cl, shape, cents) in enumerate([
        (b"T0-1", 0, 6_000_000), (b"T0-22", 1, 5_880_001), (b"L1-333", 2, 300_009), (b"L1-4444", 3, 306_000),
    ], start=1):
        w.seq = seq * 99_991  # MsgSeqNum digits vary, so does BodyLength
        w.order(cl, shape, cents)
        symbol, side = SHAPES[shape]
        expected.append(encode(sess["begin"], "D", [
            (49, sess["sender"]), (56, "VENUE"), (34, seq * 99_991), (52, ts), (11, cl), (1, sess["account"]),
            (55, symbol), (54, side), (38, INSTRUMENTS[symbol][1]), (40, "2"),
            (44, f"{cents // 100}.{cents % 100:02d}"), (59, "1"), (60, ts),
        ]))
        w.cancel(cl, shape)
        expected.append(encode(sess["begin"], "F", [
            (49, sess["sender"]), (56, "VENUE"), (34, seq * 99_991 + 1), (52, ts), (11, cl + b"x"), (41, cl),
            (1, sess["account"]), (55, symbol), (54, side), (60, ts),
        ]))
    assert b"".join(w.out) == b"".join(expected)
    assert [m.msg_type for m in frames(b"".join(w.out))] == [b"D", b"F"] * 4


def test_time_text_is_refreshed_each_millisecond() -> None:
    now = [T0]
    w = _Writer("FIX.4.4", "ALPHA", "ALPHA-1", clock=lambda: now[0])
    first = w.now()
    now[0] += 999_999 - T0 % 1_000_000  # same millisecond
    assert w.now() is first
    now[0] += 1
    assert w.now() == format_utc(now[0]) != first
    w.order(b"T0-1", 0, 6_000_000)
    msg = frames(b"".join(w.out))[0]
    assert msg.get(52) == msg.get(60) == format_utc(now[0])


# ----------------------------------------------------------------------------- reader vs reference

CLS = [b"T0-%d" % i for i in range(1, 7)]
ER_FIELDS = {  # tag: values (near-miss tags read nothing)
    11: [*CLS, b"T0-99"], 150: [b"0", b"8", b"F", b"4", b"5", b"FF"], 39: [b"0", b"1", b"2", b"4", b"8", b"00"],
    41: CLS, 58: [b"order would exceed the account's limit", b"unknown order"],
    111: [b"8"], 1150: [b"8"], 139: [b"0"], 37: [b"1"], 17: [b"E1"],
}


@st.composite
def venue_message(draw: st.DrawFn) -> tuple[str, list[tuple[int, bytes]]]:
    kind = draw(st.sampled_from(["8", "8", "8", "8", "9", "1", "0", "A", "3"]))
    if kind == "8":
        tags = draw(st.permutations(list(ER_FIELDS)))
        tags = [t for t in tags if t in (11, 150) or draw(st.booleans())]
        body = [(t, draw(st.sampled_from(ER_FIELDS[t]))) for t in tags]
        if draw(st.booleans()):  # ExecType and OrdStatus adjacent, as the venue writes them
            first = draw(st.sampled_from([150, 150, 1150]))
            body = [f for f in body if f[0] not in (first, 39)] + [
                (first, draw(st.sampled_from([b"0", b"F", b"00"]))), (39, draw(st.sampled_from([b"0", b"2", b"22"])))
            ]
    elif kind == "9":
        body = [(11, b"T0-1x"), (41, draw(st.sampled_from(CLS))), (39, b"8"), (434, b"1"), (58, b"x")]
    elif kind == "1":
        body = [(112, draw(st.sampled_from([b"TEST1", b"T=2"])))]
    else:
        body = [(98, b"0"), (108, b"30")] if kind == "A" else []
    return kind, body


def reference(data: bytes, sent: set[bytes]) -> dict[str, Any]:
    """The load's handling as bench.e2e had it: full parse, FixMessage.get."""
    sent, live = set(sent), set()
    out: dict[str, Any] = {"acks": 0, "rejects": 0, "texts": Counter(), "fills": 0, "cancel_acks": 0,
                           "cancel_rejects": 0, "heartbeats": [], "logon": False}
    for msg in frames(data):
        mt = msg.msg_type
        if mt == b"1":
            out["heartbeats"].append(msg.get(112) or b"")
        if mt == b"8":
            cl, et = msg.get(11), msg.get(150)
            if cl in sent:
                sent.discard(cl)
                out["acks"] += 1
                if et == b"8":
                    out["rejects"] += 1
                    out["texts"][(msg.get(58) or b"").decode("latin-1")[:60]] += 1
                elif msg.get(39) == b"0":
                    live.add(cl)
                continue
            if et == b"F":
                out["fills"] += 1
                if msg.get(39) == b"2":
                    live.discard(cl)
            elif et == b"4":  # ours (OrigClOrdID) or the venue's (ClOrdID)
                live.discard(msg.get(41) or cl)
                out["cancel_acks"] += 1
        elif mt == b"9":
            out["cancel_rejects"] += 1
            out["texts"]["cancel: " + (msg.get(58) or b"").decode("latin-1")[:60]] += 1
        elif mt == b"A":
            out["logon"] = True
    out["live"], out["unanswered"] = live, sent
    return out


def observed(load: _Load) -> dict[str, Any]:
    return {
        "acks": len(load.acks), "rejects": len(load.rejects), "texts": Counter(load.reject_texts),
        "fills": load.fills, "cancel_acks": len(load.cancel_acks), "cancel_rejects": load.cancel_rejects,
        "heartbeats": [m.get(112) for m in frames(b"".join(load.out)) if m.msg_type == b"0"],
        "logon": load.logged_on, "live": load.live, "unanswered": set(load.sent),
    }


def stream(begin: str, messages: list[tuple[str, list[tuple[int, bytes]]]]) -> bytes:
    return b"".join(
        encode(begin, kind, [(34, i), (49, "VENUE"), (52, "20261122-00:00:00.000"), (56, "ALPHA"), *body])
        for i, (kind, body) in enumerate(messages, 1)
    )


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(["FIX.4.4", "FIXT.1.1"]),
    st.lists(venue_message(), max_size=25),
    st.lists(st.integers(min_value=1, max_value=400), max_size=30),
    st.binary(max_size=12).map(lambda b: b.replace(b"8", b"")),
)
def test_reader_agrees_with_a_full_parse(
    begin: str, messages: list[tuple[str, list[tuple[int, bytes]]]], cuts: list[int], garbage: bytes
) -> None:
    data = stream(begin, messages)
    load = _Load(SESSIONS[0] | {"begin": begin}, 0, 300)
    load.sent = {cl: 0 for cl in CLS}
    load.out.clear()
    fed, pos = garbage + data, 0
    for n in cuts:  # arbitrary chunks: frames split anywhere
        load.feed(fed[pos:pos + n])
        pos += n
    load.feed(fed[pos:])
    assert observed(load) == reference(data, set(CLS))


def test_partial_frame_waits_for_the_rest() -> None:
    load = _Load(SESSIONS[0], 0, 300)
    load.sent = {b"T0-1": 0}
    data = stream("FIX.4.4", [("8", [(11, b"T0-1"), (150, b"0"), (39, b"0")])])
    for i in range(len(data)):
        load.feed(data[i:i + 1])
    assert len(load.acks) == 1 and load.live == {b"T0-1"} and load._rest == b""


def test_garbled_frame_raises() -> None:
    data = stream("FIX.4.4", [("0", [])])
    bad = data.replace(b"9=", b"9=9", 1)  # BodyLength 9x: the trailer is not where it says
    load = _Load(SESSIONS[0], 0, 300)
    with pytest.raises(GarbledMessage):
        load.feed(bad + data)


def test_refill_keeps_the_window_and_cancels_the_oldest_live() -> None:
    load = _Load(SESSIONS[0], 0, max_resting=3)
    load.window = 3
    load.refill()
    assert list(load.sent) == [b"T0-1", b"T0-2", b"T0-3"]
    load.out.clear()
    load.feed(stream("FIX.4.4", [("8", [(11, b"T0-2"), (150, b"0"), (39, b"0")])]))
    # T0-2's report frees a slot: T0-4 goes out; 4 resting > 3, but the oldest, T0-1, is not
    # answered yet (it may still come to rest): nothing is cancelled and nothing dropped
    assert [m.get(11) for m in frames(b"".join(load.out))] == [b"T0-4"]
    assert load.cancels_sent == 0 and [cl for cl, _ in load.resting] == [b"T0-1", b"T0-2", b"T0-3", b"T0-4"]
    load.out.clear()
    load.feed(stream("FIX.4.4", [("8", [(11, b"T0-1"), (150, b"0"), (39, b"0")])]))
    # T0-1 rests: T0-5 goes out and the oldest live orders are cancelled down to 3 resting
    assert [m.get(11) for m in frames(b"".join(load.out))] == [b"T0-5", b"T0-1x"]
    assert load.cancels_sent == 1 and load.live == {b"T0-2"}
    assert [cl for cl, _ in load.resting] == [b"T0-2", b"T0-3", b"T0-4", b"T0-5"]


def test_reader_refuses_a_frame_with_a_bad_checksum() -> None:
    good = stream("FIX.4.4", [("0", [])])
    bad = good[:-4] + (b"%03d" % ((int(good[-4:-1]) + 1) % 256)) + b"\x01"
    load = _Load(SESSIONS[0], 0, 300)
    load.feed(good)
    with pytest.raises(GarbledMessage, match="CheckSum"):
        load.feed(bad)
