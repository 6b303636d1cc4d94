"""The composition root of ``venue up``: one supervised process tree.

Start order: data directory and lock, the bus (embedded nats-server unless a URL is set) and
its streams, the database (embedded PostgreSQL unless a URL is set) with migrations and the
config's reference data, the metrics endpoint, then each venue service as a child process
(restarted with back-off if it dies; so are the embedded nats-server and PostgreSQL, and
the services reconnect to them by themselves). The runtime file ``<data_dir>/runtime.json`` tells
``venue doctor`` and other commands where everything is. Stop (Ctrl-C / SIGTERM) runs the
same steps backwards; a failed start undoes what it had started and exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from venue.bootstrap import bootstrap
from venue.bus.jetstream import JetStreamBus
from venue.clock import SystemClock
from venue.config import Config
from venue.db import connect, migrate
from venue.embedded import EmbeddedNats, EmbeddedPostgres, die_with_parent, free_port, port_in_use
from venue.logs import get_logger
from venue.metrics import serve_metrics
from venue.registry import seed
from venue.scheduling import describe, needs

log = get_logger("venue.runtime")

RUNTIME_FILE = "runtime.json"


class StartupError(RuntimeError):
    """A start-up problem, one line naming the problem and the fix."""


@dataclass(frozen=True)
class ServiceSpec:
    """A venue service run as a child process: ``python -m venue.service NAME``."""

    name: str
    enabled: Callable[[Config], bool] = lambda config: True
    # Ports the service listens on for clients, to pre-check and print.
    ports: Callable[[Config], dict[str, int]] = lambda config: {}


def _fix_ports(config: Config) -> dict[str, int]:
    return {"fix": config.fix.port}


# Order is start order.
SERVICES: list[ServiceSpec] = [
    ServiceSpec("engine", enabled=lambda config: not (config.engine.in_gateway and config.fix.sessions)),
    ServiceSpec("writer"),
    ServiceSpec("gateway", enabled=lambda config: bool(config.fix.sessions), ports=_fix_ports),
]


def runtime_path(data_dir: Path) -> Path:
    return data_dir / RUNTIME_FILE


def read_runtime(data_dir: Path) -> dict[str, object] | None:
    try:
        return json.loads(runtime_path(data_dir).read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Child:
    spec: ServiceSpec
    metrics_port: int
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    task: asyncio.Task[None] | None = None


@dataclass
class Venue:
    config: Config
    config_path: str | None
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    nats_url: str = ""
    database_url: str = ""
    children: list[_Child] = field(default_factory=list)
    embedded_restarts: dict[str, int] = field(default_factory=lambda: {"nats": 0, "postgres": 0})
    _watcher: asyncio.Task[None] | None = None
    _started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    _stopping: bool = False

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        existing = read_runtime(self.data_dir)
        if existing and pid_alive(existing.get("pid")) and existing.get("pid") != os.getpid():
            raise StartupError(
                f"a venue is already running from {self.data_dir} (pid {existing['pid']}): "
                "stop it first, or use another VENUE_DATA_DIR"
            )
        m = self.config.metrics
        if m.port and port_in_use(m.host, m.port):
            raise StartupError(f"port {m.port} is in use: set metrics.port to a free port (0 disables metrics)")
        for spec in SERVICES:
            if spec.enabled(self.config):
                for what, port in spec.ports(self.config).items():
                    if port and port_in_use("0.0.0.0", port):
                        raise StartupError(f"port {port} ({what}) is in use: change it in the config")

        # The bus.
        if self.config.bus.url:
            self.nats_url = self.config.bus.url
        else:
            sched = self.config.scheduling
            self.nats = EmbeddedNats(
                self.data_dir, self.config.bus.embedded_port, gomaxprocs=self.config.bus.embedded_gomaxprocs,
                realtime_priority=sched.realtime_priority if sched.realtime else 0,
                sysmon_polls=self.config.bus.embedded_sysmon_polls,
            )
            self.nats.start()
            self.nats_url = self.nats.url
            if sched.realtime and self.nats.pid and describe(self.nats.pid) == "normal":
                log.warning(f"the embedded nats-server runs at normal priority: realtime was refused"
                            f" ({needs(sched.realtime_priority)})")
        bus = await JetStreamBus.connect(self.nats_url, self.config.bus, name="venue-up")
        try:
            await bus.ensure_streams()
        finally:
            await bus.close()

        # The database.
        if self.config.database.url:
            self.database_url = self.config.database.url
        else:
            self.postgres = EmbeddedPostgres(self.data_dir)
            await asyncio.get_running_loop().run_in_executor(None, self.postgres.start)
            self.database_url = self.postgres.url
        conn = await connect(self.database_url, self.config.database.connect_timeout_s)
        try:
            applied = await migrate(conn)
            await seed(conn, self.config)
            bus = await JetStreamBus.connect(self.nats_url, self.config.bus, name="venue-up")
            try:
                issued = await bootstrap(conn, bus, self.config, SystemClock())
            finally:
                await bus.close()
        finally:
            await conn.close()
        if issued:
            log.info("engine bootstrap commands issued", count=issued)
        if applied:
            log.info("migrations applied", names=applied)

        serve_metrics(m.host, m.port, "runtime")

        for spec in SERVICES:
            if spec.enabled(self.config):
                child = _Child(spec, metrics_port=free_port() if m.port else 0)
                self.children.append(child)
                await self._spawn(child)
                child.task = asyncio.create_task(self._supervise(child))
        if self.nats or self.postgres:
            self._watcher = asyncio.create_task(self._watch_embedded())
        self._write_runtime()

    async def _watch_embedded(self) -> None:
        """Start an embedded server again when it dies (kill -9, OOM), checked every half
        second, with back-off while it will not start. The services reconnect by themselves."""
        loop = asyncio.get_running_loop()
        backoff = 0.5
        while not self._stopping:
            await asyncio.sleep(0.5)
            for name, server in (("nats", self.nats), ("postgres", self.postgres)):
                if server is None or self._stopping or server.alive():
                    continue
                log.warning("embedded server exited; restarting", server=name)
                try:
                    if server is self.nats:
                        # On this thread: PR_SET_PDEATHSIG follows the thread that started it.
                        server.restart()
                    else:
                        await loop.run_in_executor(None, server.restart)
                except Exception as exc:
                    log.error("embedded server did not start again", server=name, error=str(exc), retry_in_s=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                self.embedded_restarts[name] += 1
                log.info("embedded server restarted", server=name, pid=server.pid)
                self._write_runtime()

    def _child_env(self, child: _Child) -> dict[str, str]:
        env = dict(os.environ)
        env["VENUE_NATS_URL"] = self.nats_url
        env["VENUE_DATABASE_URL"] = self.database_url
        env["VENUE_DATA_DIR"] = str(self.data_dir)
        env["VENUE_METRICS_PORT"] = str(child.metrics_port)
        return env

    async def _spawn(self, child: _Child) -> None:
        args = [sys.executable, "-m", "venue.service", child.spec.name]
        if self.config_path:
            args += ["--config", str(Path(self.config_path).resolve())]
        logfile = open(self.data_dir / "logs" / f"{child.spec.name}.log", "ab")  # noqa: SIM115
        try:
            child.proc = await asyncio.create_subprocess_exec(
                *args,
                env=self._child_env(child),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logfile,
                stderr=logfile,
                start_new_session=False,
                preexec_fn=die_with_parent,  # even a kill -9 of the supervisor leaves no service
            )
        finally:
            logfile.close()

    async def _supervise(self, child: _Child) -> None:
        backoff = 0.5
        while not self._stopping:
            assert child.proc is not None
            started = time.monotonic()
            code = await child.proc.wait()
            if self._stopping:
                return
            log.warning("service exited; restarting", service=child.spec.name, code=code, backoff_s=backoff)
            await asyncio.sleep(backoff)
            backoff = 0.5 if time.monotonic() - started > 30 else min(backoff * 2, 10.0)
            if self._stopping:
                return
            child.restarts += 1
            await self._spawn(child)
            self._write_runtime()

    def endpoints(self) -> dict[str, str]:
        out = {"nats": self.nats_url, "database": _redact_url(self.database_url)}
        m = self.config.metrics
        if m.port:
            out["metrics"] = f"http://{m.host}:{m.port}/metrics"
        for spec in SERVICES:
            if spec.enabled(self.config):
                for what, port in spec.ports(self.config).items():
                    out[what] = f"tcp://0.0.0.0:{port}"
        return out

    def _write_runtime(self) -> None:
        m = self.config.metrics
        info = {
            "pid": os.getpid(),
            "started_at": self._started_at,  # (the file is written again at each restart)
            "data_dir": str(self.data_dir),
            "config": str(Path(self.config_path).resolve()) if self.config_path else None,
            "nats_url": self.nats_url,
            "nats_embedded_pid": self.nats.pid if self.nats else None,
            "database_url": self.database_url,
            "postgres_embedded_pid": self.postgres.pid if self.postgres else None,
            "embedded_restarts": dict(self.embedded_restarts),
            "metrics_url": f"http://{m.host}:{m.port}/metrics" if m.port else None,
            "endpoints": self.endpoints(),
            "services": {
                c.spec.name: {
                    "pid": c.proc.pid if c.proc else None,
                    "metrics_url": f"http://127.0.0.1:{c.metrics_port}/metrics" if c.metrics_port else None,
                    "restarts": c.restarts,
                }
                for c in self.children
            },
        }
        path = runtime_path(self.data_dir)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(path)

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher is not None:  # it sees _stopping within 0.5 s (or after a restart it began)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watcher, 30)
        for child in reversed(self.children):
            if child.task:
                child.task.cancel()
            if child.proc and child.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            if child.proc and child.proc.returncode is None:
                try:
                    await asyncio.wait_for(child.proc.wait(), 10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        child.proc.kill()
                    await child.proc.wait()
        if self.postgres:
            await asyncio.get_running_loop().run_in_executor(None, self.postgres.stop)
        if self.nats:
            self.nats.stop()
        info = read_runtime(self.data_dir) if self.data_dir.exists() else None
        if info and info.get("pid") == os.getpid():
            runtime_path(self.data_dir).unlink(missing_ok=True)


def _redact_url(url: str) -> str:
    from venue.db import _redact

    return _redact(url)


async def run_venue(config: Config, config_path: str | None, ready: Callable[[Venue], None]) -> None:
    venue = Venue(config, config_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Ctrl-C / SIGTERM during start-up stops it too (start-up undoes what it had started).
    starting = asyncio.create_task(venue.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        stopping.cancel()
        raise StartupError("interrupted while starting; everything started so far was stopped")
    stopping.cancel()
    starting.result()  # a start-up error propagates (after start() undid itself)
    try:
        ready(venue)
        await stop.wait()
    finally:
        await venue.stop()
