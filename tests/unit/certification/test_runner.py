"""The runner against a small scripted fake venue: pass, mismatch, timeout, disconnects,
byte-exact garbled sends, several connections and the CLI summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from certification.defscript import finalize, split_fields
from certification.runner import _Connection, main, run_script

Respond = Callable[[bytes], list[bytes] | None]


def m(text: str) -> bytes:
    return text.replace("|", "\x01").encode()


def logon_reply(frame: bytes, heartbeat: bytes | None = None) -> list[bytes]:
    fields = dict(split_fields(frame))
    hb = heartbeat or fields[b"108"]
    reply = b"8=FIX.4.4\x0135=A\x0134=1\x0149=ISLD\x0152=20240101-00:00:00.000\x01"
    reply += b"56=" + fields[b"49"] + b"\x0198=0\x01108=" + hb + b"\x01"
    return [finalize(reply)]


class FakeVenue:
    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.received: list[bytes] = []
        self.raw = b""
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(reader, writer)
        try:
            while True:
                frame = await conn.read_message(30)
                self.received.append(frame)
                replies = self.respond(frame)
                if replies is None:
                    break
                for reply in replies:
                    writer.write(reply)
                await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()


@pytest.fixture
async def venue_factory() -> AsyncIterator[Callable[[Respond], asyncio.Future[FakeVenue]]]:
    servers: list[asyncio.Server] = []

    async def start(respond: Respond) -> FakeVenue:
        venue = FakeVenue(respond)
        server = await asyncio.start_server(venue.handle, "127.0.0.1", 0)
        servers.append(server)
        venue.port = server.sockets[0].getsockname()[1]
        return venue

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()
        await server.wait_closed()


def script(tmp_path: Path, text: str, name: str = "case.def") -> Path:
    path = tmp_path / name
    path.write_bytes(m(text))
    return path


LOGON = "I8=FIX.4.4|35=A|34=1|49=TW|52=<TIME>|56=ISLD|98=0|108=30|\n"
LOGON_REPLY = "E8=FIX.4.4|35=A|34=1|49=ISLD|52=<TIME>|56=TW|98=0|108=30|\n"


async def test_passing_script(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(logon_reply)
    path = script(tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY + "iDISCONNECT\n")
    result = await run_script(path, "127.0.0.1", venue.port, close_wait=0.2)
    assert result.passed, result.failure
    assert result.name == "case"


async def test_mismatch_reports_line_expected_and_received(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(lambda f: logon_reply(f, heartbeat=b"31"))
    path = script(tmp_path, "# header\niCONNECT\n" + LOGON + LOGON_REPLY)
    result = await run_script(path, "127.0.0.1", venue.port)
    assert result.failure is not None
    assert result.failure.line == 4
    assert "field 108" in result.failure.reason
    assert "108=30" in result.failure.expected and "108=31" in result.failure.received


async def test_silent_venue_fails_after_the_timeout(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(lambda f: [])
    path = script(tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY)
    started = asyncio.get_running_loop().time()
    result = await run_script(path, "127.0.0.1", venue.port, timeout=0.3)
    assert result.failure is not None and "no message within 0.3 s" in result.failure.reason
    assert asyncio.get_running_loop().time() - started < 3


async def test_expect_disconnect(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(lambda f: None)  # closes on the first message
    path = script(tmp_path, "iCONNECT\n" + LOGON + "eDISCONNECT\n")
    assert (await run_script(path, "127.0.0.1", venue.port, timeout=2)).passed

    chatty = await venue_factory(logon_reply)
    result = await run_script(path, "127.0.0.1", chatty.port, timeout=2)
    assert result.failure is not None and "venue sent more" in result.failure.reason

    silent = await venue_factory(lambda f: [])
    result = await run_script(path, "127.0.0.1", silent.port, timeout=0.3)
    assert result.failure is not None and "did not disconnect" in result.failure.reason


async def test_closed_connection_while_expecting(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(lambda f: None)
    path = script(tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY)
    result = await run_script(path, "127.0.0.1", venue.port, timeout=2)
    assert result.failure is not None and "closed the connection" in result.failure.reason


async def test_garbled_venue_output_is_a_failure(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def bad_checksum(frame: bytes) -> list[bytes]:
        (reply,) = logon_reply(frame)
        return [
            reply[:-4] + b"000\x01" if not reply.endswith(b"000\x01") else reply[:-4] + b"001\x01"
        ]

    venue = await venue_factory(bad_checksum)
    path = script(tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY)
    result = await run_script(path, "127.0.0.1", venue.port, timeout=2)
    assert result.failure is not None and "CheckSum" in result.failure.reason


async def test_lines_with_length_and_checksum_are_sent_as_written(
    venue_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(lambda f: [])
    garbled = "I8=FIX.4.4|9=12|35=0|34=2|49=TW|56=ISLD|10=256|\n"
    path = script(tmp_path, "iCONNECT\n" + garbled + "iDISCONNECT\n")
    assert (await run_script(path, "127.0.0.1", venue.port, close_wait=0.5)).passed
    await asyncio.sleep(0.05)
    assert b"".join(venue.received) == m(garbled[1:-1])


async def test_several_connections(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(logon_reply)
    text = (
        "i1,CONNECT\ni2,CONNECT\n"
        + LOGON.replace("I8", "I2,8")
        + LOGON_REPLY.replace("E8", "E2,8")
        + LOGON.replace("I8", "I1,8")
        + LOGON_REPLY.replace("E8", "E1,8")
        + "i1,DISCONNECT\ni2,DISCONNECT\n"
    )
    result = await run_script(script(tmp_path, text), "127.0.0.1", venue.port, close_wait=0.2)
    assert result.passed, result.failure


async def test_unknown_connection_is_a_failure(venue_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venue = await venue_factory(logon_reply)
    result = await run_script(
        script(tmp_path, "iCONNECT\nI3,8=FIX.4.4|35=0|\n"), "127.0.0.1", venue.port
    )
    assert result.failure is not None and "connection 3 is not open" in result.failure.reason


def test_cli_prints_one_line_per_script_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def serve_and_run() -> int:
        venue = FakeVenue(logon_reply)
        server = await asyncio.start_server(venue.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        good = script(tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY + "iDISCONNECT\n", "1a_Good.def")
        bad = script(
            tmp_path, "iCONNECT\n" + LOGON + LOGON_REPLY.replace("108=30", "108=9"), "2c_Bad.def"
        )
        try:
            return await asyncio.to_thread(
                main, ["--port", str(port), "--timeout", "2", str(good), str(bad)]
            )
        finally:
            server.close()

    code = asyncio.run(serve_and_run())
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert lines[0] == "PASS 1a_Good"
    assert lines[1].startswith("FAIL 2c_Bad: line 3: field 108")
    assert lines[-1] == "1 passed, 1 failed"
