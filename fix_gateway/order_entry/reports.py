"""Field lists of the reports the order-entry application sends (FIX 4.4 and 5.0SP2).

Only standard tags go out (QuickFIX and other engines validate what they receive); values a
FIX.4.4 dictionary lacks are mapped down (OrdRejReason 16/18 -> 99, ExecType L -> D).
"""

from __future__ import annotations

import functools
from decimal import Decimal

from fix_gateway._pycodec import py_units
from fix_gateway.application import FieldList
from venue.fixedpoint import format_decimal

_REJ_44 = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 99})
_CXL_44 = frozenset({0, 1, 2, 3, 4, 5, 6, 99})


def ord_rej_reason(code: int, fix44: bool) -> int:
    return code if not fix44 or code in _REJ_44 else 99


def cxl_rej_reason(code: int, fix44: bool) -> int:
    return code if not fix44 or code in _CXL_44 else 99


def dec(value: Decimal | str) -> str:
    """Wire text of a value: Decimal formatted, or text already formatted (see ``units_text``)."""
    return value if type(value) is str else format_decimal(value)  # type: ignore[arg-type]


def _positive(value: Decimal | str) -> bool:
    if type(value) is str:
        return value != "0" and not value.startswith("-")  # type: ignore[union-attr]
    return value > 0  # type: ignore[operator]


@functools.lru_cache(maxsize=1 << 16)
def units_text(units: int, scale: int) -> str:
    """``format_decimal(from_units(units, 10**-scale))`` without Decimal: the hot-path formatter
    for integer engine units (no trailing zeros, "0" for zero); the codec's ``py_units``, the
    rule ExecutionReport bodies are built with, as text."""
    return py_units(units, scale).decode()


def execution_report(
    *,
    order_id: str,
    cl_ord_id: str,
    exec_id: str,
    exec_type: str,
    ord_status: str,
    symbol: str,
    side: str,
    leaves_qty: Decimal | str,
    cum_qty: Decimal | str,
    avg_px: Decimal | str,
    transact_time: bytes,
    account: str = "",
    orig_cl_ord_id: str = "",
    order_qty: Decimal | str | None = None,
    ord_type: str = "",
    price: Decimal | str | None = None,
    stop_px: Decimal | str | None = None,
    time_in_force: str = "",
    last_px: Decimal | str | None = None,
    last_qty: Decimal | str | None = None,
    commission: Decimal | str | None = None,
    last_liquidity: str = "",
    ord_rej_reason: int | None = None,
    text: str = "",
    aggressor: bool | None = None,
    fix44: bool = True,
) -> FieldList:
    f: list[tuple[int, str | bytes | int]] = [(37, order_id), (11, cl_ord_id)]
    if orig_cl_ord_id:
        f.append((41, orig_cl_ord_id))
    f += [(17, exec_id), (150, exec_type), (39, ord_status)]
    if account:
        f.append((1, account))
    f += [(55, symbol), (54, side)]
    if order_qty is not None:
        f.append((38, dec(order_qty)))
    if ord_type:
        f.append((40, ord_type))
    if price is not None and _positive(price):
        f.append((44, dec(price)))
    if stop_px is not None and _positive(stop_px):
        f.append((99, dec(stop_px)))
    if time_in_force:
        f.append((59, time_in_force))
    if last_px is not None and last_qty is not None:
        f += [(31, dec(last_px)), (32, dec(last_qty))]
    f += [(151, dec(leaves_qty)), (14, dec(cum_qty)), (6, dec(avg_px))]
    if commission is not None:
        f += [(12, dec(commission)), (13, "3")]
    if ord_rej_reason is not None:
        f.append((103, ord_rej_reason))
    if text:
        f.append((58, text))
    f.append((60, transact_time))
    if last_liquidity:
        f.append((851, last_liquidity))
    if aggressor is not None and not fix44:
        f.append((1057, "Y" if aggressor else "N"))
    return f


def cancel_reject(
    *,
    order_id: str,
    cl_ord_id: str,
    orig_cl_ord_id: str,
    ord_status: str,
    response_to: str,  # CxlRejResponseTo(434): 1 cancel, 2 cancel/replace
    reason: int,
    text: str,
    transact_time: bytes,
    account: str = "",
) -> FieldList:
    f: list[tuple[int, str | bytes | int]] = [
        (37, order_id), (11, cl_ord_id), (41, orig_cl_ord_id), (39, ord_status),
    ]
    if account:
        f.append((1, account))
    f += [(60, transact_time), (434, response_to), (102, reason), (58, text)]
    return f


def mass_cancel_report(
    *,
    cl_ord_id: str,
    order_id: str,
    request_type: str,
    response: str,
    affected: int,
    symbol: str = "",
    side: str = "",
    reject_reason: int | None = None,
    text: str = "",
    transact_time: bytes,
) -> FieldList:
    f: list[tuple[int, str | bytes | int]] = [(11, cl_ord_id), (37, order_id), (530, request_type), (531, response)]
    if reject_reason is not None:
        f.append((532, reject_reason))
    f.append((533, affected))
    if symbol:
        f.append((55, symbol))
    if side:
        f.append((54, side))
    f.append((60, transact_time))
    if text:
        f.append((58, text))
    return f
