"""Interoperability with an independent FIX engine: a QuickFIX initiator (the ``quickfix``
package, FileStore) against our acceptor.

The second test restarts the gateway between two connections: the new acceptor loads the
session from PostgreSQL (PostgresMessageStore) and must carry on with the same sequence
numbers and answer QuickFIX's ResendRequest from what the first one persisted.

One session, sequence numbers kept across connections (no reset), messages both ways:
QuickFIX sends NewOrderSingles and gets the echoes; our side pushes ExecutionReports with
``Acceptor.send``. Then a TCP fault proxy between the two black-holes what our side sends
and drops the connection; QuickFIX reconnects, sees our Logon's MsgSeqNum above what it
expected, sends a ResendRequest and receives the lost ExecutionReports as PossDup replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

fix: Any = pytest.importorskip("quickfix")

from certification.profile import EchoApplication  # noqa: E402
from fix_gateway.acceptor import Acceptor  # noqa: E402
from fix_gateway.config import FIX44, SessionConfig  # noqa: E402
from fix_gateway.stores.memory import memory_store_factory  # noqa: E402
from fix_gateway.stores.postgres import MEMORY_LIMIT, postgres_store_factory  # noqa: E402

pytestmark = pytest.mark.interop

CLIENT = "QFCLIENT"
SESSION = SessionConfig(begin_string=FIX44, sender_comp_id="ISLD", target_comp_id=CLIENT)


class Recorder(fix.Application):  # type: ignore[misc]
    """QuickFIX application recording what it sees (called on QuickFIX's threads)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.session_id: Any = None
        self.logons = 0
        self.logouts = 0
        self.app_in: list[tuple[str, dict[int, str]]] = []
        self.admin_out: list[str] = []
        self.admin_in: list[str] = []

    def onCreate(self, session_id: Any) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: Any) -> None:
        with self.lock:
            self.logons += 1

    def onLogout(self, session_id: Any) -> None:
        with self.lock:
            self.logouts += 1

    def toAdmin(self, message: Any, session_id: Any) -> None:
        with self.lock:
            self.admin_out.append(message.toString().replace("\x01", "|"))

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        with self.lock:
            self.admin_in.append(message.toString().replace("\x01", "|"))

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        header = message.getHeader()
        fields = {tag: message.getField(tag) for tag in (11, 17, 37, 55) if message.isSetField(tag)}
        for tag in (34, 43, 122):
            if header.isSetField(tag):
                fields[tag] = header.getField(tag)
        with self.lock:
            self.app_in.append((header.getField(35), fields))

    def received(self, msg_type: str, tag: int) -> list[dict[int, str]]:
        with self.lock:
            return [f for t, f in self.app_in if t == msg_type and tag in f]


class FaultProxy:
    """TCP proxy; ``blackhole`` discards venue->client bytes, ``drop`` aborts everything."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.blackhole = False
        self.links: list[asyncio.Transport] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # nobody listening (gateway restarting): refuse like a dead host
            cwriter.transport.abort()
            return
        self.links += [cwriter.transport, uwriter.transport]  # type: ignore[list-item]

        async def pipe(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_venue: bool
        ) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    if from_venue and self.blackhole:
                        continue
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(creader, uwriter, False), pipe(ureader, cwriter, True))

    def drop(self) -> None:
        for transport in self.links:
            transport.abort()
        self.links.clear()
        self.blackhole = False

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def initiator_settings(tmp_path: Path, port: int) -> Any:
    # the quickfix wheel installs its dictionaries under <prefix>/share/quickfix
    spec = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
    cfg = tmp_path / "initiator.cfg"
    cfg.write_text(
        f"""[DEFAULT]
ConnectionType=initiator
ReconnectInterval=1
FileStorePath={tmp_path / "store"}
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
DataDictionary={spec}

[SESSION]
BeginString=FIX.4.4
SenderCompID={CLIENT}
TargetCompID=ISLD
SocketConnectHost=127.0.0.1
SocketConnectPort={port}
HeartBtInt=30
ResetOnLogon=N
"""
    )
    return fix.SessionSettings(str(cfg))


@pytest.fixture
async def acceptor() -> AsyncIterator[Acceptor]:
    acc = Acceptor([SESSION], EchoApplication(), memory_store_factory())
    await acc.start("127.0.0.1", 0)
    try:
        yield acc
    finally:
        await acc.stop()


def new_order(cl_ord_id: str) -> Any:
    msg = fix.Message()
    msg.getHeader().setField(fix.BeginString("FIX.4.4"))
    msg.getHeader().setField(fix.MsgType("D"))
    msg.setField(fix.ClOrdID(cl_ord_id))
    msg.setField(fix.HandlInst("1"))
    msg.setField(fix.Symbol("INTC"))
    msg.setField(fix.Side(fix.Side_BUY))
    msg.setField(fix.TransactTime())
    msg.setField(fix.OrderQty(100))
    msg.setField(fix.OrdType(fix.OrdType_MARKET))
    return msg


def execution_report(exec_id: str) -> list[tuple[int, str]]:
    return [
        (6, "0"),
        (14, "0"),
        (17, exec_id),
        (37, "ORD-" + exec_id),
        (39, "0"),
        (54, "1"),
        (55, "INTC"),
        (150, "0"),
        (151, "100"),
    ]


async def test_quickfix_initiator_round_trip_disconnect_and_resend(
    acceptor: Acceptor, tmp_path: Path
) -> None:
    proxy = FaultProxy(acceptor.port)
    proxy_port = await proxy.start()
    app = Recorder()
    settings = initiator_settings(tmp_path, proxy_port)
    initiator = fix.SocketInitiator(
        app, fix.FileStoreFactory(settings), settings, fix.ScreenLogFactory(False, False, False)
    )
    initiator.start()
    try:
        sid = SESSION.session_id
        await wait_for(lambda: app.logons == 1 and sid in acceptor.logged_on, "logon")

        # QuickFIX -> venue: orders, echoed back
        for n in range(5):
            assert fix.Session.sendToTarget(new_order(f"QF-{n}"), app.session_id)
        await wait_for(lambda: len(app.received("D", 11)) == 5, "5 echoed orders")
        assert [f[11] for f in app.received("D", 11)] == [f"QF-{n}" for n in range(5)]

        # venue -> QuickFIX: unsolicited application message
        assert acceptor.send(sid, "8", execution_report("E0"))
        await wait_for(lambda: len(app.received("8", 17)) == 1, "unsolicited ExecutionReport")

        # lose what the venue sends next, then drop the connection
        proxy.blackhole = True
        for n in (1, 2, 3):
            assert acceptor.send(sid, "8", execution_report(f"E{n}"))
        await asyncio.sleep(0.3)  # let the bytes reach the proxy (and vanish)
        assert len(app.received("8", 17)) == 1
        proxy.drop()

        # QuickFIX reconnects, notices the gap and asks for it; PossDup replays arrive
        await wait_for(lambda: app.logons == 2 and sid in acceptor.logged_on, "second logon")
        await wait_for(lambda: len(app.received("8", 17)) == 4, "the lost ExecutionReports")
        replays = [f for f in app.received("8", 17) if f[17] in ("E1", "E2", "E3")]
        assert [f[17] for f in replays] == ["E1", "E2", "E3"]
        assert all(f.get(43) == "Y" and 122 in f for f in replays), replays
        with app.lock:
            assert any("|35=2|" in m for m in app.admin_out), "QuickFIX sent no ResendRequest"

        # the session carries on in both directions after recovery
        assert fix.Session.sendToTarget(new_order("QF-after"), app.session_id)
        assert acceptor.send(sid, "8", execution_report("E4"))
        await wait_for(lambda: any(f[11] == "QF-after" for f in app.received("D", 11)), "echo")
        await wait_for(lambda: any(f[17] == "E4" for f in app.received("8", 17)), "E4")
        qf_session = fix.Session.lookupSession(app.session_id)
        store = acceptor.sessions[sid].store
        assert qf_session.getExpectedTargetNum() == store.next_sender_seq
        assert qf_session.getExpectedSenderNum() == store.next_target_seq
    finally:
        await asyncio.to_thread(initiator.stop)
        await proxy.stop()


# ------------------------------------------------------------------ restart on PostgreSQL


async def start_gateway(url: str, memory_limit: int = MEMORY_LIMIT) -> tuple[Acceptor, asyncpg.Pool]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    acc = Acceptor([SESSION], EchoApplication(), postgres_store_factory(pool, memory_limit=memory_limit))
    await acc.start("127.0.0.1", 0)
    return acc, pool


@pytest.mark.parametrize("memory_limit", [MEMORY_LIMIT, 1], ids=["all-in-memory", "one-in-memory"])
async def test_restarted_gateway_resumes_from_postgres(database_url: str, tmp_path: Path, memory_limit: int) -> None:
    """With ``one-in-memory`` the restarted gateway's store holds only its newest message:
    QuickFIX's ResendRequest reaches below it and is answered after the older ones are read
    back from PostgreSQL (LoadHeld)."""
    sid = SESSION.session_id
    conn = await asyncpg.connect(database_url)  # this QuickFIX starts a new sequence: so do we
    try:
        await conn.execute("DELETE FROM fix_message_blocks WHERE session_id = $1", sid)
        await conn.execute("DELETE FROM fix_session_state WHERE session_id = $1", sid)
    finally:
        await conn.close()
    first, first_pool = await start_gateway(database_url)
    proxy = FaultProxy(first.port)
    settings = initiator_settings(tmp_path, await proxy.start())
    app = Recorder()
    initiator = fix.SocketInitiator(
        app, fix.FileStoreFactory(settings), settings, fix.ScreenLogFactory(False, False, False)
    )
    second: Acceptor | None = None
    second_pool: asyncpg.Pool | None = None
    initiator.start()
    try:
        await wait_for(lambda: app.logons == 1 and sid in first.logged_on, "logon")
        for n in range(3):
            assert fix.Session.sendToTarget(new_order(f"PG-{n}"), app.session_id)
        await wait_for(lambda: len(app.received("D", 11)) == 3, "3 echoed orders")
        assert first.send(sid, "8", execution_report("P0"))
        await wait_for(lambda: len(app.received("8", 17)) == 1, "ExecutionReport P0")

        # two ExecutionReports never reach QuickFIX; then the gateway goes down
        proxy.blackhole = True
        assert first.send(sid, "8", execution_report("P1"))
        assert first.send(sid, "8", execution_report("P2"))
        await asyncio.sleep(0.3)
        # The gateway is "down" from here on: QuickFIX's reconnects must not reach it.
        from venue.embedded import free_port

        proxy.target_port = free_port()
        proxy.drop()
        sent_next = first.sessions[sid].store.next_sender_seq
        received_next = first.sessions[sid].store.next_target_seq
        await first.stop()  # closes the store: everything is flushed
        await first_pool.close()

        # a new gateway process: fresh memory, state from PostgreSQL only
        second, second_pool = await start_gateway(database_url, memory_limit)
        store = second.sessions[sid].store
        assert (store.first_held() > 1) == (memory_limit == 1)
        assert (store.next_sender_seq, store.next_target_seq) == (sent_next, received_next)
        assert [f for f in app.received("8", 17) if f[17] in ("P1", "P2")] == []
        proxy.target_port = second.port

        await wait_for(lambda: app.logons == 2 and sid in second.logged_on, "logon after restart")
        await wait_for(lambda: len(app.received("8", 17)) == 3, "replayed ExecutionReports")
        replays = [f for f in app.received("8", 17) if f[17] in ("P1", "P2")]
        assert [f[17] for f in replays] == ["P1", "P2"]
        assert all(f.get(43) == "Y" and 122 in f for f in replays), replays
        with app.lock:
            resend_requests = [m for m in app.admin_in if "|35=2|" in m]
        # A ResendRequest from the new gateway may only ask for what QuickFIX sent after the
        # restart began (a reconnect attempt during the restart spends a Logon seq); one
        # starting below what the first gateway had received would mean lost state.
        begins = [int(m.split("|7=")[1].split("|")[0]) for m in resend_requests]
        assert all(b >= received_next for b in begins), resend_requests

        assert fix.Session.sendToTarget(new_order("PG-after"), app.session_id)
        await wait_for(lambda: any(f[11] == "PG-after" for f in app.received("D", 11)), "echo")
        qf_session = fix.Session.lookupSession(app.session_id)
        assert qf_session.getExpectedTargetNum() == store.next_sender_seq
        assert qf_session.getExpectedSenderNum() == store.next_target_seq
    finally:
        await asyncio.to_thread(initiator.stop)
        await proxy.stop()
        if second is not None:
            await second.stop()
        if second_pool is not None:
            await second_pool.close()
