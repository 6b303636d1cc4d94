"""Instruments at the edge: Decimal prices and sizes <-> the engine's integers.

Engine units (docs/engine.md, "Units and money"):

- price: integer *price units* of 10^-price_scale quote per base, where price_scale is the
  number of decimals of the tick size; the engine's ``tick`` is the tick size in price units
  (0.05 -> price_scale 2, tick 5), so the engine itself rejects off-tick prices.
- quantity: integer base-asset minor units (10^-base_decimals); ``lot`` is the lot size in them.
- value: quote minor units; ``tick_value`` = tick_size x lot_size x 10^quote_decimals must be a
  whole number >= 1 (otherwise the quote asset needs more decimals: a configuration error).

Converting a price with more decimals than price_scale, or a quantity finer than the base
asset's minor unit, raises OffIncrement (FIX: "price off tick" / "quantity off lot").
"""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import msgspec

from engine.commands import AddInstrument
from venue.fixedpoint import OffIncrement, from_units, to_units


class InstrumentConfigError(ValueError):
    pass


def _decimals(increment: Decimal) -> int:
    exponent = increment.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


class InstrumentSpec(msgspec.Struct, frozen=True):
    instrument_id: int
    symbol: str
    base: str
    quote: str
    base_asset_id: int
    quote_asset_id: int
    base_decimals: int
    quote_decimals: int
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    price_band_pct: Decimal
    reference_price: Decimal
    trading_state: str = "open"

    # ------------------------------------------------------------ derived engine integers
    @property
    def price_scale(self) -> int:
        return _decimals(self.tick_size)

    @property
    def price_unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_scale)

    @property
    def qty_unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.base_decimals)

    @property
    def quote_unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.quote_decimals)

    @property
    def tick(self) -> int:
        return to_units(self.tick_size, self.price_unit)

    @property
    def lot(self) -> int:
        try:
            return to_units(self.lot_size, self.qty_unit)
        except OffIncrement:
            raise InstrumentConfigError(
                f"{self.symbol}: lot_size {self.lot_size} is finer than {self.base}'s "
                f"{self.base_decimals} decimals"
            ) from None

    @property
    def tick_value(self) -> int:
        value = self.tick_size * self.lot_size * Decimal(10) ** self.quote_decimals
        if value != value.to_integral_value() or value < 1:
            raise InstrumentConfigError(
                f"{self.symbol}: one tick on one lot is worth {self.tick_size * self.lot_size} "
                f"{self.quote}, finer than {self.quote}'s {self.quote_decimals} decimals: give "
                f"{self.quote} more decimals or use a coarser tick_size/lot_size"
            )
        return int(value)

    @property
    def band_bps(self) -> int:
        return int(self.price_band_pct * 100)

    # ------------------------------------------------------------ conversions
    def price_units(self, price: Decimal | str) -> int:
        return to_units(price, self.price_unit)

    def price_decimal(self, units: int) -> Decimal:
        return from_units(units, self.price_unit)

    def qty_units(self, qty: Decimal | str) -> int:
        return to_units(qty, self.qty_unit)

    def qty_decimal(self, units: int) -> Decimal:
        return from_units(units, self.qty_unit)

    def quote_decimal(self, units: int) -> Decimal:
        return from_units(units, self.quote_unit)

    def add_command(self, seq: int, ts: int) -> AddInstrument:
        reference = self.price_units(self.reference_price) if self.reference_price else 0
        return AddInstrument(
            seq=seq,
            ts=ts,
            instrument=self.instrument_id,
            tick=self.tick,
            lot=self.lot,
            min_qty=max(self.qty_units(self.min_qty), self.lot) if self.min_qty else self.lot,
            max_qty=self.qty_units(self.max_qty),
            base_asset=self.base_asset_id,
            quote_asset=self.quote_asset_id,
            tick_value=self.tick_value,
            band_bps=self.band_bps,
            reference_price=reference,
            price_scale=self.price_scale,
            qty_scale=self.base_decimals,
        )


async def load_instruments(conn: asyncpg.Connection) -> dict[str, InstrumentSpec]:
    rows = await conn.fetch(
        "SELECT i.*, b.asset_id AS base_asset_id, b.decimals AS base_decimals,"
        " q.asset_id AS quote_asset_id, q.decimals AS quote_decimals"
        " FROM instruments i JOIN assets b ON b.code = i.base JOIN assets q ON q.code = i.quote"
        " ORDER BY i.instrument_id"
    )
    return {
        r["symbol"]: InstrumentSpec(
            instrument_id=r["instrument_id"],
            symbol=r["symbol"],
            base=r["base"],
            quote=r["quote"],
            base_asset_id=r["base_asset_id"],
            quote_asset_id=r["quote_asset_id"],
            base_decimals=r["base_decimals"],
            quote_decimals=r["quote_decimals"],
            tick_size=r["tick_size"],
            lot_size=r["lot_size"],
            min_qty=r["min_qty"],
            max_qty=r["max_qty"],
            price_band_pct=r["price_band_pct"],
            reference_price=r["reference_price"],
            trading_state=r["trading_state"],
        )
        for r in rows
    }
