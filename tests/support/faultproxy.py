"""A TCP fault proxy for adversity tests (as asyncpg's tests use): clients connect to
127.0.0.1:<port>, the proxy forwards to the real server (TCP or unix socket). ``cut()``
drops every open connection and refuses new ones until ``restore()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class FaultProxy:
    def __init__(self, open_upstream: Opener) -> None:
        self._open_upstream = open_upstream
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.cut_active = False
        self.refused = 0  # connections refused while cut
        self.port = 0

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def cut(self) -> None:
        self.cut_active = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.cut_active = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_active:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = [asyncio.create_task(_pipe(reader, up_writer)),
                 asyncio.create_task(_pipe(up_reader, writer))]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def proxy_for(dsn: str) -> tuple[FaultProxy, str]:
    """Start a proxy in front of the PostgreSQL at ``dsn``; return it and the DSN through it."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    socket_dir = query.pop("host", "") if query.get("host", "").startswith("/") else ""
    opener: Opener
    if socket_dir:
        port = query.pop("port", "")
        pattern = f"{socket_dir}/.s.PGSQL.{port or '*'}"
        path = next(p for p in sorted(glob.glob(pattern)) if not p.endswith(".lock"))

        def opener() -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
            return asyncio.open_unix_connection(path)
    else:
        host, port_num = parts.hostname or "127.0.0.1", parts.port or 5432

        def opener() -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
            return asyncio.open_connection(host, port_num)

    proxy = await FaultProxy(opener).start()
    user = parts.username or "postgres"
    auth = f"{user}:{parts.password}" if parts.password else user
    rest = "&".join(f"{k}={v}" for k, v in query.items())
    url = f"postgresql://{auth}@127.0.0.1:{proxy.port}{parts.path}" + (f"?{rest}" if rest else "")
    return proxy, url
