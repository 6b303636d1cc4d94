"""The reject-code table and its generated C header."""

from __future__ import annotations

from engine import gen_rejects
from venue.rejects import REJECT_INFO, RejectCode, cxl_rej_reason, ord_rej_reason, reject_text


def test_generated_header_is_fresh() -> None:
    assert gen_rejects.HEADER.read_text() == gen_rejects.render(), (
        "engine/_rejects.h is stale: run `python -m engine.gen_rejects` and rebuild")


def test_every_code_has_info_and_sits_in_its_range() -> None:
    assert set(REJECT_INFO) == set(RejectCode)
    for code in RejectCode:
        if code:
            assert -3999 <= code <= -1001
        assert REJECT_INFO[code].text


def test_fix_mapping() -> None:
    assert ord_rej_reason(RejectCode.UNKNOWN_INSTRUMENT) == 1
    assert ord_rej_reason(RejectCode.DUPLICATE_ORDER_ID) == 6
    assert cxl_rej_reason(RejectCode.UNKNOWN_ORDER_ID) == 1
    assert ord_rej_reason(-4242) == 99 and cxl_rej_reason(-4242) == 99
    assert "tick" in reject_text(RejectCode.PRICE_OFF_TICK)
