"""A whole order path in one process: JetStream streams of its own, the migrated test
database, the engine service and the FIX gateway; clients connect over loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from engine.service import EngineService
from engine.snapshots import SnapshotStore
from fix_gateway.client import FixClient
from fix_gateway.order_entry.book_snapshots import BookSnapshotStore
from fix_gateway.order_entry.refdata import RefData
from fix_gateway.order_entry.service import Gateway
from fix_gateway.stores.postgres import MEMORY_LIMIT, postgres_store_factory
from tests.support.buses import isolated_bus_config
from venue.bootstrap import bootstrap
from venue.bus.jetstream import JetStreamBus
from venue.clock import SystemClock
from venue.config import Config, load_config
from venue.registry import seed

DEMO = Path(__file__).parents[3] / "config" / "demo.toml"


@dataclass
class Stack:
    config: Config
    bus: JetStreamBus
    pool: asyncpg.Pool
    nats_url: str
    tmp: Path
    engine: EngineService | None = None
    gateway: Gateway | None = None
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    clients: list[FixClient] = field(default_factory=list)
    book_snapshots: BookSnapshotStore | None = None

    @property
    def port(self) -> int:
        assert self.gateway is not None
        return self.gateway.acceptor.port

    async def start_engine(self) -> EngineService:
        store = SnapshotStore(self.tmp / "snapshots", keep=2)
        self.engine = EngineService(self.bus, store, self.config.engine)
        self.tasks["engine"] = asyncio.create_task(self.engine.run())
        return self.engine

    async def stop_engine(self) -> None:
        await _cancel(self.tasks.pop("engine", None))

    async def start_gateway(self, *, store_memory_messages: int = MEMORY_LIMIT, engine_in_gateway: bool = False) -> Gateway:
        """The gateway; with ``engine_in_gateway``, hosting the engine (engine.in_gateway)."""
        async with self.pool.acquire() as conn:
            refdata = await RefData.load(conn)
        factory = postgres_store_factory(self.pool, memory_limit=store_memory_messages)
        engine = None
        if engine_in_gateway:

            def engine() -> EngineService:
                self.engine = EngineService(self.bus, SnapshotStore(self.tmp / "snapshots", keep=2), self.config.engine)
                return self.engine

        self.gateway = Gateway(
            self.config, self.bus, self.pool, refdata, factory, book_snapshots=self.book_snapshots, engine=engine
        )
        await self.gateway.start()
        return self.gateway

    async def crash_gateway(self) -> None:
        """Like kill -9: no goodbye to clients beyond the closed sockets."""
        gw = self.gateway
        assert gw is not None
        gw._send_pending = lambda: None  # type: ignore[method-assign]  # nothing more reaches the log
        for t in gw._tasks:
            t.cancel()
        if gw.acceptor._server is not None:
            gw.acceptor._server.close()
        for conn in list(gw.acceptor.connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0.05)
        for s in gw.acceptor.sessions.values():  # no final flush: what kill -9 leaves
            abandon = getattr(s.store, "abandon", None)
            with contextlib.suppress(Exception):
                await (abandon() if abandon is not None else s.store.close())

    async def client(self, who: str, *, password: str | None = None, reset: bool = True) -> FixClient:
        if who == "ALPHA":
            c = FixClient("FIX.4.4", "ALPHA", "VENUE", username="alpha", password=password or "alpha-demo")
        else:
            c = FixClient("FIXT.1.1", "BETA", "VENUE", username="beta", password=password or "beta-demo")
        self.clients.append(c)
        await c.connect("127.0.0.1", self.port, reset=reset)
        return c


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def stack_config(letter: str, **fix: Any) -> Config:
    base = load_config(DEMO, env={})
    sessions = tuple(msgspec.structs.replace(s, **fix) for s in base.fix.sessions)
    return msgspec.structs.replace(
        base,
        bus=isolated_bus_config(letter, base.bus),
        fix=msgspec.structs.replace(base.fix, host="127.0.0.1", port=0, sessions=sessions),
    )


@pytest.fixture
def stack_factory(nats_url: str, database_url: str, tmp_path: Path) -> Callable[..., Any]:
    made: list[Stack] = []

    @contextlib.asynccontextmanager
    async def make(nats_url: str = nats_url, db_url: str = database_url, **fix: Any) -> AsyncIterator[Stack]:
        config = stack_config("O", **fix)
        bus = await JetStreamBus.connect(nats_url, config.bus)
        await bus.ensure_streams()
        pool = await asyncpg.create_pool(db_url, min_size=1, max_size=4)
        assert pool is not None
        async with pool.acquire() as conn:
            for table in ("fix_delivery", "fix_message_blocks", "fix_session_state", "engine_bootstrap"):
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute("UPDATE firms SET killed = false")
            await seed(conn, config)
            await bootstrap(conn, bus, config, SystemClock())
        tmp = tmp_path / config.bus.subject_prefix
        stack = Stack(config, bus, pool, nats_url, tmp, book_snapshots=BookSnapshotStore(tmp / "book-snapshots"))
        made.append(stack)
        try:
            yield stack
        finally:
            for c in stack.clients:
                await c.close()
            if stack.gateway is not None:
                with contextlib.suppress(Exception):
                    await stack.gateway.stop()
            for t in list(stack.tasks.values()):
                await _cancel(t)
            for name in (config.bus.command_stream, config.bus.event_stream):
                with contextlib.suppress(Exception):
                    await bus._js.delete_stream(name)
            await bus.close()
            await pool.close()

    return make
