"""The venue's one reject-code table, shared by the C engine and every Python component.

Ranges per subsystem, as in exchange-core's ``CommandResultCode``:

- ``-1xxx`` validation (the command is malformed or refers to something unknown),
- ``-2xxx`` risk (funds, price band, balance limits),
- ``-3xxx`` matching / order state (halts, order-state conflicts, post-only).

Each code maps once to FIX OrdRejReason(103) (for new orders) and CxlRejReason(102) (for
cancels and replaces), plus a human text. ``CancelReason`` is the reason carried by
``OrderCanceled`` / ``OrderExpired`` events.

The C side includes ``engine/_rejects.h``, generated from this module by
``python -m engine.gen_rejects``; a unit test fails when the header is stale.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class RejectCode(IntEnum):
    OK = 0
    # -1xxx validation
    UNKNOWN_COMMAND = -1001
    UNKNOWN_INSTRUMENT = -1002
    UNKNOWN_ACCOUNT = -1003
    INVALID_SIDE = -1004
    INVALID_ORD_TYPE = -1005
    INVALID_TIF = -1006
    INVALID_STP_MODE = -1007
    INVALID_FLAGS = -1008
    INVALID_ORDER_ID = -1009
    DUPLICATE_ORDER_ID = -1010
    QTY_NOT_POSITIVE = -1011
    QTY_OFF_LOT = -1012
    QTY_BELOW_MIN = -1013
    QTY_ABOVE_MAX = -1014
    INVALID_PRICE = -1015
    PRICE_OFF_TICK = -1016
    INVALID_STOP_PRICE = -1017
    INVALID_DISPLAY_QTY = -1018
    POST_ONLY_INVALID = -1019
    INVALID_EXPIRE_TIME = -1020
    OVERFLOW = -1021
    DUPLICATE_INSTRUMENT = -1022
    INVALID_INSTRUMENT_CONFIG = -1023
    DUPLICATE_ACCOUNT = -1024
    INVALID_ACCOUNT_CONFIG = -1025
    INVALID_AMOUNT = -1026
    UNKNOWN_ASSET = -1027
    DUPLICATE_WITHDRAWAL_ID = -1028
    UNKNOWN_WITHDRAWAL_ID = -1029
    INVALID_TRADING_STATE = -1030
    INVALID_REFERENCE_PRICE = -1031
    # -2xxx risk
    INSUFFICIENT_FUNDS = -2001
    PRICE_OUTSIDE_BAND = -2002
    BALANCE_OVERFLOW = -2003
    # -3xxx matching / order state
    INSTRUMENT_HALTED = -3001
    INSTRUMENT_CLOSED = -3002
    UNKNOWN_ORDER_ID = -3003
    ACCOUNT_MISMATCH = -3004
    POST_ONLY_WOULD_TAKE = -3005
    REPLACE_QTY_TOO_LOW = -3006
    ORDER_NOT_REPLACEABLE = -3007


class CancelReason(IntEnum):
    """Why an order (or part of it) left the book; carried by OrderCanceled/OrderExpired."""

    USER = 1
    IOC_REMAINDER = 2  # IOC, market or triggered stop-market remainder after matching
    FOK_UNFILLABLE = 3
    SELF_TRADE = 4  # self-trade prevention (cancel newest/oldest/both, decrement)
    MASS_CANCEL = 5
    DAY_EXPIRED = 6  # EndOfSession
    GTD_EXPIRED = 7  # engine clock reached ExpireTime


class RejectInfo(NamedTuple):
    ord_rej_reason: int  # FIX OrdRejReason(103)
    cxl_rej_reason: int  # FIX CxlRejReason(102)
    text: str


# FIX 103: 0 broker option, 1 unknown symbol, 2 exchange closed, 3 exceeds limit, 5 unknown
# order, 6 duplicate, 11 unsupported characteristic, 13 incorrect qty, 15 unknown account,
# 16 price exceeds band, 18 invalid price increment, 99 other.
# FIX 102: 0 too late to cancel, 1 unknown order, 2 broker option, 6 duplicate ClOrdID, 99 other.
_R = RejectCode
REJECT_INFO: dict[RejectCode, RejectInfo] = {
    _R.OK: RejectInfo(0, 0, "ok"),
    _R.UNKNOWN_COMMAND: RejectInfo(99, 99, "unknown command type"),
    _R.UNKNOWN_INSTRUMENT: RejectInfo(1, 99, "unknown instrument"),
    _R.UNKNOWN_ACCOUNT: RejectInfo(15, 99, "unknown account"),
    _R.INVALID_SIDE: RejectInfo(11, 99, "invalid side"),
    _R.INVALID_ORD_TYPE: RejectInfo(11, 99, "invalid order type"),
    _R.INVALID_TIF: RejectInfo(11, 99, "time in force not allowed for this order type"),
    _R.INVALID_STP_MODE: RejectInfo(11, 99, "invalid self-trade prevention mode"),
    _R.INVALID_FLAGS: RejectInfo(11, 99, "unknown order flags"),
    _R.INVALID_ORDER_ID: RejectInfo(99, 1, "order id must be non-zero"),
    _R.DUPLICATE_ORDER_ID: RejectInfo(6, 6, "duplicate order id (a live order has it)"),
    _R.QTY_NOT_POSITIVE: RejectInfo(13, 99, "quantity must be positive"),
    _R.QTY_OFF_LOT: RejectInfo(13, 99, "quantity is not a multiple of the lot size"),
    _R.QTY_BELOW_MIN: RejectInfo(13, 99, "quantity below the instrument minimum"),
    _R.QTY_ABOVE_MAX: RejectInfo(3, 99, "quantity above the instrument maximum"),
    _R.INVALID_PRICE: RejectInfo(99, 99, "invalid price for this order type"),
    _R.PRICE_OFF_TICK: RejectInfo(18, 99, "price is not a multiple of the tick size"),
    _R.INVALID_STOP_PRICE: RejectInfo(99, 99, "invalid stop price for this order type"),
    _R.INVALID_DISPLAY_QTY: RejectInfo(13, 99, "invalid display quantity"),
    _R.POST_ONLY_INVALID: RejectInfo(11, 99, "post-only needs a limit order resting in book"),
    _R.INVALID_EXPIRE_TIME: RejectInfo(4, 99, "expire time missing, in the past or not GTD"),
    _R.OVERFLOW: RejectInfo(3, 99, "price times quantity overflows 64-bit integers"),
    _R.DUPLICATE_INSTRUMENT: RejectInfo(99, 99, "instrument already exists"),
    _R.INVALID_INSTRUMENT_CONFIG: RejectInfo(99, 99, "invalid instrument configuration"),
    _R.DUPLICATE_ACCOUNT: RejectInfo(99, 99, "account already exists"),
    _R.INVALID_ACCOUNT_CONFIG: RejectInfo(99, 99, "invalid account configuration"),
    _R.INVALID_AMOUNT: RejectInfo(99, 99, "amount must be positive"),
    _R.UNKNOWN_ASSET: RejectInfo(99, 99, "asset id out of range"),
    _R.DUPLICATE_WITHDRAWAL_ID: RejectInfo(99, 99, "duplicate withdrawal id"),
    _R.UNKNOWN_WITHDRAWAL_ID: RejectInfo(99, 99, "unknown withdrawal id"),
    _R.INVALID_TRADING_STATE: RejectInfo(99, 99, "invalid trading state"),
    _R.INVALID_REFERENCE_PRICE: RejectInfo(99, 99, "reference price must be positive, on tick"),
    _R.INSUFFICIENT_FUNDS: RejectInfo(3, 99, "insufficient available balance"),
    _R.PRICE_OUTSIDE_BAND: RejectInfo(16, 99, "price outside the instrument price band"),
    _R.BALANCE_OVERFLOW: RejectInfo(99, 99, "asset supply would exceed 64-bit range"),
    _R.INSTRUMENT_HALTED: RejectInfo(2, 99, "instrument is halted"),
    _R.INSTRUMENT_CLOSED: RejectInfo(2, 99, "instrument is closed"),
    _R.UNKNOWN_ORDER_ID: RejectInfo(5, 1, "unknown order id (not live)"),
    _R.ACCOUNT_MISMATCH: RejectInfo(5, 1, "order belongs to another account"),
    _R.POST_ONLY_WOULD_TAKE: RejectInfo(99, 99, "post-only order would take liquidity"),
    _R.REPLACE_QTY_TOO_LOW: RejectInfo(99, 99, "new quantity not above filled quantity"),
    _R.ORDER_NOT_REPLACEABLE: RejectInfo(99, 99, "untriggered stop orders cannot be replaced"),
}


def ord_rej_reason(code: int) -> int:
    """FIX OrdRejReason(103) for a reject code (99 Other when unknown)."""
    info = REJECT_INFO.get(RejectCode(code)) if code in _VALUES else None
    return info.ord_rej_reason if info else 99


def cxl_rej_reason(code: int) -> int:
    """FIX CxlRejReason(102) for a reject code (99 Other when unknown)."""
    info = REJECT_INFO.get(RejectCode(code)) if code in _VALUES else None
    return info.cxl_rej_reason if info else 99


def reject_text(code: int) -> str:
    return REJECT_INFO[RejectCode(code)].text if code in _VALUES else f"reject {code}"


_VALUES = frozenset(int(c) for c in RejectCode)
