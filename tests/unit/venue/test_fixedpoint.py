from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venue.fixedpoint import (
    NotANumber,
    OffIncrement,
    format_decimal,
    from_units,
    parse_decimal,
    to_units,
)


def test_price_to_ticks_and_back() -> None:
    assert to_units("60000.25", "0.01") == 6_000_025
    assert from_units(6_000_025, "0.01") == Decimal("60000.25")
    assert to_units(Decimal("0.0003"), Decimal("0.0001")) == 3


def test_off_tick_is_refused_not_rounded() -> None:
    with pytest.raises(OffIncrement):
        to_units("100.001", "0.01")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        parse_decimal(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["abc", "", "NaN", "Infinity", b"1e", "1,5"])
def test_not_a_number(text: str | bytes) -> None:
    with pytest.raises(NotANumber):
        parse_decimal(text)


def test_format_is_plain() -> None:
    assert format_decimal(Decimal("1E+3")) == "1000"
    assert format_decimal(Decimal("12.3400")) == "12.34"
    assert format_decimal(Decimal("0.00")) == "0"


@given(units=st.integers(min_value=-(10**15), max_value=10**15), exp=st.integers(min_value=0, max_value=8))
def test_round_trip_is_exact(units: int, exp: int) -> None:
    increment = Decimal(1).scaleb(-exp) * 5
    assert to_units(from_units(units, increment), increment) == units
