"""Event-loop lag: how late a service's event loop runs a timer.

Every request a service handles waits behind whatever its event loop is doing, so a loop
that falls behind shows in every order's latency. ``watch_loop_lag()`` starts a task that
sleeps ``PROBE_INTERVAL_S`` again and again and measures how much later than asked it woke
(``venue_event_loop_lag_seconds``; uvloop's timers round to the millisecond, so lags under
~1 ms read as 0). A lag of ``SLOW_LAG_S`` or more is logged with the thread's CPU time across
it: near the lag, the loop was busy running something (its own work, a garbage
collection); near zero, the process waited for a core or was stopped.

Ten wake-ups a second cost nothing measurable; a finer probe (1 ms sleeps) is what found
the gateway's collector pauses (bench/results/e2e-clordid-index-untracked-*.json) but costs
a wake-up per millisecond, which on two shared cores is not free.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Histogram

from venue.logs import get_logger

log = get_logger("venue.loop")

PROBE_INTERVAL_S = 0.1
SLOW_LAG_S = 0.05

LOOP_LAG = Histogram(
    "venue_event_loop_lag_seconds",
    "How much later than asked the service's event loop ran a timer (probed every 100 ms)",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
)


def observe(asked_s: float, slept_s: float, cpu_s: float) -> float:
    """Record one probe: asked to sleep ``asked_s``, woke after ``slept_s``, the thread ran
    ``cpu_s`` meanwhile. Returns the lag."""
    lag = max(slept_s - asked_s, 0.0)
    LOOP_LAG.observe(lag)
    if lag >= SLOW_LAG_S:
        log.warning("event loop lagging", lag_ms=round(lag * 1e3, 1), on_cpu_ms=round(cpu_s * 1e3, 1))
    return lag


async def _probe(interval_s: float) -> None:
    clock, cpu = time.perf_counter, time.thread_time
    while True:
        t0, c0 = clock(), cpu()
        await asyncio.sleep(interval_s)
        observe(interval_s, clock() - t0, cpu() - c0)


def watch_loop_lag(interval_s: float = PROBE_INTERVAL_S) -> asyncio.Task[None]:
    """Start the probe on the running loop (a service main calls it once, after start-up)."""
    return asyncio.get_running_loop().create_task(_probe(interval_s), name="loop-lag-probe")


__all__ = ["LOOP_LAG", "watch_loop_lag"]
