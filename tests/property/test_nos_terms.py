"""NewOrderSingle terms: the C fast path (``codec.nos_terms``) against the general Python
path (``requests._order_terms``) on generated field sets. Where the fast path answers, it
must give exactly the general path's terms; it may decline (None) anything."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway.codec import FixMessage
from fix_gateway.order_entry.refdata import scales
from fix_gateway.order_entry.requests import Refusal, SessionContext, _order_terms
from tests.unit.order_entry.harness import BTC

C = getattr(codec, "_c", None)
CTX = SessionContext("FIX.4.4:VENUE->ALPHA", "ALPHA", ("ALPHA-1",), stp_mode=3)
NUMBERS = [
    b"1", b"0", b"00", b"007", b"60000", b"60000.00", b"60000.005", b"60000.01", b"0.25", b"1.",
    b".5", b"-1", b"1e3", b"+1", b" 1", b"1.000000000000", b"0.00000001", b"0.000000001",
    b"0.000000010", b"123456789012345678", b"1234567890123456789", b"99999999999.99999999", b"",
]
plain = st.builds(
    lambda whole, frac, digits: b"%d" % whole + (b".%0*d" % (digits, frac % 10**digits) if digits else b""),
    st.integers(0, 10**9), st.integers(0, 10**12), st.sampled_from([0, 0, 1, 2, 2, 2, 8, 10]),
)
numbers = st.one_of(
    plain, plain, plain, st.sampled_from(NUMBERS),
    st.from_regex(rb"\A[0-9]{1,12}(\.[0-9]{0,12})?\Z", fullmatch=True),
)
one_of = st.sampled_from


@st.composite
def orders(draw: st.DrawFn) -> dict[int, bytes]:
    tags: dict[int, Any] = {
        54: one_of([b"1", b"2", b"1", b"2", b"3", b"", b"11"]),
        40: one_of([b"1", b"2", b"2", b"2", b"3", b"4", b"5", b""]),
        59: one_of([b"0", b"1", b"3", b"4", b"0", b"1", b"3", b"4", b"6", b"2", b""]),
        38: numbers,
        44: numbers,
        99: numbers,
        111: numbers,
        18: one_of([b"6", b"A 6", b"A"]),
        7928: one_of([b"1", b"4", b"9"]),
    }
    out: dict[int, bytes] = {}
    for tag, values in tags.items():
        # the common tags are usually there, the rare ones usually not
        rare = tag in (99, 111, 18, 7928)
        present = draw(st.integers(0, 9)) == 0 if rare else draw(st.integers(0, 9)) > 0
        if present:
            out[tag] = draw(values)
    return out


def _general(index: dict[int, bytes]) -> tuple[int, ...] | Refusal:
    fields = [(8, b"FIX.4.4"), (9, b"0"), (35, b"D"), *index.items()]
    msg = FixMessage(fields)
    _, price_scale, qty_scale, _ = scales(BTC)
    try:
        return _order_terms(CTX, BTC, msg, msg.fields_by_tag().get, price_scale, qty_scale)
    except Exception as exc:  # NotANumber: requests.new_order refuses it
        return Refusal(99, 99, str(exc))


@pytest.mark.skipif(C is None, reason="C codec not built")
@given(orders())
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_terms_are_the_general_paths_or_declined(index: dict[int, bytes]) -> None:
    assert C is not None
    _, price_scale, qty_scale, _ = scales(BTC)
    fast = C.nos_terms(index, qty_scale, price_scale)
    general = _general(index)
    if fast is None:
        return
    assert not isinstance(general, Refusal), (index, general)
    assert general == (*fast, 0, 0, 0, CTX.stp_mode, 0)


@pytest.mark.skipif(C is None, reason="C codec not built")
def test_plain_orders_take_the_fast_path() -> None:
    assert C is not None
    _, price_scale, qty_scale, _ = scales(BTC)
    limit = {54: b"1", 40: b"2", 38: b"0.25", 44: b"60000.5", 59: b"1"}
    assert C.nos_terms(limit, qty_scale, price_scale) == (0, 1, 1, 25_000_000, 6_000_050)
    market = {54: b"2", 40: b"1", 38: b"3"}
    assert C.nos_terms(market, qty_scale, price_scale) == (1, 0, 0, 300_000_000, 0)
    for rare in ({99: b"1"}, {111: b"1"}, {18: b"6"}, {7928: b"1"}, {59: b"6"}, {40: b"3"}):
        assert C.nos_terms({**limit, **rare}, qty_scale, price_scale) is None


def _text(units: int, scale: int, pad: int) -> bytes:
    whole, frac = divmod(units, 10**scale)
    text = b"%d" % whole
    if scale:
        text += (b".%0*d" % (scale, frac)).rstrip(b"0") + b"0" * pad
    return text.rstrip(b".") if text.endswith(b".") else text


@st.composite
def plain_orders(draw: st.DrawFn) -> dict[int, bytes]:
    _, price_scale, qty_scale, _ = scales(BTC)
    index = {
        54: draw(one_of([b"1", b"2"])),
        40: draw(one_of([b"1", b"2"])),
        38: _text(draw(st.integers(1, 10**12)), qty_scale, draw(st.integers(0, 3))),
    }
    if index[40] == b"2" or draw(st.booleans()):
        index[44] = _text(draw(st.integers(1, 10**10)), price_scale, draw(st.integers(0, 3)))
    if draw(st.booleans()):
        index[59] = draw(one_of([b"0", b"1", b"3", b"4"]))
    return index


@pytest.mark.skipif(C is None, reason="C codec not built")
@given(plain_orders())
@settings(max_examples=1000, deadline=None)
def test_plain_orders_are_answered_with_the_general_paths_terms(index: dict[int, bytes]) -> None:
    assert C is not None
    _, price_scale, qty_scale, _ = scales(BTC)
    fast = C.nos_terms(index, qty_scale, price_scale)
    assert fast is not None, index
    assert _general(index) == (*fast, 0, 0, 0, CTX.stp_mode, 0)
