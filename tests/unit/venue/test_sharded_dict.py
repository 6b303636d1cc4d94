"""ShardedDict behaves as a dict (but for iteration order) under any sequence of operations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from venue.sharded_dict import SHARDS, ShardedDict

keys = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=12))
ops = st.lists(
    st.tuples(st.sampled_from(["set", "del", "pop", "get", "in"]), keys, st.integers()),
    max_size=200,
)


@given(ops)
def test_it_answers_as_a_dict_does(operations: list[tuple[str, int | str, int]]) -> None:
    ours: ShardedDict[int | str, int] = ShardedDict()
    theirs: dict[int | str, int] = {}
    for op, key, value in operations:
        if op == "set":
            ours[key] = value
            theirs[key] = value
        elif op == "del":
            if key in theirs:
                del ours[key]
                del theirs[key]
        elif op == "pop":
            assert ours.pop(key, None) == theirs.pop(key, None)
        elif op == "get":
            assert ours.get(key) == theirs.get(key)
            assert ours.get(key, -1) == theirs.get(key, -1)
        else:
            assert (key in ours) == (key in theirs)
        assert len(ours) == len(theirs)
    assert ours == theirs
    assert sorted(map(repr, ours.items())) == sorted(map(repr, theirs.items()))
    assert sorted(map(repr, ours.values())) == sorted(map(repr, theirs.values()))
    assert sorted(map(repr, ours)) == sorted(map(repr, theirs))


def test_time_based_order_ids_spread_over_every_shard() -> None:
    """venue.ids makes order ids as (microseconds << bits) | gateway: a stride that must not
    land them all in a few shards, or the shards grow as one dict would."""
    d: ShardedDict[int, int] = ShardedDict()
    start = 1_796_000_000_000_000
    for i in range(SHARDS * 40):
        d[((start + 200 * i) << 8) | 3] = i
    sizes = [len(s) for s in d._shards]
    assert min(sizes) >= 20 and max(sizes) <= 60
