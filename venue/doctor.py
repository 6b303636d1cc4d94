"""``venue doctor``: find the running venue through the data directory and check each part.

Healthy means: the runtime process is alive; NATS answers and both streams exist; PostgreSQL
answers and has no pending migration (and how far the persistence writer is behind the event
stream); every service process is alive and serves /metrics;
the order path is scheduled as ``scheduling.order_path`` asks (realtime refused: unhealthy).
"""

from __future__ import annotations

import asyncio
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind
from venue.config import Config
from venue.db import connect, pending_migrations
from venue.runtime import pid_alive, read_runtime
from venue.scheduling import ORDER_PATH_SERVICES, describe, needs


@dataclass(frozen=True)
class Check:
    component: str
    healthy: bool
    detail: str


async def _check_nats(url: str, config: Config) -> tuple[Check, int | None]:
    """The bus check, and the event stream's last sequence (None: not known)."""
    try:
        bus = await asyncio.wait_for(JetStreamBus.connect(url, config.bus, name="venue-doctor"), 5)
    except Exception as exc:
        return Check("bus", False, f"{url}: {exc}"), None
    try:
        seqs = {kind: await asyncio.wait_for(bus.last_seq(kind), 5) for kind in StreamKind}
        return Check(
            "bus",
            True,
            f"{url} JetStream {config.bus.command_stream}={seqs[StreamKind.COMMANDS]} "
            f"{config.bus.event_stream}={seqs[StreamKind.EVENTS]} messages",
        ), seqs[StreamKind.EVENTS]
    except Exception as exc:
        return Check("bus", False, f"{url}: streams not available ({exc.__class__.__name__})"), None
    finally:
        await bus.close()


async def _check_database(url: str) -> tuple[Check, int | None]:
    """The database check, and the event-stream sequence the persistence writer has stored
    up to (None: not known)."""
    try:
        conn = await connect(url, timeout_s=5)
    except Exception as exc:
        return Check("database", False, str(exc)), None
    try:
        version = await conn.fetchval("SHOW server_version")
        pending = await pending_migrations(conn)
        if pending:
            return Check("database", False, f"pending migrations {pending}: run `venue migrate`"), None
        stored = await conn.fetchval("SELECT coalesce(max(stream_seq), 0) FROM writer_progress")
        return Check("database", True, f"PostgreSQL {version}, schema up to date"), int(stored)
    finally:
        await conn.close()


def _persistence(events: int, stored: int) -> Check:
    """How far the persistence writer is behind the event stream: it falls behind in a long
    burst (more so with the order path realtime) or while PostgreSQL is away, and catches up
    from where it is; only being ahead would be wrong (another stream than its progress)."""
    behind = events - stored
    if behind < 0:
        return Check("persistence", False, f"the writer's progress ({stored}) is past the event stream's last record"
                     f" ({events}): this is not the stream the writer stored (was the bus's data replaced?)")
    return Check("persistence", True, f"the writer has stored the event stream up to {stored} of {events}"
                 f" ({behind} records behind)")


def _check_http(name: str, url: str) -> Check:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return Check(name, resp.status == 200, f"{url} HTTP {resp.status}")
    except Exception as exc:
        return Check(name, False, f"{url}: {exc}")


async def run_checks(config: Config, data_dir: Path) -> list[Check]:
    info = read_runtime(data_dir)
    if info is None:
        return [Check("runtime", False, f"no running venue under {data_dir}: start one with `venue up`")]
    checks = []
    pid = info.get("pid")
    alive = pid_alive(pid)
    checks.append(Check("runtime", alive, f"pid {pid}" + ("" if alive else " is not running (stale runtime file)")))
    if not alive:
        return checks
    restarts = info.get("embedded_restarts") or {}
    assert isinstance(restarts, dict)
    bus_check, events = await _check_nats(str(info["nats_url"]), config)
    database_check, stored = await _check_database(str(info["database_url"]))
    for key, check in (("nats", bus_check), ("postgres", database_check)):
        if restarts.get(key):  # an embedded server the supervisor had to start again
            check = Check(check.component, check.healthy, f"{check.detail}, embedded restarts {restarts[key]}")
        checks.append(check)
    if events is not None and stored is not None:
        checks.append(_persistence(events, stored))
    if info.get("metrics_url"):
        checks.append(await asyncio.to_thread(_check_http, "metrics", str(info["metrics_url"])))
    services = info.get("services") or {}
    assert isinstance(services, dict)
    for name, svc in services.items():
        if not pid_alive(svc.get("pid")):
            checks.append(Check(name, False, f"pid {svc.get('pid')} not running"))
        elif svc.get("metrics_url"):
            c = await asyncio.to_thread(_check_http, name, svc["metrics_url"])
            checks.append(Check(name, c.healthy, f"pid {svc['pid']}, {c.detail}, restarts {svc.get('restarts', 0)}"))
        else:
            checks.append(Check(name, True, f"pid {svc['pid']}"))
    if "engine" not in services and "gateway" in services and config.engine.in_gateway:
        gateway = services["gateway"]
        checks.append(Check("engine", pid_alive(gateway.get("pid")), f"in the gateway's process (pid {gateway.get('pid')})"))
    checks.append(_check_scheduling(config, info, services))
    return checks


def _check_scheduling(config: Config, info: dict[str, object], services: dict[str, dict[str, object]]) -> Check:
    """How the kernel schedules the processes on the order path, against the config."""
    pids = {name: svc.get("pid") for name, svc in services.items() if name in ORDER_PATH_SERVICES}
    if info.get("nats_embedded_pid"):
        pids["nats-server"] = info["nats_embedded_pid"]
    seen = {name: describe(int(pid)) for name, pid in pids.items() if isinstance(pid, int) and pid_alive(pid)}
    detail = ", ".join(f"{name} {how}" for name, how in sorted(seen.items()))
    if not config.scheduling.realtime:
        return Check("scheduling", True, f"order path normal (scheduling.order_path): {detail}")
    refused = sorted(name for name, how in seen.items() if not how.startswith("realtime"))
    if refused:
        return Check("scheduling", False, f"realtime refused for {', '.join(refused)}"
                     f" ({needs(config.scheduling.realtime_priority)}): {detail}")
    return Check("scheduling", True, f"order path realtime: {detail}")
