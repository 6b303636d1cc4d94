"""Faults on the order path: a gateway crash, an engine kill -9, a NATS restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import commands as c
from engine import wire
from engine.service import EngineService
from engine.snapshots import SnapshotStore
from fix_gateway.client import FixClient
from fix_gateway.codec import FixMessage
from tests.support.engine_feed import replayed_state_hash
from venue.bus.envelope import Envelope, RequestMeta, encode_envelope, encode_meta
from venue.bus.protocol import StreamKind

from .test_order_path import nos, report, s, until


async def _sell_from_elsewhere(stack: Any, order_id: int, qty_units: int, price_units: int) -> None:
    """A sell entered through another gateway: straight into the command log."""
    cmd = c.NewOrder(seq=order_id, ts=0, order_id=order_id, account=2, instrument=1, side=c.SELL,
                     ord_type=int(c.OrdTypeCode.LIMIT), tif=int(c.TifCode.GTC), price=price_units, qty=qty_units)
    meta = RequestMeta(seq=order_id, session="FIXT.1.1:VENUE->OTHER", cl_ord_id=f"x{order_id}", account="BETA-1",
                       symbol="BTC-USD", source="fix", side="2")
    env = Envelope(1, "cmd", "fix-gw-9", order_id, 0, 1, wire.encode_command(cmd), encode_meta([meta]))
    await stack.bus.append(StreamKind.COMMANDS, encode_envelope(env))


@pytest.mark.parametrize("engine_in_gateway", [False, True], ids=["engine-service", "engine-in-gateway"])
async def test_gateway_crash_then_resend_recovers_every_missed_report(
    stack_factory: Callable[..., Any], engine_in_gateway: bool
) -> None:
    """The gateway dies like kill -9 (with the engine in its process: the engine too) while
    a resting order trades through another gateway's sells; after the restart the client's
    resend gets both fills, nothing twice."""
    async with stack_factory(cancel_on_disconnect=False) as stack:
        if not engine_in_gateway:
            await stack.start_engine()
        await stack.start_gateway(engine_in_gateway=engine_in_gateway)
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a1", "1", "0.5", "60000"))
        new = await report(alpha)
        last_seen = int(s(new, 34))

        await stack.crash_gateway()
        # While the gateway is down, the resting order trades twice (another gateway's sells).
        await _sell_from_elsewhere(stack, 7_001, 2_000_000, 6_000_000)  # 0.02 BTC at 60000.00
        await _sell_from_elsewhere(stack, 7_002, 3_000_000, 6_000_000)  # 0.03 BTC
        await asyncio.sleep(0.3)

        # Replays the event stream; with the engine in it, its engine then answers the two
        # sells. Either way the two fills for ALPHA are stored before ALPHA is back.
        gateway = await stack.start_gateway(engine_in_gateway=engine_in_gateway)
        commands = await stack.bus.last_seq(StreamKind.COMMANDS)
        await until(lambda: gateway._answered >= commands, timeout=5)
        assert gateway._answered >= commands
        await alpha.close()
        logon = await alpha.connect("127.0.0.1", stack.port, reset=False)
        assert int(s(logon, 34)) > last_seen + 1  # a gap: the fills are waiting
        alpha.send("2", [(7, last_seen + 1), (16, 0)])
        # The store was abandoned (no final flush), so the restarted gateway skipped its
        # sequence ahead: numbers it may have used are gap-filled, never reused.
        answer: list[FixMessage] = []
        while not answer or s(answer[-1], 36) != str(int(s(logon, 34)) + 1):
            answer.append(await alpha.next(timeout=10))
        replayed = [m for m in answer if s(m, 35) == "8"]
        assert [(s(m, 150), s(m, 43), s(m, 32)) for m in replayed] == [("F", "Y", "0.02"), ("F", "Y", "0.03")]
        assert s(replayed[-1], 14) == "0.05" and s(replayed[-1], 151) == "0.45"
        assert all((s(m, 35), s(m, 123)) == ("4", "Y") for m in answer if s(m, 35) != "8")
        assert int(s(logon, 34)) > last_seen + 100_000  # skipped ahead after the unclean stop

        # Nothing is sent twice, and a ClOrdID stays used across the restart.
        alpha.send("D", nos("a1", "1", "0.1", "60000"))
        dup = await report(alpha)
        assert (s(dup, 39), s(dup, 103)) == ("8", "6")
        with pytest.raises(TimeoutError):
            await alpha.next(timeout=0.5)


@pytest.mark.parametrize("engine_in_gateway", [False, True], ids=["engine-service", "engine-in-gateway"])
async def test_nats_restart_gateway_and_engine_reconnect_by_themselves(
    stack_factory: Callable[..., Any], tmp_path: Path, engine_in_gateway: bool
) -> None:
    from venue.embedded import EmbeddedNats, free_port

    nats = EmbeddedNats(tmp_path / "own-nats", free_port())
    nats.start()
    try:
        async with stack_factory(nats_url=nats.url) as stack:
            if not engine_in_gateway:
                await stack.start_engine()
            await stack.start_gateway(engine_in_gateway=engine_in_gateway)
            alpha = await stack.client("ALPHA")
            beta = await stack.client("BETA")
            alpha.send("D", nos("a1", "1", "0.1", "60000"))
            assert s(await report(alpha), 150) == "0"

            nats.stop()
            await asyncio.sleep(1.0)
            nats.start()

            # Orders sent right after the restart are acknowledged once the clients'
            # reconnect lands: nothing to do by hand.
            beta.send("D", nos("b1", "2", "0.1", "60000"))
            got = [await report(beta, timeout=30), await report(beta, timeout=30)]
            assert [s(m, 150) for m in got] == ["0", "F"]
            fill = await report(alpha, timeout=30)
            assert (s(fill, 150), s(fill, 39)) == ("F", "2")
    finally:
        nats.stop()


@pytest.mark.parametrize("engine_in_gateway", [False, True], ids=["engine-service", "engine-in-gateway"])
@pytest.mark.parametrize("kill_after_s", [0.0, 0.003, 0.02])
async def test_nats_killed_mid_load_every_order_is_acknowledged_once(
    stack_factory: Callable[..., Any], tmp_path: Path, kill_after_s: float, engine_in_gateway: bool
) -> None:
    """NATS (file storage) is killed (-9) while a burst of orders is on its way into the
    command log and its answers are on their way out: command appends and event publishes
    whose acknowledgements die with the connection. The gateway appends the lost ones again
    (the same message ids: stored once) and the engine carries on or stops and recovers, as
    its supervisor would start it (with the engine in the gateway, the gateway makes it
    again itself): every order gets exactly one acknowledgement, soon after NATS is back,
    not after some timeout."""
    from venue.bus.protocol import WrongLastSequence
    from venue.embedded import EmbeddedNats, free_port

    nats = EmbeddedNats(tmp_path / "own-nats", free_port())
    nats.start()
    restarts = 0
    try:
        async with stack_factory(nats_url=nats.url) as stack:

            async def supervise() -> None:
                nonlocal restarts
                while True:
                    store = SnapshotStore(stack.tmp / "snapshots", keep=2)
                    stack.engine = EngineService(stack.bus, store, stack.config.engine)
                    try:
                        await stack.engine.run()
                    except (WrongLastSequence, TimeoutError, ConnectionError) as exc:
                        restarts += 1
                        print(f"engine stopped: {exc!r}; starting it again")
                        await asyncio.sleep(0.2)

            if not engine_in_gateway:
                stack.tasks["engine"] = asyncio.create_task(supervise())
            await stack.start_gateway(engine_in_gateway=engine_in_gateway)
            alpha = await stack.client("ALPHA")
            alpha.send("D", nos("a0", "1", "0.001", "58000"))
            first = await report(alpha)
            assert s(first, 150) == "0", s(first, 58)

            n = 300
            for i in range(1, n + 1):
                alpha.send("D", nos(f"a{i}", "1", "0.001", str(58000 - i)))
                if i % 20 == 0:
                    await asyncio.sleep(0.001)
                if i == n // 2:
                    await asyncio.sleep(kill_after_s)
                    os.kill(nats.pid or 0, signal.SIGKILL)
                    nats.stop()
                    killed = asyncio.get_running_loop().time()
                    await asyncio.sleep(0.5)
                    nats.start()
            acks: dict[str, int] = {}
            last = killed
            while len(acks) < n:
                m = await report(alpha, timeout=30)
                assert s(m, 150) == "0", (s(m, 58), s(m, 11))
                acks[s(m, 11)] = acks.get(s(m, 11), 0) + 1
                last = asyncio.get_running_loop().time()
            with pytest.raises(TimeoutError):
                await alpha.next(timeout=1.0)
            assert acks == {f"a{i}": 1 for i in range(1, n + 1)}
            # ... and in the order they were sent: the engine took them in the session's order
            assert list(acks) == [f"a{i}" for i in range(1, n + 1)]
            print(f"engine restarts: {restarts}; last acknowledgement {last - killed:.2f} s after the kill")
            # Back soon: NATS is down 0.5 s, the clients reconnect every 0.5 s.
            assert last - killed < 5.0
    finally:
        nats.stop()


def _engine_process(stack: Any, data_dir: Path) -> subprocess.Popen[bytes]:
    cfg = data_dir / "engine.toml"
    b = stack.config.bus
    cfg.write_text(
        f'[venue]\ndata_dir = "{data_dir}"\n[bus]\ncommand_stream = "{b.command_stream}"\n'
        f'event_stream = "{b.event_stream}"\nsubject_prefix = "{b.subject_prefix}"\n'
        "[engine]\nsnapshot_every = 150\n[metrics]\nport = 0\n"
    )
    env = dict(os.environ, VENUE_NATS_URL=stack.nats_url, VENUE_METRICS_PORT="0")
    log = open(data_dir / "engine.log", "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "venue.service", "engine", "--config", str(cfg)], env=env, stdout=log, stderr=log)


async def test_engine_kill_9_mid_load_loses_nothing_and_replays_exactly(
    stack_factory: Callable[..., Any], tmp_path: Path
) -> None:
    async with stack_factory(cancel_on_disconnect=False) as stack:
        data_dir = tmp_path / "engine"
        data_dir.mkdir()
        engine = _engine_process(stack, data_dir)
        try:
            await stack.start_gateway()
            alpha = await stack.client("ALPHA")
            beta = await stack.client("BETA")
            n = 400
            first: dict[str, list[str]] = {}
            exec_ids: list[str] = []

            def filled(prefix: str) -> int:
                return sum(v.count("F") for k, v in first.items() if k.startswith(prefix))

            async def collect(client: FixClient, prefix: str) -> None:
                while filled(prefix) < n:
                    msg = await client.next(timeout=60)
                    if msg.msg_type == b"8":
                        exec_ids.append(s(msg, 17))
                        first.setdefault(s(msg, 11), []).append(s(msg, 150))

            collectors = [asyncio.create_task(collect(alpha, "a")), asyncio.create_task(collect(beta, "b"))]
            for i in range(n):
                alpha.send("D", nos(f"a{i}", "1", "0.001", "60000"))
                beta.send("D", nos(f"b{i}", "2", "0.001", "60000"))
                if i % 20 == 0:
                    await asyncio.sleep(0.01)
                if i == n // 3:
                    engine.send_signal(signal.SIGKILL)  # mid-load, acks in flight
                    engine.wait()
                    engine = _engine_process(stack, data_dir)
            await asyncio.wait_for(asyncio.gather(*collectors), 90)

            # Every order acknowledged exactly once; no execution reported twice.
            assert len(first) == 2 * n
            assert all(states.count("0") == 1 for states in first.values()), "an order acknowledged twice"
            assert len(exec_ids) == len(set(exec_ids)), "an ExecID was sent twice"
            fills = sum(states.count("F") for states in first.values())
            assert fills == 2 * n  # every buy met its sell, across the crash
        finally:
            engine.send_signal(signal.SIGTERM)  # a clean stop writes a final snapshot
            engine.wait(30)

        snap = SnapshotStore(data_dir / "snapshots").latest()
        assert snap is not None
        assert await replayed_state_hash(stack.bus, snap.seq) == snap.state_hash, (
            "restored + replayed state differs from a clean replay"
        )


async def test_postgres_outage_trading_goes_on_and_the_writer_catches_up(
    stack_factory: Callable[..., Any], database_url: str
) -> None:
    """The database goes away (VENUE_TEST_OUTAGE_S seconds, default 3; 60 for the full
    minute): orders and fills keep flowing; afterwards the FIX message store and the
    persistence writer catch up, with every trade written exactly once."""
    from persistence.writer import Writer, WriterSettings
    from tests.support.faultproxy import proxy_for

    outage = float(os.environ.get("VENUE_TEST_OUTAGE_S", "3"))
    proxy, proxied = await proxy_for(database_url)
    try:
        async with stack_factory(db_url=proxied, cancel_on_disconnect=False) as stack:
            await stack.start_engine()
            await stack.start_gateway()
            name = f"outage-{stack.config.bus.event_stream}"
            writer = Writer(stack.bus, proxied, WriterSettings(name=name, retry_max_s=1.0))
            writer_task = asyncio.create_task(writer.run())
            alpha = await stack.client("ALPHA")
            beta = await stack.client("BETA")

            proxy.cut()
            trades = 0
            deadline = asyncio.get_running_loop().time() + outage
            while asyncio.get_running_loop().time() < deadline:
                alpha.send("D", nos(f"a{trades}", "1", "0.001", "60000"))
                beta.send("D", nos(f"b{trades}", "2", "0.001", "60000"))
                assert s(await report(alpha), 150) == "0"
                b = [s(await report(beta), 150), s(await report(beta), 150)]
                assert b == ["0", "F"], "trading stopped while the database was away"
                assert s(await report(alpha), 150) == "F"
                trades += 1
                await asyncio.sleep(0.05)
            assert trades > 0 and proxy.refused + 1 > 0
            proxy.restore()

            written = 0
            for _ in range(200):
                async with stack.pool.acquire() as conn:
                    written = await conn.fetchval(
                        "SELECT count(*) FROM trades t JOIN orders o ON o.order_id = t.taker_order_id"
                        " WHERE o.cl_ord_id LIKE 'b%' AND t.evt_seq > 0 AND o.session LIKE '%BETA'"
                    )
                if written >= trades:
                    break
                await asyncio.sleep(0.1)
            assert written == trades  # every trade, once
            gw = stack.gateway
            assert gw is not None
            store = gw.acceptor.sessions["FIX.4.4:VENUE->ALPHA"].store
            await store.flush()  # the FIX store wrote what piled up during the outage
            writer_task.cancel()
    finally:
        await proxy.stop()


async def test_resend_beyond_the_store_memory_is_read_back_from_postgres(stack_factory: Callable[..., Any]) -> None:
    """The PostgreSQL store holds only the newest messages in memory (here 2): a
    ResendRequest from the start gets every ExecutionReport anyway, in order, as PossDups,
    the older ones read back from the database while the session waits."""
    async with stack_factory(cancel_on_disconnect=False) as stack:
        await stack.start_engine()
        await stack.start_gateway(store_memory_messages=2)
        alpha = await stack.client("ALPHA")
        firsts = []
        for i in range(6):
            alpha.send("D", nos(f"aw{i}", "1", "0.01", str(59_900 + i)))
            firsts.append(await report(alpha))
        assert [s(m, 150) for m in firsts] == ["0"] * 6, [m.get(58) for m in firsts]
        await asyncio.sleep(0.3)  # the store flushes and drops all but the newest 2 from memory
        assert stack.gateway is not None
        store = stack.gateway.acceptor.sessions["FIX.4.4:VENUE->ALPHA"].store
        assert store.first_held() > int(s(firsts[0], 34))

        alpha.send("2", [(7, 2), (16, 0)])
        again = [await alpha.next(timeout=10) for _ in firsts]
        assert [(s(m, 35), s(m, 43), s(m, 11), s(m, 34)) for m in again] == [
            ("8", "Y", s(m, 11), s(m, 34)) for m in firsts
        ]
        alpha.send("1", [(112, "still-here")])  # the session goes on normally afterwards
        hb = await alpha.next(timeout=5, skip_admin=False)
        assert (s(hb, 35), s(hb, 112)) == ("0", "still-here")
