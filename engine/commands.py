"""Commands (verbs) and events (past tense) of the matching engine, as immutable records.

These are the per-command API's objects and the reference model's vocabulary; on the batch
path they exist only as fixed-size binary records (``engine.wire``). Every integer is raw:
prices in price units (multiples of the instrument tick), quantities in base-asset minor
units (multiples of the lot), balances in asset minor units. Engine codes for side, order
type and TIF are the declaration index of the FIX enums in ``venue.enums``.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

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


class Record(msgspec.Struct, frozen=True, gc=False):
    """Base of every command and event: immutable, hashable, equal by type and value, with
    positional or keyword construction, like a frozen dataclass, but built in C (a frozen
    dataclass sets each field through ``object.__setattr__``: about 4 µs for a NewOrder,
    once per order on the gateway's hot path). Fields: ``type(x).__struct_fields__``.
    Untracked by the cycle collector (``gc=False``): records hold only ints."""


# ----------------------------------------------------------------- commands (verbs)
# Every command carries ``seq`` (caller's sequence, echoed by every resulting event) and
# ``ts`` (nanoseconds; the engine clock becomes max(clock, ts) before the command runs).


class AddInstrument(Record, frozen=True, gc=False):
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


class SetTradingState(Record, frozen=True, gc=False):
    seq: int
    ts: int
    instrument: int
    state: int  # venue.enums.TradingState


class SetReferencePrice(Record, frozen=True, gc=False):
    seq: int
    ts: int
    instrument: int
    price: int


class AddAccount(Record, frozen=True, gc=False):
    seq: int
    ts: int
    account: int
    stp_group: int = 0  # 0: the account is its own group
    maker_bps: int = 0
    taker_bps: int = 0


class Deposit(Record, frozen=True, gc=False):
    seq: int
    ts: int
    account: int
    asset: int
    amount: int


class WithdrawHold(Record, frozen=True, gc=False):
    seq: int
    ts: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int


class WithdrawConfirm(Record, frozen=True, gc=False):
    seq: int
    ts: int
    withdrawal_id: int


class WithdrawRelease(Record, frozen=True, gc=False):
    seq: int
    ts: int
    withdrawal_id: int


class NewOrder(Record, frozen=True, gc=False):
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


class Cancel(Record, frozen=True, gc=False):
    seq: int
    ts: int
    order_id: int
    account: int


class Replace(Record, frozen=True, gc=False):
    seq: int
    ts: int
    order_id: int
    account: int
    price: int
    qty: int  # new total order quantity (FIX OrderQty), filled part included


class MassCancel(Record, frozen=True, gc=False):
    seq: int
    ts: int
    account: int = 0  # 0: every account
    instrument: int = 0  # 0: every instrument
    side: int = BOTH_SIDES


class OrderStatus(Record, frozen=True, gc=False):
    seq: int
    ts: int
    order_id: int
    account: int


class EndOfSession(Record, frozen=True, gc=False):
    seq: int
    ts: int
    instrument: int = 0  # 0: every instrument


class AdvanceClock(Record, frozen=True, gc=False):
    seq: int
    ts: int


Command = (
    AddInstrument | SetTradingState | SetReferencePrice | AddAccount | Deposit | WithdrawHold
    | WithdrawConfirm | WithdrawRelease | NewOrder | Cancel | Replace | MassCancel | OrderStatus
    | EndOfSession | AdvanceClock
)


# ----------------------------------------------------------------- events (past tense)
# ``seq`` is the seq of the command that caused the event; ``instrument`` is 0 when n/a.


class OrderAccepted(Record, frozen=True, gc=False):
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


class Rejected(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    ref_id: int  # order id / withdrawal id / account id the command named (0 if none)
    account: int
    code: int  # venue.rejects.RejectCode
    command: int  # CmdType of the rejected command


class Trade(Record, frozen=True, gc=False):
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


class OrderCanceled(Record, frozen=True, gc=False):
    """``leaves_qty > 0`` means a partial cancel (STP decrement): the order stays live."""

    seq: int
    instrument: int
    order_id: int
    account: int
    reason: int  # venue.rejects.CancelReason
    canceled_qty: int
    leaves_qty: int


class OrderReplaced(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    order_id: int
    account: int
    price: int
    qty: int
    leaves_qty: int
    priority_kept: int


class OrderExpired(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    order_id: int
    account: int
    reason: int
    canceled_qty: int
    leaves_qty: int


class OrderTriggered(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    order_id: int
    account: int
    stop_price: int
    last_price: int


class BookLevelChanged(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    side: int
    price: int
    qty: int  # visible quantity at the level after the command (0: level gone)
    count: int


class DepositApplied(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    account: int
    asset: int
    amount: int
    available: int


class WithdrawHeld(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


class WithdrawConfirmed(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


class WithdrawReleased(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    withdrawal_id: int
    account: int
    asset: int
    amount: int
    available: int
    held: int


class OrderStatusReport(Record, frozen=True, gc=False):
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


class MassCanceled(Record, frozen=True, gc=False):
    seq: int
    instrument: int
    account: int
    side: int
    count: int


class Acknowledged(Record, frozen=True, gc=False):
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
