"""The hot-path metrics read on /metrics as prometheus-client's own would, after the same
changes (its ``_created`` samples aside)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from venue.hot_metrics import HotCounter, HotGauge, HotHistogram

BUCKETS = (0.0001, 0.00025, 0.001, 0.5, 1.0)


def exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


@given(
    st.lists(st.integers(0, 1000), max_size=20),
    st.lists(st.integers(0, 10**12), max_size=5),
    st.lists(st.sampled_from([0.0, 0.0001, 0.0002, 0.00025, 0.3, 1.0, 7.0]) | st.floats(0, 2), max_size=30),
)
def test_the_same_samples_as_prometheus_client(incs: list[int], sets: list[int], observed: list[float]) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    c1, c2 = Counter("x_total", "doc", registry=theirs), HotCounter("x_total", "doc", registry=ours)
    g1, g2 = Gauge("y", "doc", registry=theirs), HotGauge("y", "doc", registry=ours)
    h1, h2 = Histogram("z_seconds", "doc", buckets=BUCKETS, registry=theirs), HotHistogram("z_seconds", "doc", BUCKETS, registry=ours)
    for n in incs:
        c1.inc(n)
        c2.inc(n)
    for v in sets:
        g1.set(v)
        g2.set(v)
    for x in observed:
        h1.observe(x)
        h2.observe(x)
    assert exposition(ours) == exposition(theirs)
    assert h2.count == len(observed)


def test_a_counter_name_ends_in_total() -> None:
    with pytest.raises(ValueError, match="_total"):
        HotCounter("requests", "doc", registry=CollectorRegistry())
