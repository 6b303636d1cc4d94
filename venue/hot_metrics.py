"""Counters, gauges and histograms for an event loop's hot path, exported as Prometheus
metrics of the same names and shapes as prometheus-client's own.

prometheus-client's metrics take a lock for every change (its values may be changed from
any thread): ~1.6-1.8 us per ``inc``, ``set`` or ``observe`` on these machines, and the
gateway changed nine of them for every command batch (~15 us a batch, ~4% of a core at
5,000 orders/s); these cost 0.1-0.2 us (``tests/unit/venue/test_hot_metrics.py`` holds
their exposition to prometheus-client's). These are plain attributes,
changed only from the thread that owns the event loop; a scrape (the metrics server's
thread) reads them as they are, which the interpreter's lock keeps whole. Registered in
prometheus-client's default registry, so ``/metrics`` shows them with the rest.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


class _Hot(Collector):
    def __init__(self, name: str, documentation: str, registry: CollectorRegistry | None) -> None:
        self.name = name
        self.documentation = documentation
        (REGISTRY if registry is None else registry).register(self)

    def describe(self) -> Iterable[Metric]:
        return self.collect()


class HotCounter(_Hot):
    """``prometheus_client.Counter`` without labels; ``name`` ends in ``_total``."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry | None = None) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"a counter's name ends in _total: {name!r}")
        self.value = 0
        super().__init__(name, documentation, registry)

    def inc(self, amount: int = 1) -> None:
        self.value += amount

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name[: -len("_total")], self.documentation, value=self.value)


class HotGauge(_Hot):
    """``prometheus_client.Gauge`` without labels."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry | None = None) -> None:
        self.value = 0
        super().__init__(name, documentation, registry)

    def set(self, value: int) -> None:
        self.value = value

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(self.name, self.documentation, value=self.value)


class HotHistogram(_Hot):
    """``prometheus_client.Histogram`` without labels: ``observe`` counts a value in the
    first bucket whose upper bound is at least the value (and +Inf)."""

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry | None = None,
    ) -> None:
        bounds = sorted(float(b) for b in buckets if b != float("inf"))
        if not bounds:
            raise ValueError("a histogram needs at least one finite bucket")
        self._bounds = bounds
        self._counts = [0] * (len(bounds) + 1)  # the last: above every bound
        self.sum = 0.0
        super().__init__(name, documentation, registry)

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self._counts)

    def collect(self) -> Iterable[Metric]:
        counts = list(self._counts)  # (one copy: the owner may add meanwhile)
        cumulative, total = [], 0
        for bound, n in zip([*self._bounds, float("inf")], counts, strict=True):
            total += n
            cumulative.append((floatToGoString(bound), total))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=cumulative, sum_value=self.sum)
