"""Reference data the gateway needs on the order path, loaded from PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

from venue.bus.envelope import RequestMeta
from venue.instruments import InstrumentSpec, load_instruments

if TYPE_CHECKING:
    from .requests import SessionContext

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
    # session id -> codec.new_order_fast's plan for that session (order_plan)
    order_plans: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the derived indexes: after any change to ``instruments`` or ``accounts``
        (``killed_firms`` is read live)."""
        self.instruments_by_id = {i.instrument_id: i for i in self.instruments.values()}
        self.accounts_by_id = {a.account_id: a for a in self.accounts.values()}
        self.order_plans = {}

    def order_plan(self, ctx: SessionContext) -> tuple[Any, ...]:
        """What ``codec.new_order_fast`` needs to translate a plain NewOrderSingle of this
        session in one call (see its comment in _codec.c), built once per session context:
        (ctx, session id, STP mode, {account code bytes: (account id, code, firm)} of the
        session's tradable accounts, the default account's entry or None, the killed firms
        (this set itself, so a kill switch applies at once), {symbol bytes: (instrument id,
        price scale, quantity scale, symbol)}, RequestMeta, "fix"). Codes and symbols that
        are not Latin-1 are left out: no FIX value decodes to them, and the translation in
        Python refuses what the plan does not know."""
        plan = self.order_plans.get(ctx.session_id)
        if plan is not None and plan[0] is ctx:
            return plan
        accounts = {
            code.encode("latin-1"): (ref.account_id, ref.code, ref.firm)
            for code in ctx.accounts
            if (ref := self.accounts.get(code)) is not None and _latin1(code)
        }
        first = ctx.accounts[0] if ctx.accounts else None
        default = accounts.get(first.encode("latin-1")) if first is not None and _latin1(first) else None
        instruments = {
            symbol.encode("latin-1"): (spec.instrument_id, price_scale, qty_scale, spec.symbol)
            for symbol, spec in self.instruments.items()
            if _latin1(symbol)
            for _, price_scale, qty_scale, _ in (scales(spec),)
        }
        plan = (ctx, ctx.session_id, ctx.stp_mode, accounts, default, self.killed_firms, instruments, RequestMeta, "fix")
        self.order_plans[ctx.session_id] = plan
        return plan

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> RefData:
        instruments = await load_instruments(conn)
        rows = await conn.fetch("SELECT account_id, account_code, firm_id FROM accounts")
        accounts = {r["account_code"]: AccountRef(r["account_id"], r["account_code"], r["firm_id"]) for r in rows}
        killed = {r["firm_id"] for r in await conn.fetch("SELECT firm_id FROM firms WHERE killed")}
        return cls(instruments, accounts, killed)


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
