"""Fixed-point conversion at the edges: Decimal outside, integer ticks / lots / units inside.

A value converts to an integer count of its increment only when it is an exact multiple;
anything else is a caller error (``OffIncrement``), never silently rounded. Floats are
refused outright: money never passes through binary floating point.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class OffIncrement(ValueError):
    """The value is not a whole multiple of the increment (price off tick, size off lot)."""


class NotANumber(ValueError):
    """The text is not a decimal number."""


def parse_decimal(text: str | bytes | Decimal | int) -> Decimal:
    """Parse a wire value (FIX, REST, TOML string) into a finite Decimal."""
    if isinstance(text, float):
        raise TypeError("floats are not accepted for money; pass a string or Decimal")
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        value = text if isinstance(text, Decimal) else Decimal(text)
    except (InvalidOperation, ValueError):
        raise NotANumber(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise NotANumber(f"not a finite number: {text!r}")
    return value


def to_units(value: Decimal | str | int, increment: Decimal | str) -> int:
    """Whole number of ``increment`` in ``value``: to_units("100.25", "0.05") == 2005."""
    value = parse_decimal(value)
    inc = parse_decimal(increment)
    if inc <= 0:
        raise ValueError(f"increment must be positive, got {inc}")
    quotient = value / inc
    whole = quotient.to_integral_value()
    if quotient != whole:
        raise OffIncrement(f"{value} is not a multiple of {inc}")
    return int(whole)


def from_units(units: int, increment: Decimal | str) -> Decimal:
    """Decimal value of ``units`` increments, normalised to the increment's exponent."""
    inc = parse_decimal(increment)
    exponent = inc.as_tuple().exponent
    result = inc * units
    if isinstance(exponent, int) and exponent < 0:
        return result.quantize(Decimal(1).scaleb(exponent))
    return result


def format_decimal(value: Decimal) -> str:
    """Plain (non-scientific) text for the wire, with no trailing zeros beyond need."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
