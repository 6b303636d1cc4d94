"""Random command streams for the engine's differential tests (C core vs reference).

Streams are mostly valid and dense in interactions (few price levels, shared STP groups, small
balances so funds run out, stops near the market, icebergs, GTD expiry, halts), with a sprinkle
of invalid fields and garbage records so reject paths are compared too.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from engine import commands as c
from engine import wire

INSTRUMENTS = (1, 2, 3)  # 3: wide band, ~1,000 price points (sweeps, many levels)
ACCOUNTS = (10, 11, 12, 13, 14)
GROUPS = {10: 0, 11: 0, 12: 7, 13: 7, 14: 0}


def setup_commands() -> list[c.Command]:
    cmds: list[c.Command] = [
        c.AddInstrument(1, 0, 1, 5, 10, 10, 500, 1, 2, 3, 2000, 1000),
        c.AddInstrument(2, 0, 2, 1, 1, 1, 50, 3, 2, 1, 500, 200, 2, 0),
        c.AddInstrument(3, 0, 3, 1, 1, 1, 100, 1, 3, 1, 9000, 5000),
    ]
    seq = 4
    for a in ACCOUNTS:
        cmds.append(c.AddAccount(seq, 0, a, GROUPS[a], a % 3 * 5, 10 + a % 2 * 15))
        seq += 1
    return cmds


class StreamGen:
    def __init__(self, seed: int, garbage: float = 0.01) -> None:
        self.r = random.Random(seed)
        self.seq = 100
        self.ts = 1_000
        self.next_id = 1
        self.ids: list[int] = []
        self.wids: list[int] = []
        self.garbage = garbage

    def _ts(self) -> int:
        r = self.r
        if r.random() < 0.2:
            self.ts += r.choice((1, 5, 50, 500))
        return self.ts if r.random() > 0.02 else self.ts - 100  # stale timestamps too

    def _price(self, iid: int) -> int:
        r = self.r
        if iid == 3:
            return r.randrange(4000, 6001, 2) if r.random() > 0.02 else r.randrange(1, 10_000)
        if iid == 1:
            p = r.choice((960, 975, 985, 990, 995, 1000, 1005, 1010, 1015, 1025, 1040))
            return p if r.random() > 0.02 else r.choice((0, -5, 1003, 5000))
        p = r.choice((190, 194, 196, 198, 200, 202, 204, 206, 210))
        return p if r.random() > 0.02 else r.choice((0, 199, 300))

    def _qty(self, iid: int) -> int:
        r = self.r
        if r.random() < 0.02:
            return r.choice((0, -10, 3, 5, 10**6, 2**62))
        if iid == 3:
            return r.randrange(1, 60)
        return r.choice((10, 20, 30, 50, 100, 200)) if iid == 1 else r.choice((1, 2, 3, 5, 8))

    def one(self) -> bytes:
        r = self.r
        self.seq += 1
        seq, ts = self.seq, self._ts()
        x = r.random()
        if x < self.garbage:
            return self._garbage(seq, ts)
        iid = r.choice(INSTRUMENTS)
        acct = r.choice(ACCOUNTS)
        cmd: c.Command
        if x < 0.06:
            asset = r.choice((1, 2, 3))
            cmd = c.Deposit(seq, ts, acct, asset, r.choice((100, 1000, 20_000, 500_000)))
        elif x < 0.50:
            cmd = self._new_order(seq, ts, iid, acct)
        elif x < 0.62 and self.ids:
            oid = r.choice(self.ids[-15:])
            cmd = c.Cancel(seq, ts, oid, acct if r.random() < 0.3 else self._owner(oid, acct))
        elif x < 0.80 and self.ids:
            oid = r.choice(self.ids[-15:])
            cmd = c.Replace(seq, ts, oid, self._owner(oid, acct), self._price(iid),
                            self._qty(iid))
        elif x < 0.83:
            cmd = c.OrderStatus(seq, ts, r.choice(self.ids[-20:] or [1]), acct)
        elif x < 0.835:
            cmd = c.MassCancel(seq, ts, r.choice((0, acct)), r.choice((0, iid)),
                               r.choice((0, 1, 2, 2)))
        elif x < 0.84:
            cmd = c.EndOfSession(seq, ts, r.choice((0, iid)))
        elif x < 0.86:
            cmd = c.AdvanceClock(seq, self.ts + r.choice((1, 100, 1000)))
            self.ts += 50
        elif x < 0.89:
            cmd = c.SetTradingState(seq, ts, iid, r.choices((0, 1, 2, 3), (85, 8, 6, 1))[0])
        elif x < 0.90:
            cmd = c.SetReferencePrice(seq, ts, iid, self._price(iid))
        elif x < 0.93:
            wid = r.randrange(1, 30)
            cmd = c.WithdrawHold(seq, ts, wid, acct, r.choice((1, 2, 3)), r.choice((10, 100, 5000)))
            self.wids.append(wid)
        elif x < 0.96 and self.wids:
            wid = r.choice(self.wids)
            cmd = (c.WithdrawConfirm if r.random() < 0.5 else c.WithdrawRelease)(seq, ts, wid)
        else:
            cmd = self._new_order(seq, ts, iid, acct)
        return wire.encode_command(cmd)

    def _owner(self, oid: int, default: int) -> int:
        return ACCOUNTS[oid % len(ACCOUNTS)] if self.r.random() < 0.9 else default

    def _new_order(self, seq: int, ts: int, iid: int, acct: int) -> c.NewOrder:
        r = self.r
        if r.random() < 0.03 and self.ids:
            oid = r.choice(self.ids)  # duplicate id
        else:
            oid = self.next_id
            self.next_id += 1
            self.ids.append(oid)
        acct = ACCOUNTS[oid % len(ACCOUNTS)]
        ot = r.choices((0, 1, 2, 3, 7), (10, 70, 8, 10, 1))[0]
        tif = r.choices((0, 1, 2, 3, 4, 9), (20, 50, 8, 5, 15, 1))[0]
        if ot == 0 and r.random() < 0.9:
            tif = r.choice((2, 3))
        side = r.choice((0, 1)) if r.random() > 0.01 else 5
        price = self._price(iid) if ot in (1, 3) or r.random() < 0.02 else 0
        if price > 0 and r.random() < 0.6 and iid != 3:  # passive: rest away from the touch
            mid = 1000 if iid == 1 else 200
            price = mid - abs(price - mid) - (5 if iid == 1 else 2) * (side == 0) or price
            if side == 1:
                price = mid + abs(price - mid)
        stop = self._price(iid) if ot in (2, 3) or r.random() < 0.02 else 0
        qty = self._qty(iid)
        display = 0
        if ot in (1, 3) and r.random() < 0.15:
            display = {1: r.choice((10, 20)), 2: qty // r.choice((2, 3, 4, 5)), 3: r.randrange(1, 9)}[iid]
        flags = 1 if r.random() < 0.1 else (0 if r.random() > 0.01 else 2)
        stp = r.choices((0, 1, 2, 3, 4, 6), (40, 15, 15, 10, 20, 1))[0]
        expire = 0
        if tif == 4:
            expire = self.ts + r.choice((1, 10, 100, 1000)) if r.random() > 0.05 else 1
        return c.NewOrder(seq, ts, oid, acct, iid, side, ot, tif, price, qty, stop, display,
                          flags, stp, expire)

    def _garbage(self, seq: int, ts: int) -> bytes:
        r = self.r
        rec = bytearray(r.randbytes(wire.CMD_SIZE))
        if r.random() < 0.7:  # a known type with random fields
            struct.pack_into("<H", rec, 0, r.randrange(1, 16))
        struct.pack_into("<Qq", rec, 8, seq, ts)
        return bytes(rec)

    def prune(self, live: Callable[[int], bool]) -> None:
        """Forget most dead order ids (keeps a few so unknown-id rejects stay covered)."""
        self.ids = [i for k, i in enumerate(self.ids) if live(i) or k % 10 == 0][-200:]

    def batch(self, n: int) -> bytes:
        return b"".join(self.one() for _ in range(n))


def funded_setup() -> bytes:
    cmds = setup_commands()
    seq = 50
    for a in ACCOUNTS:
        for asset, amt in ((1, 50_000), (2, 5_000_000), (3, 5_000_000)):
            cmds.append(c.Deposit(seq, 0, a, asset, amt))
            seq += 1
    return wire.encode_commands(cmds)
