"""The event-loop lag probe: a blocked loop is measured and, past SLOW_LAG_S, logged."""

from __future__ import annotations

import asyncio
import time

import structlog

from venue import looplag


def _count_over(seconds: float) -> float:
    for metric in looplag.LOOP_LAG.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels["le"] == "+Inf":
                total = sample.value
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf" and float(sample.labels["le"]) == seconds:
                return total - sample.value
    raise AssertionError("no histogram")


def test_a_blocked_loop_is_measured_and_logged() -> None:
    async def main() -> None:
        probe = looplag.watch_loop_lag(0.01)
        await asyncio.sleep(0.03)  # the probe is sleeping now
        time.sleep(looplag.SLOW_LAG_S * 2)  # the loop is stuck, on CPU-less sleep
        await asyncio.sleep(0.05)  # let the probe wake and report
        probe.cancel()

    before = _count_over(0.05)
    with structlog.testing.capture_logs() as logs:
        asyncio.run(main())
    assert _count_over(0.05) == before + 1
    [slow] = [e for e in logs if e["event"] == "event loop lagging"]
    assert slow["lag_ms"] >= looplag.SLOW_LAG_S * 1e3 and slow["on_cpu_ms"] < slow["lag_ms"] / 2


def test_a_punctual_loop_reads_as_no_lag() -> None:
    assert looplag.observe(0.1, 0.099, 0.0) == 0.0
    assert looplag.observe(0.1, 0.103, 0.0) >= 0.002
