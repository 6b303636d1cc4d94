"""Reference data the gateway needs on the order path, loaded from PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from venue.instruments import InstrumentSpec, load_instruments

_SCALES: dict[int, tuple[InstrumentSpec, int, int, int]] = {}


def scales(spec: InstrumentSpec) -> tuple[InstrumentSpec, int, int, int]:
    """(spec, price_scale, base_decimals, quote_decimals), computed once per spec object
    (the InstrumentSpec properties recompute them from Decimals on every call)."""
    entry = _SCALES.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = _SCALES[id(spec)] = (spec, spec.price_scale, spec.base_decimals, spec.quote_decimals)
    return entry


@dataclass(frozen=True)
class AccountRef:
    account_id: int
    code: str
    firm: str


@dataclass
class RefData:
    instruments: dict[str, InstrumentSpec] = field(default_factory=dict)
    accounts: dict[str, AccountRef] = field(default_factory=dict)
    killed_firms: set[str] = field(default_factory=set)
    instruments_by_id: dict[int, InstrumentSpec] = field(default_factory=dict)
    accounts_by_id: dict[int, AccountRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.instruments_by_id = {i.instrument_id: i for i in self.instruments.values()}
        self.accounts_by_id = {a.account_id: a for a in self.accounts.values()}

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> RefData:
        instruments = await load_instruments(conn)
        rows = await conn.fetch("SELECT account_id, account_code, firm_id FROM accounts")
        accounts = {r["account_code"]: AccountRef(r["account_id"], r["account_code"], r["firm_id"]) for r in rows}
        killed = {r["firm_id"] for r in await conn.fetch("SELECT firm_id FROM firms WHERE killed")}
        return cls(instruments, accounts, killed)
