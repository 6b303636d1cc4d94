"""C core vs plain-Python reference on long random command streams (hypothesis).

Identical event bytes after every chunk, identical state hashes, internal invariants intact,
and a snapshot taken mid-stream, restored and replayed, stays identical. Profiles: the default
keeps ``make test`` short; ``HYPOTHESIS_PROFILE=long`` runs many long streams.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import wire
from engine._book import Engine
from engine.reference import ReferenceEngine

from .engine_streams import ACCOUNTS, StreamGen, funded_setup

PROFILES = {
    "default": {"examples": 8, "commands": 10_000},
    "long": {"examples": 40, "commands": 40_000},
}
PROFILE = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "default")]
CHUNK = 100


def _explain(a: bytes, b: bytes) -> str:
    ea, eb = wire.decode_events(a), wire.decode_events(b)
    for k, (x, y) in enumerate(zip(ea, eb, strict=False)):
        if x != y:
            return f"event {k}: C {x} != reference {y}"
    return f"event counts differ: C {len(ea)} reference {len(eb)}"


@settings(max_examples=PROFILE["examples"], deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), garbage=st.sampled_from([0.0, 0.01, 0.05]),
       restore_at=st.integers(0, PROFILE["commands"] // CHUNK))
def test_c_matches_reference_on_long_streams(seed: int, garbage: float, restore_at: int) -> None:
    ce, ref = Engine(), ReferenceEngine()
    setup = funded_setup()
    assert ce.apply_batch(setup) == ref.apply_batch(setup)
    gen = StreamGen(seed, garbage)
    for k in range(PROFILE["commands"] // CHUNK):
        if k == restore_at:  # snapshot mid-stream, continue on the restored engine
            snap = ce.snapshot()
            assert snap == ref.snapshot()
            ce = Engine.restore(snap)
        buf = gen.batch(CHUNK)
        a, b = ce.apply_batch(buf), ref.apply_batch(buf)
        assert a == b, f"chunk {k}: {_explain(a, b)}"
        gen.prune(ce.has_order)
        if k % 10 == 0:
            ce.check_invariants()
            assert ce.state_hash() == ref.state_hash(), f"chunk {k}"
    ce.check_invariants()
    assert ce.state_hash() == ref.state_hash()


# Small, shrinkable streams: hypothesis builds the commands itself.
_ids = st.integers(1, 12)
_accts = st.sampled_from(ACCOUNTS)
_inst = st.sampled_from((1, 2))
_price = st.sampled_from((0, 190, 196, 200, 204, 960, 995, 1000, 1005, 1040))
_qty = st.sampled_from((0, 1, 2, 3, 10, 20, 50))
_cmds = st.one_of(
    st.builds(c.NewOrder, st.just(0), st.just(0), _ids, _accts, _inst, st.integers(0, 1),
              st.integers(0, 3), st.integers(0, 4), _price, _qty, _price,
              st.sampled_from((0, 0, 1, 10)), st.sampled_from((0, 0, 1)), st.integers(0, 4),
              st.sampled_from((0, 0, 5, 50))),
    st.builds(c.Cancel, st.just(0), st.just(0), _ids, _accts),
    st.builds(c.Replace, st.just(0), st.just(0), _ids, _accts, _price, _qty),
    st.builds(c.MassCancel, st.just(0), st.just(0), st.sampled_from((0, 10, 11)),
              st.sampled_from((0, 1)), st.integers(0, 2)),
    st.builds(c.EndOfSession, st.just(0), st.just(0), st.just(0)),
    st.builds(c.AdvanceClock, st.just(0), st.sampled_from((0, 10, 60))),
)


@settings(max_examples=60 if PROFILE is PROFILES["default"] else 1000, deadline=None,
          database=None)
@given(st.lists(_cmds, min_size=1, max_size=60))
def test_c_matches_reference_on_short_shrinkable_streams(cmds: list[c.Command]) -> None:
    ce, ref = Engine(), ReferenceEngine()
    setup = funded_setup()
    ce.apply_batch(setup)
    ref.apply_batch(setup)
    buf = wire.encode_commands(cmds)
    a, b = ce.apply_batch(buf), ref.apply_batch(buf)
    assert a == b, _explain(a, b)
    ce.check_invariants()
    assert ce.state_hash() == ref.state_hash()
