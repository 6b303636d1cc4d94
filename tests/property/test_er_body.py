"""ExecutionReport bodies: the C ``er_body`` and ``er_terms`` against their pure-Python
references (``_pycodec.py_er_body``, ``py_er_terms``), and the reference's number text against the reports module's
(``units_text``, what the slow path of every report uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway._pycodec import py_er_body, py_er_terms, py_units
from fix_gateway.order_entry.reports import units_text

C = getattr(codec, "_c", None)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scales = st.integers(min_value=0, max_value=18)
units64 = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
small = st.integers(min_value=-(10**12), max_value=10**12)
text = st.binary(max_size=30).map(lambda b: b.replace(b"\x01", b""))
letters = st.sampled_from([b"0", b"4", b"5", b"8", b"C", b"D", b"F", b"I", b"L", b"1", b"2", b"A"])


@st.composite
def er_args(draw: st.DrawFn, units: st.SearchStrategy[int] = small) -> tuple[Any, ...]:
    cum = draw(st.integers(min_value=0, max_value=10**9))
    price = draw(st.integers(min_value=1, max_value=10**8))
    whole = draw(st.booleans())
    cum_value = cum * price if whole else cum * price + draw(st.integers(min_value=1, max_value=max(1, cum - 1)))
    avg = None if cum == 0 or cum_value % cum == 0 else draw(text.filter(bool))
    return (
        draw(text), draw(text), draw(st.integers(min_value=0, max_value=2**62)),
        draw(st.integers(min_value=0, max_value=10**6)), draw(letters), draw(letters), draw(text),
        draw(units), draw(st.integers(min_value=0, max_value=10**12)), draw(scales), draw(scales),
        draw(units), cum, avg, cum_value, draw(st.none() | units), draw(scales), draw(text),
        draw(text), draw(st.sampled_from([b"", b"1", b"2"])), draw(st.sampled_from([-1, 0, 1])),
    )


@given(st.integers(min_value=-(10**30), max_value=10**30), scales)
@SETTINGS
def test_reference_number_text_matches_the_reports_module(units: int, scale: int) -> None:
    assert py_units(units, scale) == units_text(units, scale).encode()


def test_a_fill_report_body_field_by_field() -> None:
    body = py_er_body(
        b"37=7\x0111=A1\x01", b"", 42, 2, b"F", b"1", b"55=BTC-USD\x0154=1\x01",
        6_000_000, 250, 2, 4, 750, 250, None, 250 * 6_000_000, -15, 2, b"", b"20261122-14:00:00.000",
        b"1", 0,
    )
    assert body == (
        b"37=7\x0111=A1\x0117=42-2\x01150=F\x0139=1\x0155=BTC-USD\x0154=1\x01"
        b"31=60000\x0132=0.025\x01151=0.075\x0114=0.025\x016=60000\x0112=-0.15\x0113=3\x01"
        b"60=20261122-14:00:00.000\x01851=1\x011057=N\x01"
    )
    assert C is None or C.er_body(
        b"37=7\x0111=A1\x01", b"", 42, 2, b"F", b"1", b"55=BTC-USD\x0154=1\x01",
        6_000_000, 250, 2, 4, 750, 250, None, 250 * 6_000_000, -15, 2, b"", b"20261122-14:00:00.000",
        b"1", 0,
    ) == body


ascii_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=24)


@st.composite
def terms_args(draw: st.DrawFn, units: st.SearchStrategy[int] = small) -> tuple[Any, ...]:
    return (
        draw(ascii_text), draw(ascii_text.filter(bool)), draw(st.sampled_from(["1", "2", "5", "8"])),
        draw(units), draw(scales), draw(st.sampled_from(["", "1", "2", "3", "4", "P"])), draw(units),
        draw(scales), draw(units), draw(st.sampled_from(["", "0", "1", "3", "4", "6"])),
    )


# each C builder, its argument strategy, its pure-Python reference
C_AGAINST_REFERENCE: dict[str, tuple[Callable[..., st.SearchStrategy[tuple[Any, ...]]], Callable[..., bytes]]] = {"er_body": (er_args, py_er_body), "er_terms": (terms_args, py_er_terms)}


@pytest.mark.skipif(C is None, reason="C codec not built")
@pytest.mark.parametrize("name", sorted(C_AGAINST_REFERENCE))
@given(data=st.data())
@SETTINGS
def test_c_matches_the_reference(name: str, data: st.DataObject) -> None:
    strategy, reference = C_AGAINST_REFERENCE[name]
    args = data.draw(strategy())
    assert getattr(C, name)(*args) == reference(*args)


@pytest.mark.skipif(C is None, reason="C codec not built")
@pytest.mark.parametrize("name", sorted(C_AGAINST_REFERENCE))
@given(data=st.data())
@SETTINGS
def test_c_matches_the_reference_or_declines_past_64_bits(name: str, data: st.DataObject) -> None:
    strategy, reference = C_AGAINST_REFERENCE[name]
    args = data.draw(strategy(units64))
    try:
        got = getattr(C, name)(*args)
    except OverflowError:
        return  # the caller then uses the reference
    assert got == reference(*args)


def test_order_terms_field_by_field() -> None:
    args = ("ALPHA-1", "BTC-USD", "2", 2500, 4, "4", 6_000_050, 2, 5_999_900, "1")
    terms = b"1=ALPHA-1\x0155=BTC-USD\x0154=2\x0138=0.25\x0140=4\x0144=60000.5\x0199=59999\x0159=1\x01"
    assert py_er_terms(*args) == terms
    # no account, a market order (its price is not reported), no time in force
    market = ("", "ETH-USD", "1", 10_000, 4, "1", 300_000, 2, 0, "")
    assert py_er_terms(*market) == b"55=ETH-USD\x0154=1\x0138=1\x0140=1\x01"
    assert C is None or (C.er_terms(*args), C.er_terms(*market)) == (py_er_terms(*args), py_er_terms(*market))
