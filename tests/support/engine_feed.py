"""Real engine events wrapped the way the engine service publishes them.

``EngineFeed`` runs command batches through the C engine (``engine._book`` via
``MatchingEngine``) and returns, per batch, the VENUE_EVT payload the engine service would
publish: ``Envelope(kind="evt", source, batch_id=N, answers=N, count, body=<engine event
bytes, untouched>, meta=<msgpack RequestMeta list>)``. Used by the persistence unit tests
(fed straight into the projection) and integration tests (published on JetStream).
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field

import msgspec

from engine import commands as c
from engine import wire
from engine.core import MatchingEngine
from venue.bus.envelope import Envelope, RequestMeta, decode_envelope, encode_envelope, encode_meta
from venue.bus.protocol import Bus, StreamKind

INSTRUMENT = 1
BASE, QUOTE = 1, 2
ALICE, BOB, CAROL = 10, 11, 12  # BOB and CAROL share STP group 5
SESSION = "FIX.4.4:VENUE->CLIENT"


def limit(oid: int, acct: int, side: int, price: int, qty: int, **kw: int) -> c.NewOrder:
    tif = kw.pop("tif", c.TifCode.GTC)
    return c.NewOrder(0, 0, oid, acct, INSTRUMENT, side, c.OrdTypeCode.LIMIT, tif, price, qty, **kw)


@dataclass
class Published:
    answers: int
    payload: bytes
    events: list[c.Event]
    meta: list[RequestMeta]
    command_payload: bytes  # the VENUE_CMD envelope that produced it (for the engine service)


@dataclass
class EngineFeed:
    """Instrument 1: tick 1, lot 1, qty 1..1000, band 50% around 100; accounts funded."""

    source: str = "engine-0"
    fees: bool = True
    engine: MatchingEngine = field(default_factory=MatchingEngine)
    seq: int = 0  # engine command seq
    answers: int = 0  # the VENUE_CMD sequence each batch answers
    ts: int = 1
    next_order_id: int = 1000  # random_flow's ids continue from here
    published: list[Published] = field(default_factory=list)

    def __post_init__(self) -> None:
        mk, tk = (10, 20) if self.fees else (0, 0)
        boot: list[tuple[c.Command, dict[str, str] | None]] = [
            (c.AddInstrument(0, 0, INSTRUMENT, 1, 1, 1, 1000, BASE, QUOTE, 1, 5000, 100), None)
        ]
        for acct, group in ((ALICE, 0), (BOB, 5), (CAROL, 5)):
            boot.append((c.AddAccount(0, 0, acct, group, mk, tk), None))
            boot.append((c.Deposit(0, 0, acct, BASE, 1_000_000), None))
            boot.append((c.Deposit(0, 0, acct, QUOTE, 100_000_000), None))
        self.batch(*boot)

    def batch(self, *requests: tuple[c.Command, dict[str, str] | None]) -> Published:
        """Run one command batch; ``dict`` = RequestMeta fields (None: no meta, bootstrap)."""
        cmds: list[c.Command] = []
        meta: list[RequestMeta] = []
        for cmd, fields in requests:
            self.seq += 1
            self.ts += 1
            cmds.append(msgspec.structs.replace(cmd, seq=self.seq, ts=max(cmd.ts, self.ts)))
            if fields is not None:
                meta.append(RequestMeta(seq=self.seq, **{"session": SESSION, "source": "fix", **fields}))
        cmd_body = wire.encode_commands(cmds)
        body = self.engine.apply_batch(cmd_body)
        events = wire.decode_events(body)
        self.answers += 1
        env = Envelope(
            v=1, kind="evt", source=self.source, batch_id=self.answers, answers=self.answers,
            count=len(events), body=body, meta=encode_meta(meta),
        )
        cmd_env = Envelope(
            v=1, kind="cmd", source="test-gw", batch_id=self.answers, answers=0,
            count=len(cmds), body=cmd_body, meta=encode_meta(meta),
        )
        pub = Published(self.answers, encode_envelope(env), events, meta, encode_envelope(cmd_env))
        self.published.append(pub)
        return pub

    def one(self, cmd: c.Command, **meta: str) -> Published:
        return self.batch((cmd, meta or {}))


def random_flow(feed: EngineFeed, rng: random.Random, batches: int, per_batch: int) -> None:
    """A seeded order flow: limits, IOCs, markets, stops, cancels, replaces, STP, expiry."""
    live: list[tuple[int, int]] = []  # (order id, account) possibly still live

    def new_id() -> int:
        feed.next_order_id += 1
        return feed.next_order_id

    for _ in range(batches):
        reqs: list[tuple[c.Command, dict[str, str] | None]] = []
        for _ in range(per_batch):
            acct = rng.choice((ALICE, BOB, CAROL))
            roll = rng.random()
            oid = new_id()
            side = rng.randint(0, 1)
            meta = {"cl_ord_id": f"C{oid}", "account": f"A{acct}", "symbol": "SYM"}
            if roll < 0.50 or not live:
                price = rng.randint(95, 105)
                tif = rng.choice((c.TifCode.GTC, c.TifCode.GTC, c.TifCode.DAY, c.TifCode.IOC))
                stp = rng.choice((0, 0, 1, 2, 4))
                cmd: c.Command = limit(oid, acct, side, price, rng.randint(1, 20), tif=tif, stp=stp)
                live.append((oid, acct))
            elif roll < 0.58:
                cmd = c.NewOrder(0, 0, oid, acct, INSTRUMENT, side, c.OrdTypeCode.MARKET,
                                 c.TifCode.IOC, 0, rng.randint(1, 10))
            elif roll < 0.62:
                stop = rng.randint(96, 104)
                cmd = c.NewOrder(0, 0, oid, acct, INSTRUMENT, side, c.OrdTypeCode.STOP,
                                 c.TifCode.GTC, 0, rng.randint(1, 5), stop_price=stop)
                live.append((oid, acct))
            elif roll < 0.80:
                target, owner = rng.choice(live)
                cmd = c.Cancel(0, 0, target, owner)
                meta = {"cl_ord_id": f"X{oid}", "orig_cl_ord_id": f"C{target}",
                        "account": f"A{owner}"}
            elif roll < 0.97:
                target, owner = rng.choice(live)
                cmd = c.Replace(0, 0, target, owner, rng.randint(95, 105), rng.randint(5, 30))
                meta = {"cl_ord_id": f"R{oid}", "orig_cl_ord_id": f"C{target}",
                        "account": f"A{owner}"}
            else:
                cmd = c.EndOfSession(0, 0, INSTRUMENT)
                meta = {}
            reqs.append((cmd, meta))
        feed.batch(*reqs)
        if len(live) > 200:
            live = live[-200:]


async def replayed_state_hash(bus: Bus, upto_seq: int) -> int:
    """The state hash of a fresh engine fed the command log from 1 to ``upto_seq``, records
    the engine refuses included as the engine service treats them: what any recovery must
    come back to."""
    clean = MatchingEngine()
    async for rec in bus.read(StreamKind.COMMANDS, 1):
        with contextlib.suppress(ValueError):
            clean.apply_batch(decode_envelope(rec.payload).body)
        if rec.seq >= upto_seq:
            break
    return clean.state_hash()
