"""An in-memory Bus: the same contract as JetStream, for unit tests and the reference path."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncGenerator, Callable, Sequence

from venue.bus.protocol import Record, StreamKind, WrongLastMsgId, WrongLastSequence


class _Stream:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes]] = []  # (subject, payload); seq = index + 1
        self.msg_ids: dict[str, int] = {}
        self.last_msg_id = ""  # the newest record's msg_id ("" for none), as JetStream keeps it
        self.identity = secrets.randbits(63) or 1
        self.waiting: list[asyncio.Future[None]] = []  # readers waiting for a record

    def grew(self) -> None:
        waiting, self.waiting = self.waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)


class MemoryBus:
    def __init__(self, subject_prefix: str = "venue") -> None:
        self._prefix = subject_prefix
        self._streams = {kind: _Stream() for kind in StreamKind}
        self._closed = False

    async def ensure_streams(self) -> None:
        return None

    def hold_deliveries(self, held: bool) -> None:
        return None  # nothing crosses a socket: a hold would save nothing

    async def append(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> int:
        return self._append(kind, payload, msg_id, shard, expect_last_seq, expect_last_msg_id)

    def _append(
        self,
        kind: StreamKind,
        payload: bytes,
        msg_id: str | None,
        shard: str,
        expect_last_seq: int | None,
        expect_last_msg_id: str | None,
    ) -> int:
        if self._closed:
            raise ConnectionError("bus closed")
        stream = self._streams[kind]
        if msg_id is not None and msg_id in stream.msg_ids:
            return stream.msg_ids[msg_id]
        if expect_last_seq is not None and expect_last_seq != len(stream.records):
            raise WrongLastSequence(f"stream at {len(stream.records)}, expected {expect_last_seq}")
        if expect_last_msg_id is not None and expect_last_msg_id != stream.last_msg_id:
            raise WrongLastMsgId(f"last msg id {stream.last_msg_id!r}, expected {expect_last_msg_id!r}")
        stream.records.append((f"{self._prefix}.{kind.value}.{shard}", bytes(payload)))
        seq = len(stream.records)
        stream.last_msg_id = msg_id or ""
        if msg_id is not None:
            stream.msg_ids[msg_id] = seq
        stream.grew()
        return seq

    async def append_many(
        self,
        kind: StreamKind,
        payloads: Sequence[bytes],
        *,
        msg_ids: Sequence[str | None] | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
    ) -> list[int]:
        return [
            await self.append(
                kind,
                p,
                msg_id=msg_ids[i] if msg_ids else None,
                shard=shard,
                expect_last_seq=None if expect_last_seq is None else expect_last_seq + i,
            )
            for i, p in enumerate(payloads)
        ]

    def append_soon(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> asyncio.Future[int]:
        if self._closed:
            raise ConnectionError("bus closed")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self._append(kind, payload, msg_id, shard, expect_last_seq, expect_last_msg_id))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def appends_in_doubt(self) -> bool:
        return False  # (an append here is done or refused at once)

    def append_unacked_soon(
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> None:
        if self._closed:
            raise ConnectionError("bus closed")
        with contextlib.suppress(WrongLastSequence):  # (WrongLastMsgId included): not reported
            self._append(kind, payload, msg_id, shard, expect_last_seq, expect_last_msg_id)

    async def read(
        self, kind: StreamKind, start_seq: int = 1, *, shard: str | None = None,
        direct: Callable[[Record], bool] | None = None,
    ) -> AsyncGenerator[Record, None]:
        # (``direct`` is a hint: nothing crosses a socket here, every record is yielded)
        stream = self._streams[kind]
        want = None if shard is None else f"{self._prefix}.{kind.value}.{shard}"
        index = max(1, start_seq) - 1
        while not self._closed:
            while index < len(stream.records):
                subject, payload = stream.records[index]
                index += 1
                if want is None or subject == want:
                    yield Record(index, payload)
            if index >= len(stream.records) and not self._closed:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                stream.waiting.append(waiter)
                await waiter

    async def last(self, kind: StreamKind) -> Record | None:
        records = self._streams[kind].records
        return Record(len(records), records[-1][1]) if records else None

    async def stream_id(self, kind: StreamKind) -> int:
        return self._streams[kind].identity

    async def last_seq(self, kind: StreamKind) -> int:
        return len(self._streams[kind].records)

    async def close(self) -> None:
        self._closed = True
        for stream in self._streams.values():
            stream.grew()
