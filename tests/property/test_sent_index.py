"""The paged sent-message index against a plain dict model: stores (in order, with gaps,
below the lowest held, over an existing number; one by one and as runs), ranges and evictions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fix_gateway.stores.sent import SentMessages

_seq = st.integers(1, 20_000)
_op = st.one_of(
    st.tuples(st.just("next"), st.integers(1, 3000)),  # store the next n numbers (gap allowed)
    st.tuples(st.just("run"), st.integers(1, 5000)),  # the same, as one add_run
    st.tuples(st.just("run_at"), st.tuples(_seq, st.integers(0, 300))),  # a run over anything held
    st.tuples(st.just("add"), _seq),
    st.tuples(st.just("range"), st.tuples(st.integers(0, 21_000), st.integers(0, 21_000))),
    st.tuples(st.just("drop"), st.tuples(st.integers(0, 5000), st.frozensets(_seq, max_size=3))),
    st.tuples(st.just("clear"), st.none()),
)


def _model_drop(model: dict[int, bytes], keep: int, unless: frozenset[int]) -> None:
    for seq in sorted(model):
        if len(model) <= keep or seq in unless:
            return
        del model[seq]


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=40), st.integers(0, 50))
def test_matches_a_dict(ops: list[tuple[str, object]], gap: int) -> None:
    index = SentMessages()
    model: dict[int, bytes] = {}
    nxt = 1
    for kind, arg in ops:
        if kind == "next":
            assert isinstance(arg, int)
            nxt += gap
            for _ in range(arg):
                index.add(nxt, b"m%d" % nxt)
                model[nxt] = b"m%d" % nxt
                nxt += 1
        elif kind == "run":
            assert isinstance(arg, int)
            nxt += gap
            index.add_run(nxt, [b"r%d" % s for s in range(nxt, nxt + arg)])
            model.update({s: b"r%d" % s for s in range(nxt, nxt + arg)})
            nxt += arg
        elif kind == "run_at":
            assert isinstance(arg, tuple)
            at, n = arg
            index.add_run(at, [b"y%d" % s for s in range(at, at + n)])
            model.update({s: b"y%d" % s for s in range(at, at + n)})
        elif kind == "add":
            assert isinstance(arg, int)
            index.add(arg, b"x%d" % arg)
            model[arg] = b"x%d" % arg
        elif kind == "range":
            assert isinstance(arg, tuple)
            begin, end = arg
            want = [(s, model[s]) for s in sorted(model) if s >= begin and (end == 0 or s <= end)]
            assert list(index.range(begin, end)) == want
        elif kind == "drop":
            assert isinstance(arg, tuple)
            keep, unless = arg
            index.drop_oldest(keep, unless)
            _model_drop(model, keep, unless)
        else:
            index.clear()
            model.clear()
        assert len(index) == len(model)
        assert index.first() == (min(model) if model else 0)
    assert list(index.range(0, 0)) == sorted(model.items())


def test_built_from_rows_in_any_order() -> None:
    rows = [(9000, b"c"), (5, b"a"), (4100, b"b")]
    index = SentMessages(rows)
    assert list(index.range(1, 0)) == sorted(rows)
    assert index.first() == 5
    index.drop_oldest(1)
    assert list(index.range(0, 0)) == [(9000, b"c")]
    assert index.first() == 9000


def test_a_large_sequence_jump_costs_one_page() -> None:
    index = SentMessages([(1, b"a")])
    index.add(100_001, b"b")  # the jump after an unclean stop
    assert len(index._pages) == 2
    index.drop_oldest(1)
    assert len(index._pages) == 1 and index.first() == 100_001
