"""NewOrderSingle translation: the C fast path (``codec.new_order_fast``) against the
translation in Python (``requests._new_order``, its reference) on generated messages. Where
the fast path answers, it must give exactly the Python translation's record and RequestMeta;
it may decline (None) anything, and the Python translation then decides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import wire
from fix_gateway import codec
from fix_gateway.codec import FixMessage, parse
from fix_gateway.order_entry import requests
from fix_gateway.order_entry.refdata import AccountRef, RefData, scales
from fix_gateway.order_entry.requests import Refusal, SessionContext
from tests.unit.order_entry.harness import BTC
from venue.bus.envelope import RequestMeta
from venue.fixedpoint import NotANumber
from venue.instruments import InstrumentSpec
from venue.sharded_dict import ShardedDict

C = getattr(codec, "_c", None)
ETH = InstrumentSpec(
    instrument_id=7, symbol="ETH-USD", base="ETH", quote="USD", base_asset_id=3, quote_asset_id=1,
    base_decimals=6, quote_decimals=6, tick_size=Decimal("0.05"), lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"), max_qty=Decimal("1000"), price_band_pct=Decimal("10"),
    reference_price=Decimal("3000"),
)
ACCOUNTS = {
    "ALPHA-1": AccountRef(11, "ALPHA-1", "ALPHA"),
    "ALPHA-2": AccountRef(12, "ALPHA-2", "ALPHA"),
    "BETA-1": AccountRef(21, "BETA-1", "BETA"),
    "GAMMA-1": AccountRef(31, "GAMMA-1", "GAMMA"),
}
CTXS = [
    SessionContext("FIX.4.4:VENUE->ALPHA", "ALPHA", ("ALPHA-1", "ALPHA-2", "GAMMA-1"), stp_mode=3),
    SessionContext("FIXT.1.1:VENUE->BETA", "BETA", ("BETA-1",), stp_mode=1, fix44=False),
    SessionContext("FIX.4.4:VENUE->NOBODY", "NOBODY", ()),
    SessionContext("FIX.4.4:VENUE->GHOST", "GHOST", ("GHOST-1", "ALPHA-1")),  # first account unknown
]
NUMBERS = [
    b"1", b"0", b"00", b"007", b"60000", b"60000.00", b"60000.005", b"60000.01", b"0.25", b"1.",
    b".5", b"-1", b"1e3", b"+1", b" 1", b"1.000000000000", b"0.00000001", b"0.000000001",
    b"0.000000010", b"123456789012345678", b"1234567890123456789", b"99999999999.99999999", b"",
    b"NaN", b"\xe9",
]
plain = st.builds(
    lambda whole, frac, digits: b"%d" % whole + (b".%0*d" % (digits, frac % 10**digits) if digits else b""),
    st.integers(0, 10**9), st.integers(0, 10**12), st.sampled_from([0, 0, 1, 2, 2, 2, 6, 8, 10]),
)
numbers = st.one_of(
    plain, plain, plain, st.sampled_from(NUMBERS),
    st.from_regex(rb"\A[0-9]{1,12}(\.[0-9]{0,12})?\Z", fullmatch=True),
)
one_of = st.sampled_from
TAGS: dict[int, Any] = {
    1: one_of([b"ALPHA-1", b"ALPHA-2", b"BETA-1", b"GAMMA-1", b"GHOST-1", b"", b"alpha-1", b"\xe9"]),
    11: st.binary(min_size=0, max_size=12),
    55: one_of([b"BTC-USD", b"ETH-USD", b"BTC-USD", b"ETH-USD", b"DOGE-USD", b"", b"btc-usd"]),
    54: one_of([b"1", b"2", b"1", b"2", b"3", b"", b"11"]),
    40: one_of([b"1", b"2", b"2", b"2", b"3", b"4", b"5", b""]),
    59: one_of([b"0", b"1", b"3", b"4", b"0", b"1", b"3", b"4", b"6", b"2", b""]),
    38: numbers,
    44: numbers,
    99: numbers,
    111: numbers,
    18: one_of([b"6", b"A 6", b"A"]),
    7928: one_of([b"1", b"4", b"9"]),
    126: one_of([b"20261122-10:00:00", b"junk"]),
}
RARE = (99, 111, 18, 7928, 126)


@st.composite
def messages(draw: st.DrawFn) -> FixMessage:
    """A NewOrderSingle's fields, tags in a drawn order, some twice (the first counts)."""
    body: list[tuple[int, bytes]] = []
    for tag, values in TAGS.items():
        present = draw(st.integers(0, 9)) == 0 if tag in RARE else draw(st.integers(0, 9)) > 0
        if present:
            body.append((tag, draw(values)))
    body = draw(st.permutations(body))
    if body and draw(st.integers(0, 4)) == 0:  # a repeated tag
        tag, _ = draw(one_of(body))
        body.insert(draw(st.integers(0, len(body))), (tag, draw(TAGS[tag])))
    header = [(8, b"FIX.4.4"), (9, b"0"), (35, b"D"), (49, b"ALPHA"), (56, b"VENUE"), (34, b"2")]
    return FixMessage([*header, *body, (10, b"000")])


def _refdata(killed: set[str]) -> RefData:
    return RefData({"BTC-USD": BTC, "ETH-USD": ETH}, dict(ACCOUNTS), killed)


def _python(ctx: SessionContext, refdata: RefData, msg: FixMessage, order_id: int, now: int) -> Any:
    try:
        return requests._new_order(ctx, refdata, msg, order_id, now)
    except NotANumber as exc:
        return Refusal(99, 99, str(exc))


@pytest.mark.skipif(C is None, reason="C codec not built")
@given(
    messages(), one_of(CTXS), one_of([set(), set(), {"ALPHA"}, {"BETA", "GAMMA"}]),
    st.integers(1, 2**63 - 1), st.integers(0, 2**62),
)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_translation_is_the_pythons_or_declined(
    msg: FixMessage, ctx: SessionContext, killed: set[str], order_id: int, now: int
) -> None:
    assert C is not None
    refdata = _refdata(killed)
    fast = C.new_order_fast(msg, refdata.order_plan(ctx), order_id, now, set(), {})
    reference = _python(ctx, refdata, msg, order_id, now)
    if fast is None:
        return
    assert not isinstance(reference, Refusal), (msg, reference)
    record, meta = fast
    assert record == reference[0]
    assert meta == reference[1] and type(meta) is RequestMeta


def _nos(**tags: bytes) -> FixMessage:
    fields = {11: b"C-1", 55: b"BTC-USD", 54: b"1", 40: b"2", 38: b"0.25", 44: b"60000.5", 59: b"1"}
    fields.update({int(k[1:]): v for k, v in tags.items()})
    return parse(codec.encode("FIX.4.4", "D", [(49, "ALPHA"), (56, "VENUE"), (34, "2"), *(
        (t, v) for t, v in fields.items() if v)]))


@pytest.mark.skipif(C is None, reason="C codec not built")
def test_plain_orders_take_the_fast_path() -> None:
    assert C is not None
    refdata = _refdata(set())
    ctx = CTXS[0]
    record, meta = C.new_order_fast(_nos(), refdata.order_plan(ctx), 42, 7, set(), {})
    assert record == wire.encode_new_order(42, 7, 42, 11, 1, c.BUY, 1, 1, 6_000_050, 25_000_000, stp=3)
    assert meta == RequestMeta(seq=42, session=ctx.session_id, cl_ord_id="C-1", account="ALPHA-1", symbol="BTC-USD",
                               firm="ALPHA", source="fix", side="1", ord_type="2", price="60000.5", qty="0.25")
    market = C.new_order_fast(_nos(_40=b"1", _44=b"", _59=b"", _1=b"GAMMA-1"), refdata.order_plan(ctx), 43, 8, set(), {})
    assert market is not None and market[1].account == "GAMMA-1"
    assert wire.decode_command(market[0])[3] == c.NewOrder(
        seq=43, ts=8, order_id=43, account=31, instrument=1, side=c.BUY, ord_type=0, tif=0, price=0,
        qty=25_000_000, stp=3)
    for declined in (
        {"_99": b"1"}, {"_111": b"1"}, {"_18": b"6"}, {"_7928": b"1"}, {"_59": b"6"}, {"_40": b"3"},
        {"_1": b"BETA-1"}, {"_55": b"DOGE-USD"}, {"_38": b"0"}, {"_44": b"60000.005"},
    ):
        assert C.new_order_fast(_nos(**declined), refdata.order_plan(ctx), 44, 9, set(), {}) is None, declined


@pytest.mark.skipif(C is None, reason="C codec not built")
def test_duplicates_are_declined() -> None:
    assert C is not None
    refdata = _refdata(set())
    plan = refdata.order_plan(CTXS[0])
    assert C.new_order_fast(_nos(), plan, 1, 1, {("ALPHA-1", "C-1")}, {}) is None  # in flight
    assert C.new_order_fast(_nos(), plan, 1, 1, {("ALPHA-2", "C-1")}, {}) is not None  # another account's
    book = ShardedDict([("C-1", object())])
    assert C.new_order_fast(_nos(), plan, 1, 1, set(), {"ALPHA-1": book}) is None  # an order of the day
    assert C.new_order_fast(_nos(), plan, 1, 1, set(), {"ALPHA-1": {"C-1": 1}}) is None  # (a plain dict too)
    assert C.new_order_fast(_nos(_11=b"C-2"), plan, 1, 1, set(), {"ALPHA-1": book}) is not None


@pytest.mark.skipif(C is None, reason="C codec not built")
def test_the_kill_switch_applies_at_once() -> None:
    assert C is not None
    refdata = _refdata(set())
    plan = refdata.order_plan(CTXS[0])
    assert C.new_order_fast(_nos(), plan, 1, 1, set(), {}) is not None
    refdata.killed_firms.add("ALPHA")  # as the service's kill switch does
    assert C.new_order_fast(_nos(), refdata.order_plan(CTXS[0]), 2, 1, set(), {}) is None
    refused = requests.new_order(CTXS[0], refdata, _nos(), 2, 1)
    assert isinstance(refused, Refusal) and "kill switch" in refused.text


def _text(units: int, scale: int, pad: int) -> bytes:
    whole, frac = divmod(units, 10**scale)
    text = b"%d" % whole
    if scale:
        text += (b".%0*d" % (scale, frac)).rstrip(b"0") + b"0" * pad
    return text.rstrip(b".") if text.endswith(b".") else text


@st.composite
def plain_orders(draw: st.DrawFn) -> tuple[FixMessage, InstrumentSpec]:
    spec = draw(one_of([BTC, ETH]))
    _, price_scale, qty_scale, _ = scales(spec)
    tick = int(spec.tick_size * 10**price_scale)
    lot = int(spec.lot_size * 10**qty_scale)
    tags = {
        1: draw(one_of([b"", b"ALPHA-1", b"ALPHA-2"])),
        55: spec.symbol.encode(),
        54: draw(one_of([b"1", b"2"])),
        40: draw(one_of([b"1", b"2"])),
        38: _text(draw(st.integers(1, 10**6)) * lot, qty_scale, draw(st.integers(0, 3))),
        44: b"",
        59: draw(one_of([b"", b"0", b"1", b"3", b"4"])),
    }
    if tags[40] == b"2" or draw(st.booleans()):
        tags[44] = _text(draw(st.integers(1, 10**7)) * tick, price_scale, draw(st.integers(0, 3)))
    return _nos(**{f"_{t}": v for t, v in tags.items()}), spec


@pytest.mark.skipif(C is None, reason="C codec not built")
@given(plain_orders(), st.integers(1, 2**40))
@settings(max_examples=1000, deadline=None)
def test_plain_orders_are_answered_with_the_pythons_translation(order: tuple[FixMessage, InstrumentSpec], order_id: int) -> None:
    assert C is not None
    msg, _ = order
    refdata = _refdata(set())
    fast = C.new_order_fast(msg, refdata.order_plan(CTXS[0]), order_id, 1_700_000_000_000_000_000, set(), {})
    assert fast is not None, msg
    assert fast == _python(CTXS[0], refdata, msg, order_id, 1_700_000_000_000_000_000)
