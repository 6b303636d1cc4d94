"""Garbage-collector settings for a long-running service process.

CPython's cyclic collector walks every tracked container object of a generation when it
runs; a full (generation 2) collection walks them all. A service that keeps per-order state
in Python objects therefore pauses for longer and longer as the day goes on: measured in the
gateway under ``bench.e2e`` before this existed, full collections of 300-760 ms (4.2 s of
collector time in a 40 s run, none of which found garbage), which set the latency tail.

The services' steady state makes (almost) no reference cycles, so the collector has nothing
to find there. What is done about it:

- long-lived per-order records are not tracked at all (``msgspec.Struct`` with
  ``gc=False``: the gateway's ``Order``, the engine's command and event records);
- ``tune_gc()``, called by each service main once it is set up, freezes what start-up left
  (modules, clients, the FIX dictionary, a replayed order book) out of the collector's
  sight and collects the youngest generation every 20,000 net allocations instead of 700.

Cyclic garbage is still collected, in larger steps. Every collection's pause is measured
(``venue_gc_pause_seconds`` by generation), and one of ``SLOW_PAUSE_S`` or more is logged
as a warning: a stalled event loop shows in every order's latency.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

from venue.logs import get_logger

log = get_logger("venue.gc")

SLOW_PAUSE_S = 0.02

GC_PAUSE = Histogram(
    "venue_gc_pause_seconds",
    "Pauses of the cyclic garbage collector",
    ["generation"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)

_started = [0.0]


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    pause = time.perf_counter() - _started[0]
    GC_PAUSE.labels(str(info["generation"])).observe(pause)
    if pause >= SLOW_PAUSE_S:
        log.warning("slow garbage collection", generation=info["generation"], pause_ms=round(pause * 1e3, 1),
                    collected=info["collected"])


def tune_gc() -> None:
    """Freeze the objects start-up left and raise the collection thresholds (see module doc)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


__all__ = ["tune_gc"]
