"""The in-memory index of sent messages every MessageStore serves resends from.

Messages sit in fixed-size pages of slots indexed by sequence number (page ``seq >> 12``,
slot ``seq & 4095``, ``None`` where nothing is held), with the page numbers kept sorted.
Every step is bounded by a page: a store is one slot write, ``drop_oldest`` walks forward
from the lowest number held and frees a page once it has walked past it, ``range`` reads
the pages it spans. A plain ``dict`` keyed by sequence number did the same, but one that
holds ~200,000 messages while the oldest are dropped and new ones stored is rebuilt by
CPython each time its entry table fills (~10-15 ms at that size, on the gateway's event
loop); pages are never rebuilt (``python -m bench.sent_index``). Numbers may have gaps
(messages never stored, a sequence jump after an unclean stop) and may arrive below the
lowest held (``load_held``): a page costs 32 KB whatever it holds.
"""

from __future__ import annotations

import bisect
from collections.abc import Container, Iterable, Sequence

_SHIFT = 12
_SIZE = 1 << _SHIFT
_MASK = _SIZE - 1


class SentMessages:
    __slots__ = ("_first", "_len", "_order", "_pages")

    def __init__(self, items: Iterable[tuple[int, bytes]] = ()) -> None:
        self._pages: dict[int, list[bytes | None]] = {}
        self._order: list[int] = []  # page numbers, ascending
        self._len = 0
        self._first = 0  # lowest sequence number held; 0 when empty
        for seq, raw in items:
            self.add(seq, raw)

    def add(self, seq: int, raw: bytes) -> None:
        page = self._pages.get(seq >> _SHIFT)
        if page is None:
            page = self._pages[seq >> _SHIFT] = [None] * _SIZE
            order = self._order
            if order and (seq >> _SHIFT) < order[-1]:
                bisect.insort(order, seq >> _SHIFT)
            else:
                order.append(seq >> _SHIFT)
        slot = seq & _MASK
        if page[slot] is None:
            self._len += 1
            if self._first == 0 or seq < self._first:
                self._first = seq
        page[slot] = raw

    def add_run(self, first: int, raws: Sequence[bytes]) -> None:
        """``add(first + i, raws[i])`` for each i: a page looked up once for the run's part
        in it, not once per message."""
        pages = self._pages
        number, page = -1, None
        for seq, raw in enumerate(raws, first):
            if seq >> _SHIFT != number:
                number = seq >> _SHIFT
                page = pages.get(number)
                if page is None:
                    self.add(seq, raw)  # a new page: add makes and orders it
                    page = pages[number]
                    continue
            slot = seq & _MASK
            assert page is not None
            if page[slot] is None:
                self._len += 1
                if self._first == 0 or seq < self._first:
                    self._first = seq
            page[slot] = raw

    def range(self, begin: int, end: int) -> Sequence[tuple[int, bytes]]:
        """Messages with begin <= seq <= end (end 0 = to the last), in sequence order."""
        if not self._len:
            return []
        begin = max(begin, self._first)
        last = (self._order[-1] << _SHIFT) | _MASK
        end = last if end == 0 else min(end, last)
        out: list[tuple[int, bytes]] = []
        order = self._order
        k = bisect.bisect_left(order, begin >> _SHIFT)
        while k < len(order) and order[k] <= end >> _SHIFT:
            number = order[k]
            page = self._pages[number]
            base = number << _SHIFT
            lo = max(begin, base) - base
            hi = min(end, base + _MASK) - base
            out.extend((base + i, m) for i, m in enumerate(page[lo:hi + 1], lo) if m is not None)
            k += 1
        return out

    def __len__(self) -> int:
        return self._len

    def first(self) -> int:
        """The lowest sequence number held; 0 when empty."""
        return self._first

    def drop_oldest(self, keep: int, unless: Container[int] = ()) -> None:
        """Forget the oldest messages until at most ``keep`` remain, stopping at the first
        one in ``unless`` (messages not yet persisted)."""
        pages, order = self._pages, self._order
        seq = self._first
        while self._len > keep and seq not in unless:
            page = pages[seq >> _SHIFT]
            page[seq & _MASK] = None
            self._len -= 1
            if not self._len:
                self.clear()
                return
            nxt = seq + 1  # most often held (messages are numbered in a run): no search
            if not nxt & _MASK or page[nxt & _MASK] is None:
                nxt = self._next_held(nxt)
            seq = nxt
            while order[0] < seq >> _SHIFT:  # walked past the first page: it is empty
                del pages[order.pop(0)]
            self._first = seq

    def _next_held(self, seq: int) -> int:
        """The lowest sequence number held at or above ``seq`` (one exists)."""
        pages, order = self._pages, self._order
        k = bisect.bisect_left(order, seq >> _SHIFT)
        while True:
            number = order[k]
            page = pages[number]
            base = number << _SHIFT
            slot = seq - base if seq > base else 0
            while slot < _SIZE:
                if page[slot] is not None:
                    return base + slot
                slot += 1
            k += 1

    def clear(self) -> None:
        self._pages.clear()
        self._order.clear()
        self._len = 0
        self._first = 0
