"""bench.e2e reads the gateway's latency histograms between two scrapes."""

from __future__ import annotations

from bench.e2e import _histogram

NAME = "venue_gateway_command_round_trip_seconds"


def scrape(counts: dict[str, float], total: float, n: float) -> dict[str, float]:
    out = {f'{NAME}_bucket{{le="{le}"}}': c for le, c in counts.items()}
    out[f"{NAME}_sum"], out[f"{NAME}_count"] = total, n
    return out


def test_quantiles_interpolate_within_buckets_of_the_phase_only() -> None:
    before = scrape({"0.001": 10.0, "0.002": 10.0, "0.01": 10.0, "+Inf": 10.0}, 0.005, 10)
    # the phase adds 100 samples: 50 under 1 ms, 40 in (1, 2] ms, 10 in (2, 10] ms
    after = scrape({"0.001": 60.0, "0.002": 100.0, "0.01": 110.0, "+Inf": 110.0}, 0.005 + 0.15, 110)
    h = _histogram(before, after, NAME)
    assert h["samples"] == 100 and h["mean"] == 1500.0
    assert h["p50"] == 1000.0  # the 50th sample is the last of the first bucket
    assert h["p99"] == 2000.0 + 8000.0 * 9 / 10


def test_no_samples_is_none() -> None:
    same = scrape({"0.001": 1.0, "+Inf": 1.0}, 0.0005, 1)
    assert _histogram(same, same, NAME) == {"mean": None, "p50": None, "p99": None, "samples": 0}
