"""CPU scheduling of the order path (``[scheduling]`` in the config).

An order crosses the FIX gateway (with the engine in it) and NATS twice on its way to its
ExecutionReport. On a host whose cores are busy, each of those wake-ups waits for a core
behind whatever else is running: the persistence writer, PostgreSQL, the operator's tools,
other programs. With ``order_path = "realtime"`` the processes on the order path (the
embedded nats-server, the gateway, a separate engine service) run under ``SCHED_FIFO`` at
``realtime_priority``: a waking one takes a core from any normally scheduled process at
once, and everything else gets the cores they leave. Measured on the 2-core machine with the
whole venue and its load clients on it (bench/results/e2e-realtime-order-path-*.json): the
venue's own part of an order at 5,000 orders/s, p99 4.3 -> 1.9 ms.

It needs the right to: root, CAP_SYS_NICE, or an RLIMIT_RTPRIO of at least the priority
(systemd ``LimitRTPRIO=``, ``/etc/security/limits.conf`` ``rtprio``). Without it the venue
says so once and runs at normal priority. The kernel keeps 5% of every second for the
normal processes whatever the realtime ones do (``kernel.sched_rt_runtime_us``).

Only the thread that asks is moved, with ``SCHED_RESET_ON_FORK``: a service's event loop is
realtime, the threads it starts later (snapshot files, name lookups) and its children are
not. nats-server is set before it is executed, without the reset, so that every Go thread it
starts is realtime.
"""

from __future__ import annotations

import os

# The services whose event loop is on every order's path.
ORDER_PATH_SERVICES = frozenset({"gateway", "engine"})


def needs(priority: int) -> str:
    """What a process must have to run SCHED_FIFO at ``priority`` (for refusal messages)."""
    return f"needs root, CAP_SYS_NICE or RLIMIT_RTPRIO >= {priority}"


def enter_realtime(priority: int, *, threads_inherit: bool = False) -> str | None:
    """Put the calling thread under SCHED_FIFO at ``priority``; None, or why not (the
    thread is then left as it was). ``threads_inherit``: threads and children it starts
    later are realtime too (else they start normal: SCHED_RESET_ON_FORK)."""
    policy = os.SCHED_FIFO if threads_inherit else os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    try:
        os.sched_setscheduler(0, policy, os.sched_param(priority))
    except OSError as exc:
        return f"{exc.strerror or exc} ({needs(priority)})"
    return None


def describe(pid: int) -> str:
    """How the kernel schedules ``pid``'s main thread: "realtime (FIFO 10)", "normal"."""
    try:
        policy = os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK
        priority = os.sched_getparam(pid).sched_priority
    except OSError:
        return "unknown"
    if policy == os.SCHED_FIFO:
        return f"realtime (FIFO {priority})"
    if policy == os.SCHED_RR:
        return f"realtime (RR {priority})"
    return "normal"
