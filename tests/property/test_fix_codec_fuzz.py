"""Fuzz the FIX codec with hypothesis: C and pure-Python implementations must agree, parse
must only ever raise GarbledMessage, the framer must recover every message whatever the
chunking. ``FIX_FUZZ_EXAMPLES`` scales the example count; the number of inputs run is
printed at the end of the module (run with ``-s`` to see it)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway.codec import DATA_TAGS, LENGTH_TAGS, Framer, GarbledMessage

EXAMPLES = int(os.environ.get("FIX_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUNS: Counter[str] = Counter()
C = getattr(codec, "_c", None)

tags = st.integers(min_value=1, max_value=99999).filter(
    lambda t: t not in (8, 9, 10, 35) and t not in DATA_TAGS and t not in LENGTH_TAGS
)
values = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\x01", b""))
field_lists = st.lists(st.tuples(tags, values), min_size=1, max_size=30)
msg_types = st.sampled_from(["0", "1", "D", "8", "AE", "j"])


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    total = sum(RUNS.values())
    line = f"fix codec fuzz: {total} inputs ({dict(RUNS)})"
    print("\n" + line)
    path = os.environ.get("FIX_FUZZ_REPORT")
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")


def _py_or_garbled(fn, data: bytes):  # type: ignore[no-untyped-def]
    try:
        return fn(data)
    except GarbledMessage as e:
        return ("garbled", type(e))


@FUZZ
@given(msg_types, field_lists)
def test_encode_parse_roundtrip_both_implementations(
    msg_type: str, fields: list[tuple[int, bytes]]
) -> None:
    RUNS["roundtrip"] += 1
    raw = codec.encode("FIX.4.4", msg_type, fields)
    assert raw == codec.py_encode("FIX.4.4", msg_type, fields)
    m = codec.parse(raw)
    p = codec.py_parse(raw)
    assert m.fields == p.fields and m.shape == p.shape
    assert m.fields[3:-1] == fields
    assert m.msg_type == msg_type.encode()


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_garbled(data: bytes) -> None:
    RUNS["random"] += 1
    a = _py_or_garbled(codec.split, data)
    b = _py_or_garbled(codec.py_split, data)
    assert a == b


@FUZZ
@given(msg_types, field_lists, st.data())
def test_mutated_frames_agree(
    msg_type: str, fields: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    RUNS["mutated"] += 1
    raw = bytearray(codec.encode("FIX.4.4", msg_type, fields))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        i = data.draw(st.integers(0, len(raw) - 1)) if raw else 0
        if op == "flip" and raw:
            raw[i] = data.draw(st.sampled_from([0, 1, 48, 49, 61, 255, raw[i] ^ 1]))
        elif op == "insert":
            raw[i:i] = data.draw(st.sampled_from([b"\x01", b"=", b"1", b"10=", b"8=FIX"]))
        elif raw:
            del raw[i]
    frame = bytes(raw)
    a = _py_or_garbled(codec.split, frame)
    b = _py_or_garbled(codec.py_split, frame)
    assert a == b


@FUZZ
@given(
    st.lists(st.tuples(msg_types, field_lists), min_size=1, max_size=6),
    st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"8", b"")), min_size=7, max_size=7),
    st.lists(st.integers(1, 64), min_size=1, max_size=50),
)
def test_framer_recovers_every_message_whatever_the_chunking(
    msgs: list[tuple[str, list[tuple[int, bytes]]]], garbage: list[bytes], cuts: list[int]
) -> None:
    RUNS["framer"] += 1
    frames = [codec.encode("FIX.4.4", mt, f) for mt, f in msgs]
    stream = b"".join(g + fr for g, fr in zip(garbage, frames, strict=False))
    for impl in (codec.frame_end, codec.py_frame_end):
        framer = Framer()
        framer._end = impl  # type: ignore[misc]
        got: list[bytes] = []
        pos = 0
        i = 0
        while pos < len(stream):
            n = cuts[i % len(cuts)]
            i += 1
            framer.feed(stream[pos : pos + n])
            pos += n
            while (f := framer.next_frame()) is not None:
                got.append(f)
        assert got == frames


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 50))
def test_frame_end_implementations_agree(buf: bytes, max_size: int) -> None:
    RUNS["frame_end"] += 1
    start = buf.find(b"8=FIX")
    if start < 0:
        buf = b"8=FIX.4.4\x01" + buf
        start = 0
    assert codec.frame_end(buf, start, max_size * 10) == codec.py_frame_end(
        buf, start, max_size * 10
    )


ids = st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b"\x01", b"") or b"X")


@FUZZ
@given(
    msg_types, ids, ids, st.integers(1, 10**12),
    st.lists(field_lists.map(lambda fs: b"".join(b"%d=%s\x01" % f for f in fs)), max_size=5),
)
def test_encode_run_equals_one_encode_per_message(
    msg_type: str, sender: bytes, target: bytes, first: int, bodies: list[bytes]
) -> None:
    """``encode_run`` (the ExecutionReport run path, C) gives the bytes ``encode`` gives for
    the session's header and each pre-encoded body, sequence numbers from ``first``."""
    RUNS["encode_run"] += 1
    ts = b"20261122-05:00:00.123"
    expected = [
        codec.py_encode("FIXT.1.1", msg_type, [(34, first + i), (49, sender), (52, ts), (56, target), (0, body)])
        for i, body in enumerate(bodies)
    ]
    assert codec.encode_run(b"FIXT.1.1", msg_type.encode(), sender, target, ts, first, bodies) == expected
    if C is not None:
        assert C.encode_run(b"FIXT.1.1", msg_type.encode(), sender, target, ts, first, bodies) == expected
