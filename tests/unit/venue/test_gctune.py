"""The services' garbage-collector settings and the pause measurement."""

from __future__ import annotations

import gc
import time

import structlog

from venue import gctune


def _count(generation: str) -> float:
    for metric in gctune.GC_PAUSE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels.get("generation") == generation:
                return sample.value
    return 0.0


def test_every_collection_is_measured_and_a_slow_one_is_logged() -> None:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    try:
        gctune.tune_gc()
        gctune.tune_gc()  # idempotent: one callback
        assert gc.callbacks.count(gctune._on_collection) == 1
        assert gc.get_threshold() == (20_000, 20, 20)
        before = _count("2")
        gc.collect()
        assert _count("2") == before + 1

        with structlog.testing.capture_logs() as logs:
            gctune._on_collection("start", {"generation": 1})
            time.sleep(gctune.SLOW_PAUSE_S * 1.5)
            gctune._on_collection("stop", {"generation": 1, "collected": 3})
            gctune._on_collection("start", {"generation": 0})
            gctune._on_collection("stop", {"generation": 0, "collected": 0})
        slow = [e for e in logs if e["event"] == "slow garbage collection"]
        assert len(slow) == 1 and slow[0]["generation"] == 1 and slow[0]["collected"] == 3
        assert slow[0]["pause_ms"] >= gctune.SLOW_PAUSE_S * 1e3
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.callbacks[:] = callbacks
