"""Validation: fast path (cached shape + C value checks) agrees with the full walk."""

from __future__ import annotations

import pytest

from fix_gateway import codec
from fix_gateway.codec import encode, parse
from fix_gateway.dictionary import load
from fix_gateway.formats import py_check_values
from fix_gateway.validation import Validator

Field = tuple[int, str | bytes | int]
HDR: list[Field] = [(34, 2), (49, "TW44"), (52, "20261122-00:00:00.000"), (56, "ISLD")]
NOS: list[Field] = [
    (11, "ID"),
    (21, "3"),
    (38, "100"),
    (40, "2"),
    (44, "1.5"),
    (54, "1"),
    (55, "X"),
    (60, "20261122-00:00:00"),
]


@pytest.fixture(scope="module")
def v44() -> Validator:
    return Validator(load("FIX44"))


def test_valid_order_passes_both_paths(v44: Validator) -> None:
    m = parse(encode("FIX.4.4", "D", HDR + NOS))
    assert v44.validate_full(m) is None
    assert v44.validate(m) is None
    assert v44.validate(m) is None  # cached shape


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (1, "9", 5),  # HandlInst enum
        (2, "1x", 6),  # OrderQty float
        (3, "", 4),
        (4, "-", 6),
        (7, "20261122-25:00:00", 6),
        (7, "20261122-00:00:00.0000000000", 6),
        (6, "", 4),
    ],
)
def test_fast_path_catches_value_problems_of_a_known_shape(
    v44: Validator, index: int, value: str, reason: int
) -> None:
    good = parse(encode("FIX.4.4", "D", HDR + NOS))
    assert v44.validate(good) is None
    body: list[Field] = list(NOS)
    body[index] = (body[index][0], value)
    bad = parse(encode("FIX.4.4", "D", HDR + body))
    assert bad.shape == good.shape
    p = v44.validate(bad)
    assert p is not None and p.reason == reason and p.tag == body[index][0]


def test_group_count_value_is_pinned_in_the_fast_path(v44: Validator) -> None:
    ok: list[Field] = HDR + NOS + [(386, "2"), (336, "A"), (336, "B")]
    assert v44.validate(parse(encode("FIX.4.4", "D", ok))) is None
    bad: list[Field] = HDR + NOS + [(386, "3"), (336, "A"), (336, "B")]
    p = v44.validate(parse(encode("FIX.4.4", "D", bad)))
    assert p is not None and (p.reason, p.tag) == (16, 386)


def test_multiple_value_string_checks_each_token(v44: Validator) -> None:
    assert v44.validate(parse(encode("FIX.4.4", "D", HDR + NOS + [(18, "6 G")]))) is None
    p = v44.validate(parse(encode("FIX.4.4", "D", HDR + NOS + [(18, "6 ZZ")])))
    assert p is not None and (p.reason, p.tag) == (5, 18)


def test_c_and_python_value_checkers_agree(v44: Validator) -> None:
    m = parse(encode("FIX.4.4", "D", HDR + NOS))
    v44.validate(m)
    plan = v44._shapes[(m.msg_type, m.shape)]  # type: ignore[index]
    c = getattr(codec, "_c", None)
    for i in range(3, len(NOS) + 7):
        for value in (b"", b"x", b"1", b"-1.5", b"20261122-00:00:00", b"Y", b"1 2", b"..", b"-"):
            fields = list(m.fields)
            fields[i] = (fields[i][0], value)
            expected = py_check_values(fields, plan)
            if c is not None:
                assert c.check_values(fields, plan) == expected, (i, value)


def test_fixt_uses_transport_header_and_app_messages() -> None:
    v = Validator(load("FIXT11"), load("FIX50SP2"))
    hdr: list[Field] = [(34, 2), (49, "TW"), (52, "20261122-00:00:00.000"), (56, "ISLD")]
    assert v.validate(parse(encode("FIXT.1.1", "D", [*hdr, (1128, "9"), *NOS]))) is None
    assert (
        v.validate(
            parse(encode("FIXT.1.1", "A", [(34, 1), *hdr[1:], (98, 0), (108, 30), (1137, "9")]))
        )
        is None
    )
    p = v.validate(parse(encode("FIXT.1.1", "0", [*hdr, (99999, "x")])))
    assert p is not None and (p.reason, p.tag) == (0, 99999)
