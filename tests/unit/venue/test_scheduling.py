"""venue/scheduling.py: the order path's realtime scheduling, asked of the real kernel in
child processes (the test process itself stays as it is)."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from typing import Any

import pytest

from venue.config import ConfigError, load_config
from venue.scheduling import describe, enter_realtime

privileged = pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root or CAP_SYS_NICE here")


def _child(results: Any, drop_to: int | None) -> None:
    if drop_to is not None:
        os.setgid(drop_to)
        os.setuid(drop_to)  # no CAP_SYS_NICE, RLIMIT_RTPRIO 0: refused
    refused = enter_realtime(7)
    seen: dict[str, str] = {}
    thread = threading.Thread(target=lambda: seen.update(thread=describe(threading.get_native_id())))
    thread.start()
    thread.join()
    results.put((refused, describe(os.getpid()), seen["thread"]))


def _in_child(drop_to: int | None = None) -> tuple[str | None, str, str]:
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    proc = ctx.Process(target=_child, args=(results, drop_to))
    proc.start()
    out = results.get(timeout=30)
    proc.join(30)
    return out  # type: ignore[no-any-return]


@privileged
def test_the_calling_thread_runs_fifo_and_threads_it_starts_later_do_not() -> None:
    refused, main, thread = _in_child()
    assert refused is None
    assert main == "realtime (FIFO 7)"
    assert thread == "normal"  # SCHED_RESET_ON_FORK: a snapshot thread does not take a core


@privileged
def test_refused_realtime_says_why_and_leaves_the_thread_normal() -> None:
    refused, main, _ = _in_child(drop_to=65534)
    assert refused is not None and "CAP_SYS_NICE" in refused and "RLIMIT_RTPRIO >= 7" in refused
    assert main == "normal"


def test_this_process_is_described_as_normal() -> None:
    assert describe(os.getpid()) == "normal"
    assert describe(2**22 + 12345) == "unknown"  # (no such process)


def test_scheduling_config(tmp_path: Any) -> None:
    assert load_config(None, env={}).scheduling.order_path == "normal"
    path = tmp_path / "venue.toml"
    path.write_text('[scheduling]\norder_path = "realtime"\nrealtime_priority = 20\n')
    config = load_config(path, env={})
    assert (config.scheduling.order_path, config.scheduling.realtime_priority) == ("realtime", 20)
    path.write_text('[scheduling]\nrealtime_priority = 100\n')
    with pytest.raises(ConfigError, match=r"scheduling\.realtime_priority must be in 1\.\.99"):
        load_config(path, env={})
    path.write_text('[scheduling]\norder_path = "fast"\n')
    with pytest.raises(ConfigError, match="order_path"):
        load_config(path, env={})
