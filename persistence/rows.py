"""Row shapes of the trading tables (venue/migrations/003_trading.sql) as plain tuples.

The column tuples below are the single source of the column order used by the projection
(which builds the tuples) and the writer (which COPYs them): keep them in step with the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

ORDER_COLUMNS = (
    "order_id", "account_id", "instrument_id", "side", "ord_type", "tif", "flags", "stp",
    "price_units", "qty_units", "stop_price_units", "display_qty_units", "expire_time_ns",
    "status", "triggered", "cum_qty_units", "leaves_qty_units", "cl_ord_id", "orig_cl_ord_id",
    "session", "account_code", "source", "created_evt_seq", "created_evt_idx",
    "updated_evt_seq", "updated_evt_idx",
)
# What an event can change on an accepted order (everything else is fixed at acceptance):
# the writer UPDATEs only these on rows it stored before.
ORDER_MUTABLE = (
    "order_id", "status", "triggered", "cum_qty_units", "leaves_qty_units", "cl_ord_id",
    "orig_cl_ord_id", "price_units", "qty_units", "updated_evt_seq", "updated_evt_idx",
)
EXECUTION_COLUMNS = (
    "evt_seq", "evt_idx", "leg", "engine_seq", "order_id", "account_id", "instrument_id",
    "exec_type", "exec_id", "last_qty_units", "last_price_units", "leaves_qty_units",
    "cum_qty_units", "order_qty_units", "reason", "status", "cl_ord_id", "orig_cl_ord_id",
    "session",
)
TRADE_COLUMNS = (
    "exec_id", "evt_seq", "evt_idx", "engine_seq", "instrument_id", "price_units", "qty_units",
    "maker_order_id", "taker_order_id", "maker_account_id", "taker_account_id",
    "maker_fee_units", "taker_fee_units", "maker_leaves_units", "taker_leaves_units",
    "aggressor_side",
)
REJECT_COLUMNS = (
    "evt_seq", "evt_idx", "engine_seq", "command", "ref_id", "account_id", "instrument_id",
    "code", "cl_ord_id", "orig_cl_ord_id", "session", "account_code", "symbol",
)
BALANCE_COLUMNS = (
    "evt_seq", "evt_idx", "engine_seq", "kind", "account_id", "asset_id", "withdrawal_id",
    "amount_units", "available_units", "held_units",
)
MASS_CANCEL_COLUMNS = (
    "evt_seq", "evt_idx", "engine_seq", "account_id", "instrument_id", "side",
    "canceled_count", "cl_ord_id", "session",
)

# Insert-only tables: keyed by event position, so a replayed row is a no-op.
APPEND_TABLES: dict[str, tuple[str, ...]] = {
    "executions": EXECUTION_COLUMNS,
    "trades": TRADE_COLUMNS,
    "rejects": REJECT_COLUMNS,
    "balance_movements": BALANCE_COLUMNS,
    "mass_cancels": MASS_CANCEL_COLUMNS,
}

TERMINAL = frozenset({"filled", "canceled", "expired"})
Row = tuple[Any, ...]


@dataclass(slots=True)
class OrderState:
    """One ``orders`` row, mutable while the order is live (fields in ORDER_COLUMNS order)."""

    order_id: int
    account_id: int
    instrument_id: int
    side: int
    ord_type: int
    tif: int
    flags: int
    stp: int
    price_units: int
    qty_units: int
    stop_price_units: int
    display_qty_units: int
    expire_time_ns: int
    status: str
    triggered: bool
    cum_qty_units: int
    leaves_qty_units: int
    cl_ord_id: str | None
    orig_cl_ord_id: str | None
    session: str | None
    account_code: str | None
    source: str | None
    created_evt_seq: int
    created_evt_idx: int
    updated_evt_seq: int
    updated_evt_idx: int

    @property
    def position(self) -> tuple[int, int]:
        return (self.updated_evt_seq, self.updated_evt_idx)

    def row(self) -> Row:
        return _order_row(self)  # type: ignore[no-any-return]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> OrderState:
        return cls(**{name: record[name] for name in ORDER_COLUMNS})


_order_row = attrgetter(*ORDER_COLUMNS)


@dataclass(slots=True)
class RowBatch:
    """What one writer transaction stores: rows per table plus the progress per source.

    Order rows (full ``ORDER_COLUMNS`` tuples, latest state) come in two lists: orders
    accepted within the batch (``orders_new``: the database has never seen them unless this
    is a replay) and orders stored before, by an earlier batch or found at seeding, that
    changed (``orders_changed``)."""

    orders_new: list[Row] = field(default_factory=list)
    orders_changed: list[Row] = field(default_factory=list)
    tables: dict[str, list[Row]] = field(
        default_factory=lambda: {name: [] for name in APPEND_TABLES}
    )
    # source -> (last_evt_seq watermark, VENUE_EVT stream_seq of its last record)
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)
    records: int = 0  # bus records consumed (applied or skipped)
    duplicates: int = 0  # records skipped as already applied (evt_seq <= watermark)
    unknown_order_events: int = 0  # order events for orders neither live nor new here

    @property
    def orders(self) -> list[Row]:
        return self.orders_new + self.orders_changed

    @property
    def row_count(self) -> int:
        return (len(self.orders_new) + len(self.orders_changed)
                + sum(len(rows) for rows in self.tables.values()))
