"""Commands (verbs) and events (past tense) of the matching engine, as frozen dataclasses.

These are the per-command API's objects and the reference model's vocabulary; on the batch
path they exist only as fixed-size binary records (``engine.wire``). Every integer is raw:
prices in price units (multiples of the instrument tick), quantities in base-asset minor
units (multiples of the lot), balances in asset minor units. Engine codes for side, order
type and TIF are the declaration index of the FIX enums in ``venue.enums``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from venue.enums import OrdType, Side, TimeInForce


class CmdType(IntEnum):
    ADD_INSTRUMENT = 1
    SET_TRADING_STATE = 2
    SET_REFERENCE_PRICE = 3
    ADD_ACCOUNT = 4
    DEPOSIT = 5
    WITHDRAW_HOLD = 6
    WITHDRAW_CONFIRM = 7
    WITHDRAW_RELEASE = 8
    NEW_ORDER = 9
    CANCEL = 10
    REPLACE = 11
    MASS_CANCEL = 12
    ORDER_STATUS = 13
    END_OF_SESSION = 14
    ADVANCE_CLOCK = 15


class EvType(IntEnum):
    ACCEPTED = 1
    REJECTED = 2
    TRADE = 3
    CANCELED = 4
    REPLACED = 5
    EXPIRED = 6
    TRIGGERED = 7
    BOOK = 8
    DEPOSITED = 9
    WITHDRAW_HELD = 10
    WITHDRAW_CONFIRMED = 11
    WITHDRAW_RELEASED = 12
    STATUS = 13
    MASS_CANCELED = 14
    ACK = 15


class OrdTypeCode(IntEnum):
    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LIMIT = 3


class TifCode(IntEnum):
    DAY = 0
    GTC = 1
    IOC = 2
    FOK = 3
    GTD = 4


BUY, SELL, BOTH_SIDES = 0, 1, 2
FLAG_POST_ONLY = 1
ORDER_ACTIVE, ORDER_STOP_PENDING = 0, 1
FEE_ACCOUNT = 0  # exists from construction; receives every fee (quote asset)

_ORD = list(OrdType)
_TIF = list(TimeInForce)


def side_code(side: Side) -> int:
    return side.code


def ord_type_code(t: OrdType) -> int:
    return _ORD.index(t)


def tif_code(t: TimeInForce) -> int:
    return _TIF.index(t)


def ord_type_from_code(code: int) -> OrdType:
    return _ORD[code]


def tif_from_code(code: int) -> TimeInForce:
    return _TIF[code]


# ----------------------------------------------------------------- commands (verbs)
# Every command carries ``seq`` (caller's sequence, echoed by every resulting event) and
# ``ts`` (nanoseconds; the engine clock becomes max(clock, ts) before the command runs).


@dataclass(frozen=True, slots=True)
class AddInstrument:
    seq: int
    ts: int
    instrument: int
    tick: int
    lot: int
    min_qty: int
    max_qty: int
    base_asset: int
    quote_asset: int
    tick_value: int  # quote minor units per (1 tick of price x 1 lot of quantity)
    band_bps: int
    reference_price: int
    price_scale: int = 0
    qty_scale: int = 0


@dataclass(frozen=True, slots=True)
class SetTradingState:
    seq: int
    ts: int
    instrument: int
    state: int  # venue.enums.TradingState


@dataclass(frozen=True, slots=True)
class SetReferencePrice:
    seq: int
    ts: int
    instrument: int
    price: int


@dataclass(frozen=True, slots=True)
class AddAccount:
    seq: int
    ts: int
    account: int
    stp_group: int = 0  # 0: the account is its own group
    maker_bps: int = 0
    taker_bps: int = 0


@dataclass(frozen=True, slots=True)
class Deposit:
    seq: int
    ts: int
    account: int
    asset: int
    amount: int


@dataclass(frozen=True, slots=True)
class WithdrawHold:
    seq: int
    ts: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int


@dataclass(frozen=True, slots=True)
class WithdrawConfirm:
    seq: int
    ts: int
    withdrawal_id: int


@dataclass(frozen=True, slots=True)
class WithdrawRelease:
    seq: int
    ts: int
    withdrawal_id: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    seq: int
    ts: int
    order_id: int
    account: int
    instrument: int
    side: int
    ord_type: int
    tif: int
    price: int
    qty: int
    stop_price: int = 0
    display_qty: int = 0
    flags: int = 0
    stp: int = 0  # venue.enums.SelfTradePrevention
    expire_time: int = 0


@dataclass(frozen=True, slots=True)
class Cancel:
    seq: int
    ts: int
    order_id: int
    account: int


@dataclass(frozen=True, slots=True)
class Replace:
    seq: int
    ts: int
    order_id: int
    account: int
    price: int
    qty: int  # new total order quantity (FIX OrderQty), filled part included


@dataclass(frozen=True, slots=True)
class MassCancel:
    seq: int
    ts: int
    account: int = 0  # 0: every account
    instrument: int = 0  # 0: every instrument
    side: int = BOTH_SIDES


@dataclass(frozen=True, slots=True)
class OrderStatus:
    seq: int
    ts: int
    order_id: int
    account: int


@dataclass(frozen=True, slots=True)
class EndOfSession:
    seq: int
    ts: int
    instrument: int = 0  # 0: every instrument


@dataclass(frozen=True, slots=True)
class AdvanceClock:
    seq: int
    ts: int


Command = (
    AddInstrument | SetTradingState | SetReferencePrice | AddAccount | Deposit | WithdrawHold
    | WithdrawConfirm | WithdrawRelease | NewOrder | Cancel | Replace | MassCancel | OrderStatus
    | EndOfSession | AdvanceClock
)


# ----------------------------------------------------------------- events (past tense)
# ``seq`` is the seq of the command that caused the event; ``instrument`` is 0 when n/a.


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    seq: int
    instrument: int
    order_id: int
    account: int
    side: int
    ord_type: int
    tif: int
    flags: int
    stp: int
    price: int  # limit price; for market/stop orders the protection price held against
    qty: int
    stop_price: int
    display_qty: int
    expire_time: int


@dataclass(frozen=True, slots=True)
class Rejected:
    seq: int
    instrument: int
    ref_id: int  # order id / withdrawal id / account id the command named (0 if none)
    account: int
    code: int  # venue.rejects.RejectCode
    command: int  # CmdType of the rejected command


@dataclass(frozen=True, slots=True)
class Trade:
    seq: int
    instrument: int
    exec_id: int
    maker_order_id: int
    taker_order_id: int
    maker_account: int
    taker_account: int
    price: int
    qty: int
    maker_fee: int
    taker_fee: int
    maker_leaves: int
    taker_leaves: int
    aggressor_side: int


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """``leaves_qty > 0`` means a partial cancel (STP decrement): the order stays live."""

    seq: int
    instrument: int
    order_id: int
    account: int
    reason: int  # venue.rejects.CancelReason
    canceled_qty: int
    leaves_qty: int


@dataclass(frozen=True, slots=True)
class OrderReplaced:
    seq: int
    instrument: int
    order_id: int
    account: int
    price: int
    qty: int
    leaves_qty: int
    priority_kept: int


@dataclass(frozen=True, slots=True)
class OrderExpired:
    seq: int
    instrument: int
    order_id: int
    account: int
    reason: int
    canceled_qty: int
    leaves_qty: int


@dataclass(frozen=True, slots=True)
class OrderTriggered:
    seq: int
    instrument: int
    order_id: int
    account: int
    stop_price: int
    last_price: int


@dataclass(frozen=True, slots=True)
class BookLevelChanged:
    seq: int
    instrument: int
    side: int
    price: int
    qty: int  # visible quantity at the level after the command (0: level gone)
    count: int


@dataclass(frozen=True, slots=True)
class DepositApplied:
    seq: int
    instrument: int
    account: int
    asset: int
    amount: int
    available: int


@dataclass(frozen=True, slots=True)
class WithdrawHeld:
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


@dataclass(frozen=True, slots=True)
class WithdrawConfirmed:
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


@dataclass(frozen=True, slots=True)
class WithdrawReleased:
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


@dataclass(frozen=True, slots=True)
class OrderStatusReport:
    seq: int
    instrument: int
    order_id: int
    account: int
    side: int
    ord_type: int
    tif: int
    state: int  # ORDER_ACTIVE / ORDER_STOP_PENDING
    price: int
    qty: int
    leaves_qty: int
    cum_qty: int
    stop_price: int


@dataclass(frozen=True, slots=True)
class MassCanceled:
    seq: int
    instrument: int
    account: int
    side: int
    count: int


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """Success of an administrative command; ``value`` is command specific (see docs)."""

    seq: int
    instrument: int
    command: int
    ref_id: int
    value: int


Event = (
    OrderAccepted | Rejected | Trade | OrderCanceled | OrderReplaced | OrderExpired
    | OrderTriggered | BookLevelChanged | DepositApplied | WithdrawHeld | WithdrawConfirmed
    | WithdrawReleased | OrderStatusReport | MassCanceled | Acknowledged
)
