"""`venue up` / `venue doctor` as a new user runs them: real processes, real signals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fix_gateway.client import FixClient
from venue.embedded import free_port
from venue.runtime import pid_alive
from venue.scheduling import describe

ROOT = Path(__file__).parents[3]
VENUE = [sys.executable, "-m", "venue.cli"]


def _ports(n: int) -> list[int]:
    """``n`` distinct free ports (free_port() may hand out the same one twice)."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _config(tmp_path: Path) -> Path:
    nats, metrics, fix = _ports(3)
    text = (ROOT / "config" / "demo.toml").read_text()
    text = re.sub(r"embedded_port = \d+", f"embedded_port = {nats}", text)
    text = re.sub(r"(\[metrics\]\nport = )\d+", rf"\g<1>{metrics}", text)
    text = re.sub(r"(\[fix\]\nhost = \"[^\"]*\"\nport = )\d+", rf"\g<1>{fix}", text)
    path = tmp_path / "venue.toml"
    path.write_text(text)
    return path


def _realtime_permitted(priority: int) -> bool:
    """May this user's processes run SCHED_FIFO at ``priority`` (root, or RLIMIT_RTPRIO)?"""
    import resource

    return os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_RTPRIO)[0] >= priority


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VENUE_NATS_URL", "VENUE_DATABASE_URL")}
    env["VENUE_DATA_DIR"] = str(tmp_path / "var")
    return env


def _fix_port(config: Path) -> int:
    return int(re.search(r"\[fix\]\nhost = \"[^\"]*\"\nport = (\d+)", config.read_text()).group(1))  # type: ignore[union-attr]


async def _log_on_demo_firms(port: int) -> tuple[FixClient, FixClient]:
    """ALPHA (FIX.4.4) and BETA (FIXT.1.1) logged on, as the README's first session does."""
    alpha = FixClient("FIX.4.4", "ALPHA", "VENUE", username="alpha", password="alpha-demo")
    beta = FixClient("FIXT.1.1", "BETA", "VENUE", username="beta", password="beta-demo")
    for _ in range(100):  # the gateway replays the event log before it listens
        try:
            await alpha.connect("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.2)
    await beta.connect("127.0.0.1", port)
    return alpha, beta


async def _query_until(database_url: str, query: str, done: Callable[[Any], bool], tries: int = 100) -> Any:
    """``query``'s first row, asked every 0.1 s until ``done`` says it is what the test waits
    for (the persistence writer stores a trade a moment after it is reported); the last
    answer when it never is."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(tries):
            row = await conn.fetchrow(query)
            if done(row):
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return row


@pytest.fixture
def running_venue(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, dict[str, str]]]:
    with _up(_config(tmp_path), _env(tmp_path)) as running:
        yield running


@contextlib.contextmanager
def _up(config: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], Path, dict[str, str]]]:
    """``venue up`` on ``config`` until it says it is up; stopped as a user does afterwards."""
    proc = subprocess.Popen(
        [*VENUE, "--config", str(config), "up"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "stop with Ctrl-C" in line:
            break
    else:
        proc.kill()
    if proc.poll() is not None or not any("venue is up" in ln for ln in lines):
        proc.kill()
        pytest.fail("venue up did not come up:\n" + "".join(lines))
    try:
        yield proc, config, env
    finally:
        if proc.poll() is None:  # stop it as a user does; kill only if that fails
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_up_doctor_and_clean_ctrl_c(running_venue: tuple[subprocess.Popen[str], Path, dict[str, str]], tmp_path: Path) -> None:
    proc, config, env = running_venue
    for _ in range(30):  # the services start after "venue is up"; their endpoints a moment later
        doctor = subprocess.run([*VENUE, "--config", str(config), "doctor"], env=env, capture_output=True, text=True, timeout=60)
        if doctor.returncode == 0:
            break
        time.sleep(0.5)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert re.search(r"ok\s+bus", doctor.stdout) and re.search(r"ok\s+database", doctor.stdout)
    stored = re.search(r"ok\s+persistence\s+the writer has stored the event stream up to (\d+) of (\d+) \((\d+) records behind\)",
                       doctor.stdout)
    assert stored is not None, doctor.stdout
    assert int(stored[2]) - int(stored[1]) == int(stored[3]) >= 0

    info = json.loads((tmp_path / "var" / "runtime.json").read_text())
    children = [info["nats_embedded_pid"], info["postgres_embedded_pid"]]
    children += [s["pid"] for s in info["services"].values()]
    assert all(pid_alive(p) for p in children)

    # A second venue on the same data directory is refused, and starts nothing.
    second = subprocess.run([*VENUE, "--config", str(config), "up"], env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and "already running" in second.stderr

    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    time.sleep(0.5)
    left = [p for p in children if pid_alive(p)]
    assert not left, f"Ctrl-C left children behind: {[(p, Path(f'/proc/{p}/cmdline').read_bytes()[:80]) for p in left]}"
    assert not (tmp_path / "var" / "runtime.json").exists()

    after = subprocess.run([*VENUE, "--config", str(config), "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert after.returncode == 1 and "no running venue" in after.stdout


def test_unreachable_nats_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"VENUE_NATS_URL": f"nats://127.0.0.1:{free_port()}"}
    result = subprocess.run([*VENUE, "up"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "cannot reach NATS" in errors[0]
    assert not (tmp_path / "var" / "runtime.json").exists()


def test_port_in_use_names_the_key(tmp_path: Path) -> None:
    import socket

    config = _config(tmp_path)
    port = int(re.search(r"embedded_port = (\d+)", config.read_text()).group(1))  # type: ignore[union-attr]
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        result = subprocess.run([*VENUE, "--config", str(config), "up"], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bus.embedded_port" in result.stderr


def test_bad_config_exits_non_zero_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[bus]\nurll = 'x'\n")
    result = subprocess.run([*VENUE, "--config", str(bad), "up"], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown field" in result.stderr


def test_instrument_and_account_commands(tmp_path: Path) -> None:
    env = _env(tmp_path)
    config = _config(tmp_path)

    def venue(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*VENUE, "--config", str(config), *args], env=env, capture_output=True, text=True, timeout=120)

    # No running venue: the command starts the embedded database for itself.
    added = venue("account", "add", "GAMMA-1", "--firm", "GAMMA", "--taker-fee-bps", "3")
    assert added.returncode == 0, added.stderr
    listed = venue("account", "list")
    assert "GAMMA-1" in listed.stdout
    bad = venue("instrument", "add", "SOL-USD", "--base", "SOL", "--quote", "USD", "--tick-size", "0", "--lot-size", "1")
    assert bad.returncode == 2 and "--tick-size" in bad.stderr


def test_first_session_two_firms_trade_over_fix(
    running_venue: tuple[subprocess.Popen[str], Path, dict[str, str]], tmp_path: Path
) -> None:
    """The README's first session: log on as both demo firms, cross, see fills on both
    sides, find the trade in PostgreSQL."""

    _proc, config, _env = running_venue
    port = _fix_port(config)
    info = json.loads((tmp_path / "var" / "runtime.json").read_text())

    async def session() -> None:
        alpha, beta = await _log_on_demo_firms(port)
        order = [(55, "BTC-USD"), (60, "20261122-00:00:00"), (38, "0.25"), (40, "2"), (44, "60000")]
        alpha.send("D", [(11, "first-buy"), (1, "ALPHA-1"), (54, "1"), *order])
        assert (await alpha.expect("8", 15)).get(150) == b"0"
        beta.send("D", [(11, "first-sell"), (1, "BETA-1"), (54, "2"), *order])
        assert [(await beta.expect("8", 15)).get(150) for _ in range(2)] == [b"0", b"F"]
        fill = await alpha.expect("8", 15)
        assert (fill.get(150), fill.get(39), fill.get(31), fill.get(14)) == (b"F", b"2", b"60000", b"0.25")
        await alpha.logout()
        await beta.logout()
        row = await _query_until(
            info["database_url"], "SELECT price, qty, maker_account, taker_account FROM trades_view", bool
        )
        assert row is not None
        assert (str(row["price"]), str(row["qty"]), row["maker_account"], row["taker_account"]) == (
            "60000.00", "0.25000000", "ALPHA-1", "BETA-1",
        )

    asyncio.run(session())


def test_config_goes_before_or_after_the_subcommand(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    for argv in (["--config", missing, "doctor"], ["doctor", "--config", missing]):
        result = subprocess.run([*VENUE, *argv], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "missing.toml not found" in result.stderr


def test_a_killed_supervisor_leaves_no_service_behind(
    running_venue: tuple[subprocess.Popen[str], Path, dict[str, str]], tmp_path: Path
) -> None:
    proc, config, env = running_venue
    info = json.loads((tmp_path / "var" / "runtime.json").read_text())
    children = [info["nats_embedded_pid"], *(svc["pid"] for svc in info["services"].values())]
    postgres = info["postgres_embedded_pid"]
    proc.kill()  # kill -9: no clean-up code runs in the supervisor
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(pid_alive(p) for p in children):
        time.sleep(0.2)
    assert not [p for p in children if pid_alive(p)]

    # The daemonised PostgreSQL outlives it; the next run takes it over and stops it.
    assert pid_alive(postgres)
    again = subprocess.Popen([*VENUE, "--config", str(config), "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert again.stdout is not None
    for line in again.stdout:
        if "stop with Ctrl-C" in line:
            break
    again.send_signal(signal.SIGINT)
    assert again.wait(60) == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and pid_alive(postgres):
        time.sleep(0.2)
    assert not pid_alive(postgres)


def test_killed_embedded_servers_are_started_again_and_trading_goes_on(
    running_venue: tuple[subprocess.Popen[str], Path, dict[str, str]], tmp_path: Path
) -> None:
    """kill -9 the embedded nats-server, then the embedded PostgreSQL: `venue up` starts each
    again, the services reconnect by themselves, FIX sessions stay logged on, orders entered
    after each restart are acknowledged, and every trade reaches PostgreSQL."""

    _proc, config, env = running_venue
    port = _fix_port(config)
    runtime = tmp_path / "var" / "runtime.json"

    def restarted(key: str, old: int) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = json.loads(runtime.read_text())
            pid = info[key]
            if pid and pid != old and pid_alive(pid):
                return int(pid)
            time.sleep(0.2)
        raise AssertionError(f"{key} was not started again")

    async def session() -> None:
        alpha, beta = await _log_on_demo_firms(port)
        order = [(55, "BTC-USD"), (60, "20261122-00:00:00"), (38, "0.1"), (40, "2"), (44, "60000")]

        async def trade(n: int) -> None:
            alpha.send("D", [(11, f"buy-{n}"), (1, "ALPHA-1"), (54, "1"), *order])
            assert (await alpha.expect("8", 30)).get(150) == b"0"
            beta.send("D", [(11, f"sell-{n}"), (1, "BETA-1"), (54, "2"), *order])
            assert [(await beta.expect("8", 30)).get(150) for _ in range(2)] == [b"0", b"F"]
            assert (await alpha.expect("8", 30)).get(150) == b"F"

        await trade(1)
        info = json.loads(runtime.read_text())
        await asyncio.sleep(1.1)  # a restart rewrites the file: started_at must not move
        os.kill(info["nats_embedded_pid"], signal.SIGKILL)
        await asyncio.to_thread(restarted, "nats_embedded_pid", info["nats_embedded_pid"])
        await trade(2)
        os.kill(info["postgres_embedded_pid"], signal.SIGKILL)
        await asyncio.to_thread(restarted, "postgres_embedded_pid", info["postgres_embedded_pid"])
        await trade(3)
        after = json.loads(runtime.read_text())
        assert after["embedded_restarts"] == {"nats": 1, "postgres": 1}
        assert after["started_at"] == info["started_at"]
        assert all(svc["restarts"] == 0 for svc in after["services"].values()), after["services"]
        row = await _query_until(after["database_url"], "SELECT count(*) FROM trades_view", lambda r: r[0] == 3, 300)
        trades = row[0]
        assert trades == 3
        await alpha.logout()
        await beta.logout()
        doctor = subprocess.run([*VENUE, "--config", str(config), "doctor"], env=env, capture_output=True, text=True, timeout=60)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert re.search(r"ok\s+bus .*embedded restarts 1", doctor.stdout), doctor.stdout
        assert re.search(r"ok\s+database .*embedded restarts 1", doctor.stdout), doctor.stdout

    asyncio.run(session())


@pytest.mark.parametrize("in_gateway", [True, False], ids=["engine-in-gateway", "engine-service"])
def test_trading_survives_a_kill_9_of_the_process_holding_the_engine(tmp_path: Path, in_gateway: bool) -> None:
    """engine.in_gateway (the default): no engine service, the gateway's process trades;
    or the engine as a service of its own. Either way, after kill -9 of the process holding
    the engine the supervisor starts it again, which recovers: an acknowledged order is
    still known, and the trade reaches PostgreSQL. The order path runs realtime
    (``scheduling.order_path``), the restarted process too."""

    config = _config(tmp_path)
    config.write_text(
        config.read_text() + f"\n[engine]\nin_gateway = {str(in_gateway).lower()}\n"
        '\n[scheduling]\norder_path = "realtime"\nrealtime_priority = 3\n'
    )
    holder = "gateway" if in_gateway else "engine"
    with _up(config, _env(tmp_path)) as (_proc, _config_path, env):
        info = json.loads((tmp_path / "var" / "runtime.json").read_text())
        assert set(info["services"]) == ({"writer", "gateway"} if in_gateway else {"engine", "writer", "gateway"})
        doctor = subprocess.run([*VENUE, "--config", str(config), "doctor"], env=env, capture_output=True, text=True, timeout=60)
        assert "engine" in doctor.stdout, doctor.stdout
        realtime = _realtime_permitted(3)
        expected = (r"(?m)^ok   scheduling +order path realtime: .*nats-server realtime \(FIFO 3\)" if realtime
                    else r"(?m)^FAIL scheduling +realtime refused")  # (an unprivileged user is told)
        assert re.search(expected, doctor.stdout), doctor.stdout
        if realtime:
            assert describe(info["nats_embedded_pid"]) == describe(info["services"][holder]["pid"]) == "realtime (FIFO 3)"
            assert describe(info["services"]["writer"]["pid"]) == "normal"  # (off the order path)
        port = _fix_port(config)
        order = [(55, "BTC-USD"), (60, "20261122-00:00:00"), (38, "0.25"), (40, "2"), (44, "60000")]

        async def trade() -> None:
            alpha, beta = await _log_on_demo_firms(port)
            alpha.send("D", [(11, "eig-buy"), (1, "ALPHA-1"), (54, "1"), *order])
            assert (await alpha.expect("8", 15)).get(150) == b"0"
            beta.send("D", [(11, "eig-sell"), (1, "BETA-1"), (54, "2"), *order])
            assert [(await beta.expect("8", 15)).get(150) for _ in range(2)] == [b"0", b"F"]
            assert (await alpha.expect("8", 15)).get(150) == b"F"
            await alpha.close()
            await beta.close()

        asyncio.run(trade())
        pid = info["services"][holder]["pid"]
        os.kill(pid, signal.SIGKILL)
        for _ in range(150):
            time.sleep(0.2)
            now = json.loads((tmp_path / "var" / "runtime.json").read_text())["services"][holder]
            if now["pid"] != pid and now.get("restarts", 0) >= 1:
                break
        else:
            pytest.fail(f"the {holder} was not started again")
        if realtime:  # (the new process sets it first thing, once Python has started)
            for _ in range(100):
                if describe(now["pid"]) != "normal":
                    break
                time.sleep(0.1)
            assert describe(now["pid"]) == "realtime (FIFO 3)"

        async def after() -> None:
            alpha, beta = await _log_on_demo_firms(port)
            alpha.send("D", [(11, "eig-buy"), (1, "ALPHA-1"), (54, "1"), *order])
            dup = await alpha.expect("8", 15)
            assert (dup.get(39), dup.get(103)) == (b"8", b"6")  # the ClOrdID is still taken
            await alpha.close()
            await beta.close()
            n = (await _query_until(info["database_url"], "SELECT count(*) FROM trades", lambda r: r[0] > 0))[0]
            assert n == 1

        asyncio.run(after())
