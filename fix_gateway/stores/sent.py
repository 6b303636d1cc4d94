"""The in-memory index of sent messages every MessageStore serves resends from.

Sequence numbers are kept sorted (appends are the common case; an out-of-order store is an
insort), so ``range`` is two bisections.
"""

from __future__ import annotations

import bisect
from collections.abc import Container, Iterable, Sequence


class SentMessages:
    __slots__ = ("_msgs", "_seqs")

    def __init__(self, items: Iterable[tuple[int, bytes]] = ()) -> None:
        self._msgs: dict[int, bytes] = dict(items)
        self._seqs: list[int] = sorted(self._msgs)

    def add(self, seq: int, raw: bytes) -> None:
        if seq not in self._msgs:
            if self._seqs and seq < self._seqs[-1]:
                bisect.insort(self._seqs, seq)
            else:
                self._seqs.append(seq)
        self._msgs[seq] = raw

    def range(self, begin: int, end: int) -> Sequence[tuple[int, bytes]]:
        """Messages with begin <= seq <= end (end 0 = to the last), in sequence order."""
        seqs = self._seqs
        lo = bisect.bisect_left(seqs, begin)
        hi = len(seqs) if end == 0 else bisect.bisect_right(seqs, end)
        return [(s, self._msgs[s]) for s in seqs[lo:hi]]

    def __len__(self) -> int:
        return len(self._seqs)

    def first(self) -> int:
        """The lowest sequence number held; 0 when empty."""
        return self._seqs[0] if self._seqs else 0

    def drop_oldest(self, keep: int, unless: Container[int] = ()) -> None:
        """Forget the oldest messages until at most ``keep`` remain, stopping at the first
        one in ``unless`` (messages not yet persisted)."""
        seqs, msgs = self._seqs, self._msgs
        n = 0
        while len(seqs) - n > keep and seqs[n] not in unless:
            del msgs[seqs[n]]
            n += 1
        if n:
            del seqs[:n]

    def clear(self) -> None:
        self._seqs.clear()
        self._msgs.clear()
