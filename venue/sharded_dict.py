"""A dict that never stops its event loop for long to grow: ``ShardedDict``.

CPython grows a dict by building a table twice the size and inserting every entry again, in
the insert that found the table full. For the maps that hold a whole trading day (the
gateway's orders and ClOrdIDs: hundreds of thousands of entries) that one insert took
~150 ms on these machines, during which the gateway answered nothing
(``py-spy`` caught ``OrderBook._name`` at it; ``python -m bench.sharded_dict`` measures it).

``ShardedDict`` splits the entries over ``SHARDS`` plain dicts by the key's hash: each grows
on its own, at a 251st of the size, so the longest insert is a 251st as long; a lookup
costs ~0.1-0.2 µs more than a dict's (a method call, one ``hash()``, a modulo). Keys need a stable ``hash()`` (str,
int): ``hash(key) % SHARDS`` picks the shard. Iteration goes shard by shard, so it is not
in insertion order.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, MutableMapping, ValuesView
from typing import Any, Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

SHARDS = 251  # prime: keys with a common stride (time-based order ids) still spread evenly


class ShardedDict(MutableMapping[K, V], Generic[K, V]):
    __slots__ = ("_shards",)

    def __init__(self, items: Iterable[tuple[K, V]] = ()) -> None:
        self._shards: list[dict[K, V]] = [{} for _ in range(SHARDS)]
        for key, value in items:
            self[key] = value

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        return self._shards[hash(key) % SHARDS].get(key, default)

    def __getitem__(self, key: K) -> V:
        return self._shards[hash(key) % SHARDS][key]

    def __setitem__(self, key: K, value: V) -> None:
        self._shards[hash(key) % SHARDS][key] = value

    def __delitem__(self, key: K) -> None:
        del self._shards[hash(key) % SHARDS][key]

    def __contains__(self, key: object) -> bool:
        return key in self._shards[hash(key) % SHARDS]

    def __len__(self) -> int:
        return sum(map(len, self._shards))

    def __iter__(self) -> Iterator[K]:
        for shard in self._shards:
            yield from shard

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def items(self) -> ItemsView[K, V]:
        return _Items(self)

    def __repr__(self) -> str:
        return f"ShardedDict({dict(self.items())!r})"


class _Values(ValuesView[V]):
    """Values shard by shard, without looking each key up again."""

    _mapping: ShardedDict[Any, V]

    def __iter__(self) -> Iterator[V]:
        for shard in self._mapping._shards:
            yield from shard.values()


class _Items(ItemsView[K, V]):
    _mapping: ShardedDict[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        for shard in self._mapping._shards:
            yield from shard.items()
