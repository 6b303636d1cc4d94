"""A small asyncio FIX initiator: logon, send application messages, read what comes back.

For tests, benchmarks and scripts (not a full session engine: it answers TestRequests and
Heartbeats, and keeps sequence numbers; it does not resend).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from fix_gateway.codec import FixMessage, Framer, encode, parse
from fix_gateway.session.times import format_utc
from venue.clock import SystemClock


class FixClient:
    def __init__(
        self,
        begin_string: str,
        sender: str,
        target: str,
        *,
        username: str = "",
        password: str = "",
        heartbeat: int = 30,
        default_appl_ver_id: str = "9",
    ) -> None:
        self.begin_string = begin_string
        self.sender = sender
        self.target = target
        self.username = username
        self.password = password
        self.heartbeat = heartbeat
        self.default_appl_ver_id = default_appl_ver_id
        self.seq = 1
        self.inbox: asyncio.Queue[FixMessage] = asyncio.Queue()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._clock = SystemClock()
        self.closed = asyncio.Event()

    async def connect(self, host: str, port: int, *, reset: bool = True, next_seq: int | None = None) -> FixMessage:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self.closed.clear()
        if next_seq is not None:
            self.seq = next_seq
        fields: list[tuple[int, str | bytes | int]] = [(98, 0), (108, self.heartbeat)]
        if reset:
            self.seq = 1
            fields.append((141, "Y"))
        if self.username:
            fields += [(553, self.username), (554, self.password)]
        if self.begin_string == "FIXT.1.1":
            fields.append((1137, self.default_appl_ver_id))
        self.send("A", fields)
        self._task = asyncio.create_task(self._read())
        logon = await self.expect("A", timeout=10)
        return logon

    def send(self, msg_type: str, fields: Sequence[tuple[int, str | bytes | int]]) -> bytes:
        raw = self.frame(msg_type, fields)
        assert self._writer is not None
        self._writer.write(raw)
        return raw

    def frame(self, msg_type: str, fields: Sequence[tuple[int, str | bytes | int]]) -> bytes:
        header: list[tuple[int, str | bytes | int]] = [
            (49, self.sender), (56, self.target), (34, self.seq), (52, format_utc(self._clock.now_ns())),
        ]
        self.seq += 1
        return encode(self.begin_string, msg_type, [*header, *fields])

    async def drain(self) -> None:
        assert self._writer is not None
        await self._writer.drain()

    async def _read(self) -> None:
        assert self._reader is not None
        framer = Framer()
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    return
                framer.feed(data)
                while (frame := framer.next_frame()) is not None:
                    try:
                        msg = parse(frame)
                    except ValueError:
                        continue
                    if msg.msg_type == b"1":  # TestRequest: answer with its id
                        self.send("0", [(112, msg.get(112) or b"")])
                    self.inbox.put_nowait(msg)
        finally:
            self.closed.set()

    async def next(self, timeout: float = 5.0, *, skip_admin: bool = True) -> FixMessage:
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), timeout)
            if skip_admin and msg.msg_type in (b"0", b"1"):
                continue
            return msg

    async def expect(self, msg_type: str, timeout: float = 5.0) -> FixMessage:
        msg = await self.next(timeout, skip_admin=msg_type not in ("0", "1"))
        if msg.msg_type != msg_type.encode():
            raise AssertionError(f"expected 35={msg_type}, got {msg!r}")
        return msg

    async def logout(self) -> None:
        with contextlib.suppress(Exception):
            self.send("5", [])
            await asyncio.wait_for(self.closed.wait(), 3)
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
