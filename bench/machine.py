"""What a machine charges the venue's kind of work: a calibration recorded with each result.

The same venue code ran at 32,000-36,000 orders/s on one 2-core machine and at 15,000-21,000
on another (bench/results/e2e-session10-*.json), where a C benchmark and a plain Python loop
ran equally fast on both. What differed was the cost of a message between two processes.
``probe()`` measures both before a benchmark starts, so a result can be read against its
machine:

- ``echo_core_us_per_msg``: CPU a uvloop echo server (its own process) spends per 200-byte
  message it answers, with messages paced at ``rate`` per second by a blocking client: a
  wake-up, a read and a write, and nothing else;
- ``echo_rtt_us``: the client's round trip, p50, p90 and p99;
- ``python_loop_ms``: a fixed loop of object, dict and bytes work, best of three.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bus import _pct

_SIZE = 200


def _echo_server(ready: Any, report: Any) -> None:
    """A uvloop echo server that reports its own CPU time over the connection's life (the
    echo of ``bench.bus`` does not: it measures the hop from the client's side)."""
    import uvloop

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        first: list[float] = []

        class Echo(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def data_received(self, data: bytes) -> None:
                if not first:
                    first.append(time.process_time())
                self.transport.write(data)

            def connection_lost(self, exc: Exception | None) -> None:
                if not done.done():
                    done.set_result(time.process_time())

        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        end = await done
        report.put(end - first[0] if first else 0.0)
        server.close()

    uvloop.run(main())


def echo(rate: float = 2500.0, seconds: float = 2.0) -> dict[str, Any]:
    """The echo figures (see the module doc) over ``rate * seconds`` messages."""
    ctx = mp.get_context("spawn")
    ready, report = ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=_echo_server, args=(ready, report), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=30)
        n = max(1, int(rate * seconds))
        rtt: list[int] = []
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            payload = b"x" * _SIZE
            t0 = time.perf_counter_ns()
            for i in range(n):
                due = t0 + int(i * 1e9 / rate)
                while (wait := due - time.perf_counter_ns()) > 0:
                    time.sleep(wait / 1e9)
                sent = time.perf_counter_ns()
                sock.sendall(payload)
                got = 0
                while got < _SIZE:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("the echo server closed the connection")
                    got += len(chunk)
                rtt.append(time.perf_counter_ns() - sent)
        cpu_s = float(report.get(timeout=30))
    finally:
        server.join(5)
        if server.is_alive():
            server.kill()
    return {"messages": n, "echo_core_us_per_msg": round(cpu_s * 1e6 / n, 1), "echo_rtt_us": _pct(rtt)}


class _Item:
    __slots__ = ("a", "b", "c")

    def __init__(self, a: int, b: str, c: tuple[int, int]) -> None:
        self.a, self.b, self.c = a, b, c


def _loop(n: int) -> int:
    index: dict[str, _Item] = {}
    total = 0
    for i in range(n):
        item = _Item(i, str(i), (i, i + 1))
        index[item.b] = item
        if i % 3 == 0:
            total += len(b"8=FIX.4.4\x019=123\x0135=D\x0149=ALPHA\x01".split(b"\x01"))
        total += len(f"{i}-{total}")
    return total


def python_loop_ms(n: int = 100_000) -> float:
    """Best of three runs of a fixed loop of object, dict and bytes work, in ms."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        _loop(n)
        best = min(best, time.perf_counter() - t)
    return round(best * 1e3, 1)


def probe(rate: float = 2500.0, seconds: float = 2.0) -> dict[str, Any]:
    return {**echo(rate, seconds), "python_loop_ms": python_loop_ms()}


if __name__ == "__main__":
    import json

    print(json.dumps(probe(), indent=2))


# A virtual machine's idle CPU halts; the next wake-up onto it (an IPI) has the hypervisor
# run the vCPU again first. Guest halt polling (cpuidle driver "haltpoll") spins up to
# ``guest_halt_poll_ns`` in the guest before halting, so a wake-up that comes soon after
# the CPU went idle finds it running. bench.e2e --guest-halt-poll-ns sets it for a run
# (``guest_halt_polling``; docs/architecture.md, session 16: measured, not adopted).
HALTPOLL_DRIVER = Path("/sys/devices/system/cpu/cpuidle/current_driver")
HALTPOLL_NS = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")


def guest_halt_poll_ns(driver: Path = HALTPOLL_DRIVER, setting: Path = HALTPOLL_NS) -> int | None:
    """The guest's idle polling window in ns, or None where the host has none to set (not
    a VM with the haltpoll cpuidle driver, or not readable)."""
    try:
        if driver.read_text().strip() != "haltpoll":
            return None
        return int(setting.read_text().strip())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def guest_halt_polling(ns: int | None) -> Iterator[None]:
    """The VM's idle polling window ``ns`` for the ``with`` block, the machine's own value
    back afterwards. None, or a machine without the setting: nothing changes."""
    before = guest_halt_poll_ns()
    if ns is None or before is None or ns == before:
        yield
        return
    HALTPOLL_NS.write_text(str(ns))
    try:
        yield
    finally:
        HALTPOLL_NS.write_text(str(before))
