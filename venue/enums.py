"""Domain enums whose values are the FIX codes, so conversion at the edge is ``Enum(value)``.

The engine stores the small integer ``code`` of each (stable, part of the C ABI); FIX uses
``.value`` (the wire string).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Side(str, Enum):
    BUY = "1"
    SELL = "2"

    @property
    def code(self) -> int:
        return 0 if self is Side.BUY else 1


class OrdType(str, Enum):
    MARKET = "1"
    LIMIT = "2"
    STOP = "3"
    STOP_LIMIT = "4"


class TimeInForce(str, Enum):
    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"
    GTD = "6"


class ExecType(str, Enum):
    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"
    TRADE = "F"
    TRADE_CORRECT = "G"
    TRADE_CANCEL = "H"
    ORDER_STATUS = "I"
    TRIGGERED = "L"


class OrdStatus(str, Enum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"


class ExecInst(str, Enum):
    """ExecInst(18) values the venue honours."""

    POST_ONLY = "6"  # "Participate don't initiate"


class SelfTradePrevention(IntEnum):
    """Venue STP modes; on FIX as custom tag 7928 (SelfTradePreventionMode) or per account."""

    NONE = 0
    CANCEL_NEWEST = 1
    CANCEL_OLDEST = 2
    CANCEL_BOTH = 3
    DECREMENT_AND_CANCEL = 4


class TradingState(IntEnum):
    OPEN = 0
    HALTED = 1
    CLOSED = 2
