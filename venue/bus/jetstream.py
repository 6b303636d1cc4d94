"""The Bus on NATS JetStream (nats-py).

Appends use JetStream publish with ``Nats-Msg-Id`` for de-duplication; ``append_many``
pipelines with ``publish_async`` so a batch of bus messages costs one round trip.
Reads use an ordered push consumer starting at a stream sequence: no acks, gap-free, and
nats-py re-creates it by itself after a reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from venue.bus.protocol import Record, StreamKind
from venue.config import BusConfig
from venue.logs import get_logger

log = get_logger("venue.bus")


class BusUnavailable(ConnectionError):
    pass


class JetStreamBus:
    def __init__(self, nc: Client, config: BusConfig) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(publish_async_max_pending=4096)
        self._config = config

    @classmethod
    async def connect(cls, url: str, config: BusConfig, *, name: str = "venue") -> JetStreamBus:
        async def on_error(exc: Exception) -> None:
            log.warning("nats error", error=f"{exc.__class__.__name__}: {exc}")

        async def on_disconnected() -> None:
            log.warning("nats disconnected; reconnecting", url=url)

        async def on_reconnected() -> None:
            log.info("nats reconnected", url=url)

        try:
            # Reconnect forever once connected, but give up on the first connect after
            # connect_timeout_s so a wrong URL is a clear error, not a hang.
            nc = await asyncio.wait_for(
                nats.connect(
                    url,
                    name=name,
                    connect_timeout=config.connect_timeout_s,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    allow_reconnect=True,
                    error_cb=on_error,
                    disconnected_cb=on_disconnected,
                    reconnected_cb=on_reconnected,
                ),
                timeout=config.connect_timeout_s,
            )
        except Exception as exc:  # nats-py raises several unrelated types here
            raise BusUnavailable(
                f"cannot reach NATS at {url} ({exc.__class__.__name__}): start it, or unset "
                "VENUE_NATS_URL / bus.url to use the embedded server"
            ) from None
        return cls(nc, config)

    @property
    def client(self) -> Client:
        return self._nc

    def _stream(self, kind: StreamKind) -> str:
        c = self._config
        return c.command_stream if kind is StreamKind.COMMANDS else c.event_stream

    def _subject(self, kind: StreamKind, shard: str) -> str:
        return f"{self._config.subject_prefix}.{kind.value}.{shard}"

    async def ensure_streams(self) -> None:
        storage = api.StorageType.FILE if self._config.storage == "file" else api.StorageType.MEMORY
        for kind in StreamKind:
            name = self._stream(kind)
            subjects = [f"{self._config.subject_prefix}.{kind.value}.>"]
            try:
                await self._js.stream_info(name)
            except NotFoundError:
                await self._js.add_stream(
                    name=name,
                    subjects=subjects,
                    storage=storage,
                    duplicate_window=self._config.duplicate_window_s,
                )

    async def append(
        self, kind: StreamKind, payload: bytes, *, msg_id: str | None = None, shard: str = "0"
    ) -> int:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        ack = await self._js.publish(
            self._subject(kind, shard), payload, stream=self._stream(kind), headers=headers
        )
        return int(ack.seq)

    async def append_many(
        self,
        kind: StreamKind,
        payloads: Sequence[bytes],
        *,
        msg_ids: Sequence[str | None] | None = None,
        shard: str = "0",
    ) -> list[int]:
        subject = self._subject(kind, shard)
        stream = self._stream(kind)
        futures = []
        for i, payload in enumerate(payloads):
            msg_id = msg_ids[i] if msg_ids else None
            headers = {"Nats-Msg-Id": msg_id} if msg_id else None
            futures.append(
                await self._js.publish_async(subject, payload, stream=stream, headers=headers)
            )
        acks = await asyncio.gather(*futures)
        return [int(a.seq) for a in acks]

    async def read(
        self, kind: StreamKind, start_seq: int = 1, *, shard: str | None = None
    ) -> AsyncIterator[Record]:
        subject = self._subject(kind, shard if shard is not None else "*")
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, start_seq)
        )
        sub = await self._js.subscribe(
            subject,
            stream=self._stream(kind),
            ordered_consumer=True,
            config=config,
            idle_heartbeat=2.0,
            pending_msgs_limit=1_000_000,
            pending_bytes_limit=1 << 30,
        )
        try:
            async for msg in sub.messages:
                yield Record(int(msg.metadata.sequence.stream), msg.data)
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass

    async def last_seq(self, kind: StreamKind) -> int:
        info = await self._js.stream_info(self._stream(kind))
        return int(info.state.last_seq)

    async def close(self) -> None:
        if not self._nc.is_closed:
            await self._nc.drain()
