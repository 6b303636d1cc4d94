"""Value formats of FIX field types and the value checker of the validation fast path.

``FORMATS`` maps a dictionary type to a predicate over the raw value; ``KINDS`` gives the
kind code the C checker (``_codec.check_values``) uses for the same predicate;
``py_check_values`` is its pure-Python reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fix_gateway import codec

_TS = re.compile(rb"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?")
_TIME = re.compile(rb"(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?")
_DATE = re.compile(rb"(\d{4})(\d{2})(\d{2})")


def _int(v: bytes) -> bool:
    return v.isdigit() or (v[:1] == b"-" and v[1:].isdigit())


def _float(v: bytes) -> bool:
    if v[:1] == b"-":
        v = v[1:]
    return (v.replace(b".", b"", 1).isdigit() and v[-1:] != b".") or v.isdigit()


def _char(v: bytes) -> bool:
    return len(v) == 1


def _bool(v: bytes) -> bool:
    return v == b"Y" or v == b"N"


def _date_ok(y: bytes, mo: bytes, d: bytes) -> bool:
    return 1 <= int(mo) <= 12 and 1 <= int(d) <= 31


def _timestamp(v: bytes) -> bool:
    m = _TS.fullmatch(v)
    return bool(m) and _date_ok(*m.group(1, 2, 3)) and _hms_ok(*m.group(4, 5, 6))  # type: ignore[union-attr]


def _hms_ok(h: bytes, mi: bytes, s: bytes) -> bool:
    return int(h) < 24 and int(mi) < 60 and int(s) <= 60


def _timeonly(v: bytes) -> bool:
    m = _TIME.fullmatch(v)
    return bool(m) and _hms_ok(*m.group(1, 2, 3))  # type: ignore[union-attr]


def _dateonly(v: bytes) -> bool:
    m = _DATE.fullmatch(v)
    return bool(m) and _date_ok(*m.group(1, 2, 3))  # type: ignore[union-attr]


FORMATS: dict[str, Callable[[bytes], bool]] = {
    "INT": _int,
    "LENGTH": _int,
    "NUMINGROUP": _int,
    "SEQNUM": _int,
    "TAGNUM": _int,
    "DAYOFMONTH": _int,
    "FLOAT": _float,
    "PRICE": _float,
    "QTY": _float,
    "AMT": _float,
    "PRICEOFFSET": _float,
    "PERCENTAGE": _float,
    "CHAR": _char,
    "BOOLEAN": _bool,
    "UTCTIMESTAMP": _timestamp,
    "UTCTIMEONLY": _timeonly,
    "UTCDATEONLY": _dateonly,
    "UTCDATE": _dateonly,
}
MULTI = {"MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"}
# kind codes of the C value checker (_codec.check_values)
KINDS: dict[Callable[[bytes], bool], int] = {
    _int: 1,
    _float: 2,
    _char: 3,
    _bool: 4,
    _timestamp: 5,
    _timeonly: 6,
    _dateonly: 7,
}
KIND_FNS: dict[int, Callable[[bytes], bool]] = {v: k for k, v in KINDS.items()}

# plan entry per field: None (non-empty only) or (kind, allowed values or None, multi)
PlanEntry = tuple[int, frozenset[bytes] | None, bool] | None


def py_check_values(fields: list[tuple[int, bytes]], plan: tuple[PlanEntry, ...]) -> int:
    """Reference of _codec.check_values: index of the first failing field or -1."""
    for i, ((_, value), entry) in enumerate(zip(fields, plan, strict=False)):
        if not value:
            return i
        if entry is None:
            continue
        kind, allowed, multi = entry
        fn = KIND_FNS.get(kind)
        if fn is not None and not fn(value):
            return i
        if allowed is not None:
            if multi:
                if not all(v in allowed for v in value.split(b" ") if v):
                    return i
            elif value not in allowed:
                return i
    return -1


check_values = getattr(getattr(codec, "_c", None), "check_values", None) or py_check_values
