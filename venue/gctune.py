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

Cyclic garbage is still collected, in larger steps.
"""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Freeze the objects start-up left and raise the collection thresholds (see module doc)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


__all__ = ["tune_gc"]
