"""The asyncio acceptor over real loopback sockets: routing, adversity, isolation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from certification.profile import EchoApplication, certification_sessions
from fix_gateway.acceptor import Acceptor
from fix_gateway.codec import FixMessage, Framer, encode, parse
from fix_gateway.config import AcceptorConfig
from fix_gateway.session.times import format_utc
from fix_gateway.stores.memory import memory_store_factory

NOS = [(11, "ID"), (21, "3"), (40, "1"), (54, "1"), (55, "INTC"), (60, "20261122-00:00:00")]


def msg(
    msg_type: str,
    seq: int,
    body: Sequence[tuple[int, object]] = (),
    sender: str = "TW44",
    begin: str = "FIX.4.4",
) -> bytes:
    hdr = [(34, seq), (49, sender), (52, format_utc(time.time_ns())), (56, "ISLD")]
    return encode(begin, msg_type, [*hdr, *body])  # type: ignore[list-item]


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()

    @classmethod
    async def connect(cls, port: int) -> Client:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = 3.0) -> FixMessage | None:
        """Next message, or None when the venue closed the connection."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            frame = self.framer.next_frame()
            if frame is not None:
                return parse(frame)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no message")
            data = await asyncio.wait_for(self.reader.read(65536), left)
            if not data:
                return None
            self.framer.feed(data)

    async def closed(self, timeout: float = 3.0) -> bool:
        try:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
        except (TimeoutError, ConnectionError):
            return False
        return data == b""

    async def logon(self, sender: str = "TW44", begin: str = "FIX.4.4") -> FixMessage | None:
        body: list[tuple[int, object]] = [(98, 0), (108, 30)]
        if begin == "FIXT.1.1":
            body.append((1137, "9"))
        await self.send(msg("A", 1, body, sender=sender, begin=begin))
        return await self.recv()

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def acceptor() -> AsyncIterator[Acceptor]:
    acc = Acceptor(
        certification_sessions(),
        EchoApplication(),
        memory_store_factory(),
        config=AcceptorConfig(idle_timeout=0.5, timer_interval=0.05),
    )
    await acc.start("127.0.0.1", 0)
    yield acc
    await acc.stop()


async def test_logon_and_echo(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    reply = await c.logon()
    assert reply is not None and reply.msg_type == b"A"
    await c.send(msg("D", 2, NOS))  # type: ignore[arg-type]
    echo = await c.recv()
    assert echo is not None and echo.msg_type == b"D" and echo.get(11) == b"ID"
    assert "FIX.4.4:ISLD->TW44" in acceptor.logged_on
    c.close()


async def test_fixt_session_on_the_same_port(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    reply = await c.logon(sender="TW50SP2", begin="FIXT.1.1")
    assert reply is not None and reply.get(1137) == b"9"
    c.close()


async def test_unknown_comp_id_closed_without_a_byte(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    await c.send(msg("A", 1, [(98, 0), (108, 30)], sender="NOBODY"))
    assert await c.closed()


async def test_second_logon_for_live_session_is_refused_first_unaffected(
    acceptor: Acceptor,
) -> None:
    first = await Client.connect(acceptor.port)
    assert (await first.logon()) is not None
    second = await Client.connect(acceptor.port)
    await second.send(msg("A", 1, [(98, 0), (108, 30)]))
    assert await second.closed()
    await first.send(msg("1", 2, [(112, "STILL")]))
    hb = await first.recv()
    assert hb is not None and hb.get(112) == b"STILL"
    first.close()


async def test_garbage_before_logon_then_idle_timeout(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    await c.send(b"\x00\xffGET / HTTP/1.1\r\n\r\n" * 100)
    assert await c.closed(timeout=2.0)


async def test_garbage_and_truncated_and_huge_body_length_mid_session(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    assert (await c.logon()) is not None
    await c.send(b"junk\x01\x02\x03" * 50)
    await c.send(b"8=FIX.4.4\x019=999999999\x0135=0\x01")
    good = msg("1", 2, [(112, "A")])
    await c.send(good[: good.index(b"\x0152=") + 1])  # truncated at a field boundary
    await c.send(msg("1", 2, [(112, "B")]))
    hb = await c.recv()
    assert hb is not None and hb.msg_type == b"0" and hb.get(112) == b"B"
    # truncated mid-field: the next message is swallowed with it (garbled, dropped) and
    # the one after reveals the gap
    await c.send(good[:30])
    await c.send(msg("1", 3, [(112, "C")]))
    await c.send(msg("1", 4, [(112, "D")]))
    rr = await c.recv()
    assert rr is not None and rr.msg_type == b"2" and rr.get(7) == b"3"
    c.close()


async def test_slow_loris_logon_is_closed_after_idle_timeout(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    logon = msg("A", 1, [(98, 0), (108, 30)])
    t0 = time.monotonic()
    closed = False
    for byte in logon[:-10]:
        try:
            await c.send(bytes([byte]))
        except ConnectionError:
            closed = True
            break
        await asyncio.sleep(0.02)
        if c.reader.at_eof():
            closed = True
            break
    assert closed or await c.closed(2.0)
    assert time.monotonic() - t0 < 3.0


async def test_many_idle_connections_are_closed_and_others_unaffected(acceptor: Acceptor) -> None:
    idle = [await Client.connect(acceptor.port) for _ in range(200)]
    c = await Client.connect(acceptor.port)
    assert (await c.logon()) is not None
    t0 = time.monotonic()
    for i in range(20):
        await c.send(msg("1", 2 + i, [(112, str(i))]))
        hb = await c.recv()
        assert hb is not None and hb.get(112) == str(i).encode()
    assert time.monotonic() - t0 < 2.0
    results = await asyncio.gather(*(cl.closed(3.0) for cl in idle))
    assert all(results)
    assert len(acceptor.connections) == 1
    # the logged-on session survived the idle purge
    await c.send(msg("1", 22, [(112, "AFTER")]))
    hb = await c.recv()
    assert hb is not None and hb.get(112) == b"AFTER"
    c.close()


async def test_push_to_a_logged_on_session(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    assert (await c.logon()) is not None
    assert acceptor.send("FIX.4.4:ISLD->TW44", "8", [(37, "O1"), (17, "E1")])
    er = await c.recv()
    assert er is not None and er.msg_type == b"8" and er.get(17) == b"E1"
    assert not acceptor.send("FIXT.1.1:ISLD->TW50SP2", "8", [(37, "O1")])
    c.close()


async def test_authenticator_rejects_and_accepts() -> None:
    calls: list[tuple[str, str | None, str | None]] = []

    async def auth(session_id: str, username: str | None, password: str | None) -> bool:
        calls.append((session_id, username, password))
        await asyncio.sleep(0)
        return password == "secret"

    acc = Acceptor(
        certification_sessions(username_required=True, password_required=True),
        EchoApplication(),
        memory_store_factory(),
        authenticator=auth,
        config=AcceptorConfig(idle_timeout=1.0, timer_interval=0.05),
    )
    await acc.start("127.0.0.1", 0)
    try:
        c = await Client.connect(acc.port)
        await c.send(msg("A", 1, [(98, 0), (108, 30), (553, "u"), (554, "wrong")]))
        logout = await c.recv()
        assert logout is not None and logout.msg_type == b"5"
        assert await c.recv() is None
        c2 = await Client.connect(acc.port)
        await c2.send(msg("A", 1, [(98, 0), (108, 30), (553, "u"), (554, "secret")]))
        reply = await c2.recv()
        assert reply is not None and reply.msg_type == b"A"
        c3 = await Client.connect(acc.port)
        await c3.send(msg("A", 1, [(98, 0), (108, 30)], sender="TW50SP2", begin="FIXT.1.1"))
        assert await c3.closed()  # FIXT logon without 1137
        assert calls[0] == ("FIX.4.4:ISLD->TW44", "u", "wrong")
        c2.close()
    finally:
        await acc.stop()


async def test_session_can_log_on_again_after_disconnect(acceptor: Acceptor) -> None:
    c = await Client.connect(acceptor.port)
    assert (await c.logon()) is not None
    await c.send(msg("5", 2))
    out = await c.recv()
    assert out is not None and out.msg_type == b"5"
    assert await c.recv() is None
    await asyncio.sleep(0.05)
    c2 = await Client.connect(acceptor.port)
    reply = await c2.logon()
    assert reply is not None and reply.msg_type == b"A" and reply.get(34) == b"1"
    c2.close()


async def test_messages_pipelined_behind_a_logon_wait_for_async_auth() -> None:
    async def slow_auth(session_id: str, username: str | None, password: str | None) -> bool:
        await asyncio.sleep(0.2)
        return True

    acc = Acceptor(
        certification_sessions(password_required=True),
        EchoApplication(),
        memory_store_factory(),
        authenticator=slow_auth,
        config=AcceptorConfig(idle_timeout=2.0, timer_interval=0.05),
    )
    await acc.start("127.0.0.1", 0)
    try:
        c = await Client.connect(acc.port)
        logon = msg("A", 1, [(98, 0), (108, 30), (554, "pw")])
        await c.send(logon + msg("1", 2, [(112, "PIPELINED")]))
        reply = await c.recv()
        hb = await c.recv()
        assert reply is not None and reply.msg_type == b"A"
        assert hb is not None and hb.get(112) == b"PIPELINED"
        c.close()
    finally:
        await acc.stop()


async def test_tls(tmp_path: Path) -> None:
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    client_ctx.check_hostname = False
    acc = Acceptor(
        certification_sessions(), EchoApplication(), memory_store_factory(), ssl_context=server_ctx
    )
    await acc.start("127.0.0.1", 0)
    try:
        r, w = await asyncio.open_connection("127.0.0.1", acc.port, ssl=client_ctx)
        c = Client(r, w)
        reply = await c.logon()
        assert reply is not None and reply.msg_type == b"A"
        c.close()
    finally:
        await acc.stop()


async def test_connections_beyond_the_limit_are_closed_on_accept() -> None:
    acc = Acceptor(
        certification_sessions(),
        EchoApplication(),
        memory_store_factory(),
        config=AcceptorConfig(max_connections=2, idle_timeout=5.0),
    )
    await acc.start("127.0.0.1", 0)
    try:
        a = await Client.connect(acc.port)
        b = await Client.connect(acc.port)
        c = await Client.connect(acc.port)
        assert await c.closed(2.0)
        reply = await a.logon()
        assert reply is not None and reply.msg_type == b"A"
        a.close()
        b.close()
    finally:
        await acc.stop()
