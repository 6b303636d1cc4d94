"""Scenario helpers: a small venue set-up, and the book drawn from the canonical state."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from engine import canonical
from engine import commands as c
from engine.core import MatchingEngine
from engine.reference import ReferenceEngine

Eng = MatchingEngine | ReferenceEngine
ALICE, BOB, CAROL = 10, 11, 12  # BOB and CAROL share STP group 5
BASE, QUOTE = 1, 2


@dataclass
class State:
    books: dict[int, tuple[list[tuple[int, list[int]]], list[tuple[int, list[int]]]]] = field(
        default_factory=dict)
    orders: dict[int, dict[str, int]] = field(default_factory=dict)
    balances: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    last: dict[int, int] = field(default_factory=dict)


_ORDER_FIELDS = ["id", "account", "instrument", "side", "ord_type", "tif", "flags", "stp", "price",
                 "stop", "qty", "leaves", "visible", "display", "cum", "expire", "serial", "state"]


def state(eng: Eng) -> State:
    r = canonical.Reader(canonical.unpack(eng.snapshot()))
    st = State()
    r.u(), r.s(), r.u(), r.u()
    for _ in range(r.count()):
        cfg = [r.s() for _ in range(14)]
        iid = cfg[0]
        st.last[iid] = cfg[13]
        sides: list[list[tuple[int, list[int]]]] = []
        for _ in (0, 1):
            lv = []
            for _ in range(r.count()):
                p, n, _t = r.s(), r.count(), r.s()
                lv.append((p, [r.u() for _ in range(n)]))
            sides.append(lv)
        st.books[iid] = (sides[0], sides[1])
        for _ in (0, 1):
            [r.u() for _ in range(r.count())]
    for _ in range(r.count()):
        vals = [r.s() for _ in _ORDER_FIELDS]
        st.orders[vals[0]] = dict(zip(_ORDER_FIELDS, vals, strict=True))
    for _ in range(r.count()):
        aid = r.u()
        r.u(), r.s(), r.s()
        for _ in range(r.count()):
            asset, av, held = r.u(), r.s(), r.s()
            st.balances[(aid, asset)] = (av, held)
    return st


def draw(eng: Eng, instrument: int = 1) -> str:
    """The book, asks above bids, best prices in the middle; ``#id:visible[/leaves]``."""
    st = state(eng)
    bids, asks = st.books.get(instrument, ([], []))

    def cell(oid: int) -> str:
        o = st.orders[oid]
        extra = f"/{o['leaves']}" if o["visible"] != o["leaves"] else ""
        return f"#{oid}:{o['visible']}{extra}"

    lines = [f"ask {p}: " + " ".join(cell(x) for x in ids) for p, ids in reversed(asks)]
    lines += ["---"]
    lines += [f"bid {p}: " + " ".join(cell(x) for x in ids) for p, ids in bids]
    return "\n".join(lines)


def balance(eng: Eng, account: int, asset: int) -> tuple[int, int]:
    return state(eng).balances.get((account, asset), (0, 0))


class Venue:
    """Instrument 1: tick 1, lot 1, qty 1..1000, tick value 1, band 50% around 100."""

    def __init__(self, eng: Eng, fees: bool = False) -> None:
        self.eng = eng
        self.seq = 0
        self.ts = 1
        self.run(c.AddInstrument(0, 0, 1, 1, 1, 1, 1000, BASE, QUOTE, 1, 5000, 100))
        mk, tk = (10, 20) if fees else (0, 0)
        for a, g in ((ALICE, 0), (BOB, 5), (CAROL, 5)):
            self.run(c.AddAccount(0, 0, a, g, mk, tk))
            self.run(c.Deposit(0, 0, a, BASE, 1_000))
            self.run(c.Deposit(0, 0, a, QUOTE, 100_000))

    def run(self, cmd: c.Command) -> list[c.Event]:
        self.seq += 1
        cmd = msgspec.structs.replace(cmd, seq=self.seq, ts=max(cmd.ts, self.ts))
        return self.eng.apply(cmd)

    def limit(self, oid: int, acct: int, side: int, price: int, qty: int, **kw: int
              ) -> list[c.Event]:
        tif = kw.pop("tif", c.TifCode.GTC)
        return self.run(c.NewOrder(0, 0, oid, acct, 1, side, c.OrdTypeCode.LIMIT, tif, price, qty,
                                   **kw))

    def order(self, oid: int, acct: int, side: int, ord_type: int, tif: int, price: int,
              qty: int, **kw: int) -> list[c.Event]:
        return self.run(c.NewOrder(0, 0, oid, acct, 1, side, ord_type, tif, price, qty, **kw))


def kinds(events: list[c.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def of(events: list[c.Event], cls: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, cls)]
