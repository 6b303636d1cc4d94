"""Canonical engine state as a list of 64-bit words: the state hash and the snapshot format.

Both implementations (C core and ``engine.reference``) emit the same words for the same
state, so ``state_hash()`` values and ``snapshot()`` bytes compare across them, and either can
``restore()`` the other's snapshot. Word order (normative, see docs/engine.md)::

    VERSION, clock, next_exec_id, next_serial,
    n_instruments, per instrument by id:
        id tick lot min_qty max_qty price_scale qty_scale base quote tick_value band_bps
        reference_price trading_state last_trade_price,
        bids then asks: n_levels, per level best first: price count visible_qty order_ids...
        buy stops then sell stops (trigger order): n, order_ids...
    n_orders, per live order in accept order:
        id account instrument side ord_type tif flags stp price stop_price qty leaves visible
        display cum expire_time serial state
    n_accounts, per account by id: id stp_group maker_bps taker_bps n_balances,
        per non-zero balance by asset: asset available held
    n_withdrawals, per pending withdrawal by id: id account asset amount

Hash: FNV-1a over 64-bit words (h ^= word; h *= 0x100000001b3, mod 2**64), seed
0xcbf29ce484222325. Snapshot: ``MAGIC`` then the words as little-endian u64.
"""

from __future__ import annotations

import struct

VERSION = 1
MAGIC = b"VNGSNAP1"
M64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv64(words: list[int]) -> int:
    h = FNV_OFFSET
    for w in words:
        h = ((h ^ (w & M64)) * FNV_PRIME) & M64
    return h


def pack(words: list[int]) -> bytes:
    return MAGIC + struct.pack(f"<{len(words)}Q", *(w & M64 for w in words))


def unpack(data: bytes) -> list[int]:
    if len(data) < 8 or data[:8] != MAGIC or (len(data) - 8) % 8:
        raise ValueError("not an engine snapshot")
    return list(struct.unpack_from(f"<{(len(data) - 8) // 8}Q", data, 8))


class Reader:
    """Sequential word reader; every malformed input raises ValueError."""

    def __init__(self, words: list[int]) -> None:
        self.w = words
        self.i = 0

    def u(self) -> int:
        if self.i >= len(self.w):
            raise ValueError("truncated snapshot")
        self.i += 1
        return self.w[self.i - 1]

    def s(self) -> int:
        v = self.u()
        return v - (1 << 64) if v >> 63 else v

    def count(self) -> int:
        n = self.u()
        if n > len(self.w) - self.i:
            raise ValueError("snapshot count out of range")
        return n

    def end(self) -> None:
        if self.i != len(self.w):
            raise ValueError("trailing words in snapshot")
