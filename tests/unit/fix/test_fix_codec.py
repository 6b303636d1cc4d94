"""Codec: both implementations (C extension and pure Python) behave identically."""

from __future__ import annotations

import os

import pytest

from fix_gateway import codec
from fix_gateway.codec import SOH, Framer, GarbledMessage, checksum, encode, py_encode

Field = tuple[int, str | bytes | int]
NOS: list[Field] = [
    (34, 2),
    (49, "TW44"),
    (52, "20261122-00:00:00.000"),
    (56, "ISLD"),
    (11, "ID"),
    (38, 100),
    (55, b"INTC"),
]

IMPLS = [pytest.param(codec.py_parse, id="python")]
if codec.IMPLEMENTATION == "c":
    IMPLS.append(pytest.param(codec.parse, id="c"))


@pytest.mark.skipif(os.environ.get("VENUE_FIX_PURE") == "1", reason="pure Python forced")
def test_c_extension_is_built() -> None:
    assert codec.IMPLEMENTATION == "c", (
        "build it: VENUE_BUILD_ONLY=fix_gateway._codec python setup.py build_ext --inplace"
    )


def test_checksum_is_byte_sum_mod_256() -> None:
    assert checksum(b"") == 0
    assert checksum(bytes([255, 2])) == 1
    assert codec.py_checksum(b"8=FIX.4.4\x01") == checksum(b"8=FIX.4.4\x01")


def test_encode_layout_and_checksum() -> None:
    raw = encode("FIX.4.4", "D", NOS)
    assert raw.startswith(b"8=FIX.4.4\x019=")
    body = raw[raw.index(b"35=") : raw.rindex(b"10=")]
    assert int(raw.split(SOH)[1][2:]) == len(body)
    assert raw.endswith(b"10=%03d\x01" % (sum(raw[: raw.rindex(b"10=")]) % 256))
    assert raw == codec.py_encode("FIX.4.4", "D", NOS)


def test_encode_negative_and_large_ints() -> None:
    fields: list[Field] = [(34, -5), (38, 2**40), (5000, "x")]
    assert encode("FIX.4.4", "0", fields) == codec.py_encode("FIX.4.4", "0", fields)


@pytest.mark.parametrize("parse", IMPLS)
def test_parse_roundtrip(parse) -> None:  # type: ignore[no-untyped-def]
    raw = encode("FIX.4.4", "D", NOS)
    m = parse(raw)
    assert m.begin_string == b"FIX.4.4" and m.msg_type == b"D" and m.raw == raw
    assert [t for t, _ in m.fields] == [8, 9, 35, 34, 49, 52, 56, 11, 38, 55, 10]
    assert m.get(38) == b"100" and m.get(999) is None and m.get(999, b"d") == b"d"


@pytest.mark.parametrize("parse", IMPLS)
def test_get_returns_first_occurrence(parse) -> None:  # type: ignore[no-untyped-def]
    m = parse(encode("FIX.4.4", "D", [*NOS, (40, "1"), (40, "2")]))
    assert m.get(40) == b"1"
    assert [v for t, v in m.fields if t == 40] == [b"1", b"2"]


@pytest.mark.parametrize("parse", IMPLS)
def test_negative_and_zero_tags_parse(parse) -> None:  # type: ignore[no-untyped-def]
    # tag 0 in ``encode`` copies pre-encoded fields: that is how a literal "0=X" gets in
    m = parse(encode("FIX.4.4", "0", [(34, 2), (-1, "HI"), (0, b"0=X\x01")]))
    assert (-1, b"HI") in m.fields and (0, b"X") in m.fields


def test_tag_zero_is_a_run_of_encoded_fields() -> None:
    run = b"37=7\x0111=A\x01"
    for enc in (encode, py_encode):
        raw = enc("FIX.4.4", "8", [(34, 2), (0, run), (17, "E")])
        assert raw == enc("FIX.4.4", "8", [(34, 2), (37, 7), (11, "A"), (17, "E")])
        with pytest.raises(TypeError):
            enc("FIX.4.4", "8", [(0, "37=7\x01")])


@pytest.mark.parametrize("parse", IMPLS)
def test_data_field_may_contain_soh(parse) -> None:  # type: ignore[no-untyped-def]
    raw = encode("FIX.4.4", "B", [(34, 2), (95, 7), (96, b"ab\x01=cd\x01"), (58, "t")])
    m = parse(raw)
    assert m.get(96) == b"ab\x01=cd\x01" and m.get(58) == b"t"


def _garbled_cases() -> list[bytes]:
    good = encode("FIX.4.4", "0", [(34, 2), (49, "A"), (52, "x"), (56, "B")])
    bad_ck = good[:-4] + (b"%03d" % ((int(good[-4:-1]) + 1) % 256)) + SOH
    bad_len = good.replace(b"9=", b"9=9", 1)
    swapped = b"9=5\x018=FIX.4.4\x01" + good[good.index(b"35=") :]
    no_msgtype = good.replace(b"35=0\x01", b"34=0\x01", 1)
    return [
        bad_ck,
        bad_len,
        codec.py_encode("FIX.4.4", "0", [(34, 1)]).replace(b"9=", b"9=x", 1),
        swapped,
        no_msgtype,
        good[:-1],
        good.replace(b"49=A", b"49A"),
        good.replace(b"49=A", b"x9=A"),
        good.replace(b"49=A", b"1234567890=A"),
        b"",
        b"8=FIX.4.4\x01",
    ]


@pytest.mark.parametrize("parse", IMPLS)
@pytest.mark.parametrize("frame", _garbled_cases())
def test_garbled_frames_raise(parse, frame: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GarbledMessage):
        parse(frame)
    assert issubclass(GarbledMessage, ValueError)


def test_length_and_data_tags_match_the_dictionaries() -> None:
    from fix_gateway.dictionary import load

    lengths: set[int] = set()
    datas: set[int] = set()
    for name in ("FIX44", "FIXT11", "FIX50SP2"):
        d = load(name)
        lengths |= {t for t, f in d.fields.items() if f.type == "LENGTH"}
        datas |= {t for t, f in d.fields.items() if f.type in ("DATA", "XMLDATA")}
    assert datas == codec.DATA_TAGS
    assert lengths == codec.LENGTH_TAGS


# ----------------------------------------------------------------------------- framing

FRAME_ENDS = [
    pytest.param(codec.py_frame_end, id="python"),
    pytest.param(codec.frame_end, id="default"),
]


def _frames(framer: Framer) -> list[bytes]:
    out = []
    while (f := framer.next_frame()) is not None:
        out.append(f)
    return out


@pytest.mark.parametrize("frame_end", FRAME_ENDS)
def test_framer_splits_stream_and_skips_garbage(frame_end, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = encode("FIX.4.4", "0", [(34, 1)])
    b = encode("FIX.4.4", "1", [(34, 2), (112, "x")])
    f = Framer()
    monkeypatch.setattr(f, "_end", frame_end)
    f.feed(b"garbage" + a + b"\x01\x01junk" + b)
    assert _frames(f) == [a, b]
    assert f.dropped_bytes > 0


@pytest.mark.parametrize("frame_end", FRAME_ENDS)
def test_framer_byte_by_byte(frame_end, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    msgs = [encode("FIX.4.4", "0", [(34, i)]) for i in range(1, 4)]
    f = Framer()
    monkeypatch.setattr(f, "_end", frame_end)
    got = []
    for byte in b"".join(msgs):
        f.feed(bytes([byte]))
        got += _frames(f)
    assert got == msgs


@pytest.mark.parametrize("frame_end", FRAME_ENDS)
def test_framer_returns_frame_with_wrong_body_length_for_parse_to_reject(
    frame_end, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    good = encode("FIX.4.4", "0", [(34, 1), (112, "abc")])
    length = int(good.split(SOH)[1][2:])
    nxt = encode("FIX.4.4", "0", [(34, 2)])
    for wrong in (length - 5, length + 5, length + 500):
        bad = good.replace(b"\x019=%d\x01" % length, b"\x019=%d\x01" % wrong, 1)
        f = Framer()
        monkeypatch.setattr(f, "_end", frame_end)
        f.feed(bad + nxt)
        frames = _frames(f)
        assert frames and frames[-1] == nxt, (wrong, frames)
        assert len(frames) == 2
        with pytest.raises(GarbledMessage):
            codec.parse(frames[0])


@pytest.mark.parametrize("frame_end", FRAME_ENDS)
def test_framer_huge_body_length_resyncs(frame_end, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    nxt = encode("FIX.4.4", "0", [(34, 2)])
    f = Framer(max_message_size=4096)
    monkeypatch.setattr(f, "_end", frame_end)
    f.feed(b"8=FIX.4.4\x019=999999999\x0135=0\x01" + nxt)
    assert _frames(f) == [nxt]


@pytest.mark.parametrize("frame_end", FRAME_ENDS)
def test_framer_truncated_frame_then_good_frame(frame_end, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = encode("FIX.4.4", "0", [(34, 1), (112, "abc")])
    nxt = encode("FIX.4.4", "0", [(34, 2)])
    f = Framer()
    monkeypatch.setattr(f, "_end", frame_end)
    f.feed(good[:25] + nxt)
    frames = _frames(f)
    assert frames[-1] == nxt


def test_framer_memory_is_bounded_under_endless_garbage() -> None:
    f = Framer(max_message_size=1024)
    for _ in range(2000):
        f.feed(b"x" * 1000)
        assert f.next_frame() is None
        assert f.buffered <= 1024 + 1000
    f.feed(b"8=FIX.4.4\x019=50000\x01" + b"y" * 5000)
    assert f.next_frame() is None
    assert f.buffered < 6000


def test_framer_bounded_for_a_partial_frame_that_never_ends() -> None:
    f = Framer(max_message_size=1024)
    f.feed(b"8=FIX.4.4\x019=1000\x0135=0\x01")
    for _ in range(100):
        f.feed(b"a" * 100)
        assert f.next_frame() is None
    assert f.buffered < 1024 + 200
