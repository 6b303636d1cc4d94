"""The Bus on NATS JetStream (nats-py).

Appends use JetStream publish with ``Nats-Msg-Id`` for de-duplication; ``append_many``
pipelines with ``publish_async`` so a batch of bus messages costs one round trip.
Reads use an ordered push consumer starting at a stream sequence: no acks, gap-free. After a
reconnect the bus re-creates every reader's consumer at once from the record after the last
one it delivered (nats-py would only after two missed heartbeats: seconds without records
when the server restarted and its ephemeral consumers were gone). Appends whose
acknowledgement the lost connection took fail with ``AckLost`` shortly after the reconnect
(``ACK_GRACE_S``), instead of never resolving.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import BadHeaderError, MaxPayloadError
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError

from venue.bus.nats_parser import FastParser, read_inline
from venue.bus.protocol import AckLost, Record, StreamKind, WrongLastMsgId, WrongLastSequence
from venue.config import BusConfig
from venue.logs import get_logger

log = get_logger("venue.bus")


class BusUnavailable(ConnectionError):
    pass


def _headers(
    msg_id: str | None, expect_last_seq: int | None, expect_last_msg_id: str | None = None
) -> dict[str, str] | None:
    """The publish headers. JetStream stores them with the message and every reader parses
    them again, so only what the append needs: de-duplication, the expected last sequence,
    the expected last message id (no ``Nats-Expected-Stream``: a subject belongs to one
    stream, and a publish that no stream takes is answered 503 anyway)."""
    headers = {}
    if msg_id:
        headers[MSG_ID] = msg_id
    if expect_last_seq is not None:
        headers[EXPECTED_LAST_SEQUENCE] = str(expect_last_seq)
    if expect_last_msg_id is not None:
        headers[EXPECTED_LAST_MSG_ID] = expect_last_msg_id
    return headers or None


MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"


_WRONG_LAST = {
    10071: WrongLastSequence,  # JSStreamWrongLastSequenceErrF
    10070: WrongLastMsgId,  # JSStreamWrongLastMsgIDErrF
}


def _translate(exc: APIError) -> Exception:
    wrong = _WRONG_LAST.get(exc.err_code or 0)
    return wrong(str(exc.description)) if wrong else exc


def _flow_control_reply(sub: object) -> str | None:
    """The reply to a JetStream flow-control request that is due now, taken (at most once).

    An ordered push consumer has flow control: past a window of undelivered bytes the server
    stops delivering until the client answers a flow-control message, which it may do once
    the message before it has been consumed. nats-py answers at once only from
    ``next_msg()``; for the ``messages`` iterator a task checks every 250 ms, so a busy
    reader stalled for up to 250 ms at a time (event batches are large). This is the same
    check as that task's, run after each record instead.
    """
    core = getattr(sub, "_sub", None)
    jsi = getattr(core, "_jsi", None)
    if jsi is None or not jsi._fcr or jsi.get_js_delivered() < jsi._fcd:
        return None
    reply: str = jsi._fcr
    jsi._fcr, jsi._fcd = None, 0
    return reply


def _stream_seq(reply: str) -> int:
    """The stream sequence of a JetStream delivery, from its reply subject
    (``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>``,
    or the longer form with a domain and an account hash in front)."""
    tokens = Msg.Metadata._get_metadata_fields(reply)
    return int(tokens[5] if len(tokens) == 9 else tokens[Msg.Ack.StreamSeq])


def _parser(nc: Client) -> FastParser:
    """The bus's parser in ``nc`` (``JetStreamBus.connect`` installs it before connecting)."""
    parser = nc._ps
    if not isinstance(parser, FastParser):
        raise TypeError("a client made by JetStreamBus.connect is needed (the bus's protocol parser)")
    return parser


def _put_end(queue: _DirectQueue) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(None)


ACK_GRACE_S = 0.5  # after a reconnect, how long replies to earlier publishes may still come


class _AckMux:
    """Pipelined JetStream publishes: one inbox subscription, a future per publish.

    (nats-py's ``publish_async`` raises inside its reply callback when the server answers
    with an error, so that future never resolves; this one sets the exception instead.)

    A publish pending when the connection drops was either written to the dead socket (its
    reply never comes) or still in nats-py's buffer (sent after the reconnect, answered
    then): its future fails with ``AckLost`` if no reply came ``ACK_GRACE_S`` after the
    reconnect.
    """

    def __init__(self, nc: Client, writer: TurnWriter) -> None:
        self._nc = nc
        self._writer = writer
        self._prefix = ""
        self._prefix_b = b""
        self._futures: dict[str, asyncio.Future[int]] = {}
        self._next = 0
        self._suspect: set[str] = set()  # tokens pending at a disconnect
        self._in_doubt: set[str] = set()  # of those, the ones neither answered nor failed yet

    def on_disconnected(self) -> None:
        self._suspect.update(self._futures)
        self._in_doubt.update(self._futures)

    @property
    def in_doubt(self) -> bool:
        return bool(self._in_doubt)

    def on_reconnected(self) -> None:
        suspect, self._suspect = self._suspect, set()
        if suspect:
            asyncio.get_running_loop().call_later(ACK_GRACE_S, self._fail_lost, suspect)

    def _fail_lost(self, suspect: set[str]) -> None:
        for token in suspect:
            self._in_doubt.discard(token)
            future = self._futures.pop(token, None)
            if future is not None and not future.done():
                future.set_exception(AckLost("the connection was lost before the acknowledgement"))

    async def start(self) -> None:
        """Subscribe to the replies (once; ``JetStreamBus.connect`` does it)."""
        if self._prefix:
            return
        prefix = f"{self._nc._inbox_prefix.decode()}.{self._nc._nuid.next().decode()}."
        sub = await self._nc.subscribe(prefix + "*")
        # Each reply is handled as the bus's parser reads it: not queued for a task (with a
        # callback nats-py wakes the subscription's task once per acknowledgement, one more
        # turn of the event loop for every command batch: bench/results/e2e-ack-sync-hpub-*.json),
        # and not made a ``Msg`` first.
        _parser(self._nc).add_direct(sub, self._on_reply)
        self._prefix = prefix
        self._prefix_b = prefix.encode()

    def _on_reply(self, subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> bool:
        """A reply as ``FastParser`` reads it (``add_direct``), with nats-py's count of
        incoming messages; taken, always."""
        stats = self._nc.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        try:
            self._settle(
                subject[len(self._prefix_b):].decode(), hdr is not None and hdr.startswith(_NO_RESPONDERS), data,
            )
        except Exception:  # (nothing raises into nats-py's read loop: it would reconnect)
            log.exception("JetStream reply not handled", subject=subject)
        return True

    def _settle(self, token: str, no_responders: bool, data: bytes) -> None:
        future = self._futures.pop(token, None)
        if self._in_doubt:
            self._in_doubt.discard(token)
        if future is None or future.done():
            return
        if no_responders:
            future.set_exception(ConnectionError("no JetStream stream answered (503)"))
            return
        try:
            resp: _PubAck | None = _PUB_ACK.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            resp = None
        err = resp.error if resp is not None else None
        if err:
            wrong = _WRONG_LAST.get(err.get("err_code") or 0)
            if wrong:
                future.set_exception(wrong(err.get("description", "")))
            else:
                future.set_exception(APIError(code=err.get("code"), err_code=err.get("err_code"), description=err.get("description")))
        elif resp is None or resp.seq is None:
            future.set_exception(ConnectionError(f"bad JetStream reply {data[:80]!r}"))
        else:
            future.set_result(resp.seq)

    def publish(self, subject: str, payload: bytes, headers: dict[str, str] | None) -> asyncio.Future[int]:
        """Publish now (``TurnWriter``); the future of its acknowledgement's sequence."""
        if not self._prefix:
            raise RuntimeError("the bus's reply subscription is not started (JetStreamBus.connect starts it)")
        self._next += 1
        token = str(self._next)
        future: asyncio.Future[int] = self._writer.loop().create_future()
        self._writer.publish(subject, payload, self._prefix + token, headers)  # (raises: no future kept)
        self._futures[token] = future
        return future


class _PubAck(msgspec.Struct):
    """JetStream's answer to a publish (the fields read; the rest is ignored)."""

    seq: int | None = None
    error: dict[str, Any] | None = None


_PUB_ACK = msgspec.json.Decoder(_PubAck)


_HDR_LINE = b"NATS/1.0\r\n"
_NO_RESPONDERS = b"NATS/1.0 503"  # the status line of "no stream took the publish"
_OWN_HEADERS = frozenset({MSG_ID, EXPECTED_LAST_SEQUENCE, EXPECTED_LAST_MSG_ID})  # what _headers sets
_HEADER_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # nats-py's rules for any other header
_HEADER_VALUE_NEWLINES = str.maketrans({"\r": " ", "\n": " "})


def publish_command(subject: str, reply: str, headers: dict[str, str] | None, payload: bytes) -> bytes:
    """The PUB or HPUB command nats-py's ``publish`` writes for these arguments: the same
    bytes (a property test holds it to that). The bus's own headers, plain values as
    ``_headers`` makes them, take the short way; any other header is stripped, checked
    and rewritten by nats-py's rules (``BadHeaderError`` for a bad name)."""
    if headers is None:
        return b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload)
    lines = [_HDR_LINE]
    for key, value in headers.items():
        if key not in _OWN_HEADERS or not value.isprintable() or value != value.strip():
            key = key.strip()
            if not key:
                continue
            if not _HEADER_KEY.fullmatch(key):
                raise BadHeaderError(key)
            value = value.strip().translate(_HEADER_VALUE_NEWLINES)
        lines.append(b"%s: %s\r\n" % (key.encode(), value.encode()))
    lines.append(b"\r\n")
    hdr = b"".join(lines)
    return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
        subject.encode(), reply.encode(), len(hdr), len(hdr) + len(payload), hdr, payload,
    )


class TurnWriter:
    """Publishes synchronously, as nats-py's ``publish`` would (its checks, raised as
    ``BusUnavailable``; its bytes; its pending buffer), and writes each event-loop turn's
    publishes to the socket in one call at the turn's end, from a plain callback.

    nats-py's ``publish`` is a coroutine that queues the command and kicks its flusher task,
    which wakes in the next turn to write: a coroutine to await for every publish and one
    more task wake-up for every publishing turn (a command batch in the gateway, an event
    batch in the engine), each a few frames through cold caches on these machines
    (``bench/results/e2e-turn-writer-*.json``). Being synchronous, a publish can be made from
    a callback; publishes go out in the order they were made.

    The bytes go into nats-py's pending buffer, which this writer and nats-py's flusher
    both empty from the front. Anything out of the ordinary is left to nats-py: while not
    connected the buffer is its reconnect buffer (written after the reconnect, up to its
    limit, past which a publish is refused, as nats-py refuses it); a socket whose own buffer
    is over the client's pending limit is left to its flusher, which waits for the socket to
    drain; a failed write goes back to the buffer for its flusher, whose error handling
    reconnects. Unlike nats-py, a publish never waits for the socket to drain: the bus's
    writers bound what they have in flight themselves (the gateway one command batch, the
    engine its acknowledgements).
    """

    def __init__(self, nc: Client, nap_s: float = 0.0) -> None:
        self._nc = nc
        self._scheduled = False
        self._nap_s = nap_s
        self._napping = False  # a nap is scheduled
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def publish(self, subject: str, payload: bytes, reply: str, headers: dict[str, str] | None) -> None:
        nc = self._nc
        if nc.is_closed or nc.is_draining_pubs:
            raise BusUnavailable("the NATS connection is closed")
        size = len(payload)
        if not nc.is_connected and (nc._max_pending_size <= 0 or size + nc._pending_data_size > nc._max_pending_size):
            raise BusUnavailable("NATS is away and the outgoing buffer for the reconnect is full")
        if size > nc._max_payload:
            raise MaxPayloadError
        cmd = publish_command(subject, reply, headers, payload)
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += size
        nc._pending.append(cmd)
        nc._pending_data_size += len(cmd)
        if not self._scheduled:
            self._scheduled = True
            self.loop().call_soon(self._write)

    def _socket(self) -> Any:
        """The connection's socket transport (uvloop's or asyncio's), None if there is none
        or it is closing."""
        writer = getattr(self._nc._transport, "_io_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is None or not hasattr(transport, "get_write_buffer_size") or transport.is_closing():
            return None
        return transport

    def _write(self) -> None:
        self._scheduled = False
        nc = self._nc
        if not nc._pending or not nc.is_connected:
            return  # written meanwhile, or nats-py's reconnect writes it
        transport = self._socket()
        if transport is None or transport.get_write_buffer_size() > nc._max_pending_size:
            self._kick(nc)
            return
        pending = nc._pending
        nc._pending, nc._pending_data_size = [], 0
        try:
            transport.writelines(pending)
        except Exception:  # its connection-error handling is nats-py's: hand the bytes back
            nc._pending[:0] = pending
            nc._pending_data_size = sum(len(b) for b in nc._pending)
            self._kick(nc)
            return
        if self._nap_s > 0 and not self._napping:
            self._napping = True
            self.loop().call_soon(self._nap)

    def _nap(self) -> None:
        """Sleep ``nap_s`` once the turn's callbacks have run, not waiting on any socket.

        What the write asked for (an acknowledgement, a command delivered back) comes while
        the process sleeps and is read when its event loop polls next, with whatever else
        came meanwhile (a gateway's next orders). Had it been waiting in epoll, each of those
        would have woken it: on a VM, waking a process from another CPU is an
        inter-processor interrupt, a VM exit on the waker's side, and the process woken costs
        its waker and itself tens of microseconds of CPU each time. Measured at 5,000
        orders/s with 100 us: the machine 1.54-1.61 against 1.76-1.82 cores (nats-server
        0.25-0.28 against 0.39-0.43), p99 lower, p50 ~0.25 ms higher
        (bench/results/e2e-write-nap-*.json; docs/architecture.md, session 17).
        """
        self._napping = False
        time.sleep(self._nap_s)

    @staticmethod
    def _kick(nc: Client) -> None:
        """Let nats-py's flusher write (and wait for the socket to drain)."""
        queue = nc._flush_queue
        if queue is not None and queue.empty():
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(asyncio.get_running_loop().create_future())


class _DirectQueue(asyncio.Queue[Record | None]):
    """A reader's subscription queue: the records nats-py delivers, in order.

    With the bus's parser (``FastParser``) a delivery comes straight from the parser as
    bytes (``deliver``), with the bookkeeping nats-py's ``_process_msg`` would do for an
    ordered consumer's record (its sequence check, flow-control count, slow-consumer
    accounting); anything else (flow control, heartbeats, a sequence mismatch, after which
    nats-py re-creates the consumer) is left to nats-py, which puts records here as ``Msg``.

    With a ``direct`` handler, records that come while the reader waits in ``get()`` on an
    empty queue are held instead of queued, and handed to ``direct`` from one plain callback
    at the end of the turn (nats-py has then recorded them: its flow-control accounting runs
    after the put). Queued, each would wake the reader's task. A record ``direct`` declines,
    and every one held or arriving after it, is queued for the reader, in order, until it
    waits again.
    """

    def __init__(self, sub: Any, writer: TurnWriter, direct: Callable[[Record], bool] | None, last: int) -> None:
        core = getattr(sub, "_sub", sub)  # (nats-py's JetStream wrapper keeps a copy of the reference)
        old: asyncio.Queue[Msg | None] = core._pending_queue
        super().__init__(maxsize=old.maxsize)
        self._core = core
        self._sub = sub
        self._writer = writer
        self._direct = direct
        self._held: collections.deque[Record] = collections.deque()
        self._last = last  # the stream sequence of the last record handed out
        while not old.empty():  # (anything nats-py queued before the swap)
            self.put_nowait(old.get_nowait())
        core._pending_queue = sub._pending_queue = self

    def put_nowait(self, item: Msg | Record | None) -> None:  # type: ignore[override]
        """nats-py's put (a ``Msg``), or the end (None)."""
        if isinstance(item, Msg):
            item = Record(_stream_seq(item.reply), item.data)
        self._offer(item)

    def deliver(self, subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> bool:
        """A message to the consumer's subscription, as ``FastParser`` reads it: a record is
        taken as nats-py's ``_process_msg`` would take it; anything else is declined (False)
        and nats-py handles it."""
        if not data or (hdr is not None and hdr[8:9] != b"\r"):
            return False  # a control message (no data; a status after "NATS/1.0")
        tokens = reply.split(b".")
        core = self._core
        jsi = core._jsi
        if len(tokens) != 9 or tokens[0] != b"$JS" or tokens[1] != b"ACK" or jsi is None or not jsi._ordered:
            return False
        try:
            sseq, dseq = int(tokens[5]), int(tokens[6])
        except ValueError:
            return False
        if dseq != jsi._dseq or core._max_msgs > 0:
            return False  # nats-py re-creates the consumer from where it was
        size = len(data)
        if self.full() or (core._pending_bytes_limit > 0 and core._pending_size + size >= core._pending_bytes_limit):
            return False  # nats-py reports the slow consumer
        stats = core._conn.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += size
        core._received += 1
        jsi._active = True
        jsi._dseq = dseq + 1
        jsi._sseq = sseq
        core._pending_size += size
        self._offer(Record(sseq, data))
        jsi.track_sequences(reply.decode())
        return True

    def _offer(self, item: Record | None) -> None:
        if item is not None and self._direct is not None and (
            self._held or (self.empty() and self._getters)  # type: ignore[attr-defined]
        ):
            if not self._held:
                self._writer.loop().call_soon(self._hand_over)
            self._held.append(item)
            return
        if item is None:
            self._queue_held()
        super().put_nowait(item)

    def _queue_held(self) -> None:
        held, self._held = self._held, collections.deque()
        for record in held:
            super().put_nowait(record)

    def _hand_over(self) -> None:
        direct = self._direct
        assert direct is not None
        while self._held:
            if not self.empty():  # (queued meanwhile: the reader's turn first)
                self._queue_held()
                return
            record = self._held[0]
            if record.seq > self._last:
                try:
                    handled = direct(record)
                except Exception:
                    log.exception("direct reader failed; the record goes to the reader", seq=record.seq)
                    handled = False
                if not handled:
                    self._queue_held()
                    return
            self._taken(record)
            self._held.popleft()
            self.answer_flow_control()

    def take(self, record: Record) -> Record | None:
        """A record taken off the queue, None if it was handed out before."""
        new = record.seq > self._last
        self._taken(record)
        return record if new else None

    def _taken(self, record: Record) -> None:
        self._core._pending_size -= len(record.payload)  # (nats-py's slow-consumer accounting)
        if record.seq > self._last:
            self._last = record.seq

    def answer_flow_control(self) -> None:
        reply = _flow_control_reply(self._sub)
        if reply is not None:
            self._writer.publish(reply, b"", "", None)


class JetStreamBus:
    def __init__(self, nc: Client, config: BusConfig) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._config = config
        self._writer = TurnWriter(nc, config.write_nap_us / 1e6)
        self._mux = _AckMux(nc, self._writer)  # (started by connect)
        self._closing = False  # set by close(): the disconnect it causes is not news
        self._readers: set[Any] = set()  # the ordered consumers' subscriptions
        self._held: Any = None  # the transport hold_deliveries paused, if any

    def _on_disconnected(self) -> None:
        self._mux.on_disconnected()

    async def _on_reconnected(self) -> None:
        read_inline(self._nc)  # (the new connection's reader)
        self._mux.on_reconnected()
        for sub in list(self._readers):
            jsi = sub._sub._jsi  # nats-py's ordered-consumer state
            try:
                await jsi.reset_ordered_consumer(jsi._sseq + 1)
            except Exception as exc:  # its own heartbeat check tries again
                log.warning("reader not re-created after the reconnect", error=f"{exc.__class__.__name__}: {exc}")

    @classmethod
    async def connect(cls, url: str, config: BusConfig, *, name: str = "venue") -> JetStreamBus:
        async def on_error(exc: Exception) -> None:
            log.warning("nats error", error=f"{exc.__class__.__name__}: {exc}")

        made: list[JetStreamBus] = []  # the bus, once connected (the callbacks come first)

        async def on_disconnected() -> None:
            if not (made and made[0]._closing):  # a disconnect close() asked for is not news
                log.warning("nats disconnected; reconnecting", url=url)
            if made:
                made[0]._on_disconnected()

        async def on_reconnected() -> None:
            log.info("nats reconnected", url=url)
            if made:
                await made[0]._on_reconnected()

        try:
            # Reconnect forever once connected, but give up on the first connect after
            # connect_timeout_s so a wrong URL is a clear error, not a hang.
            nc = Client()
            nc._ps = FastParser(nc)  # (venue/bus/nats_parser.py)
            await asyncio.wait_for(
                nc.connect(
                    url,
                    name=name,
                    connect_timeout=config.connect_timeout_s,  # type: ignore[arg-type]  # (a float works: a timeout)
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]
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
        read_inline(nc)  # (venue/bus/nats_parser.py)
        bus = cls(nc, config)
        made.append(bus)
        await bus._mux.start()
        return bus

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
        self,
        kind: StreamKind,
        payload: bytes,
        *,
        msg_id: str | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
        expect_last_msg_id: str | None = None,
    ) -> int:
        try:
            ack = await self._js.publish(
                self._subject(kind, shard),
                payload,
                headers=_headers(msg_id, expect_last_seq, expect_last_msg_id),
            )
        except APIError as exc:
            raise _translate(exc) from None
        return int(ack.seq)

    async def append_many(
        self,
        kind: StreamKind,
        payloads: Sequence[bytes],
        *,
        msg_ids: Sequence[str | None] | None = None,
        shard: str = "0",
        expect_last_seq: int | None = None,
    ) -> list[int]:
        subject = self._subject(kind, shard)
        futures = []
        try:
            for i, payload in enumerate(payloads):
                headers = _headers(
                    msg_ids[i] if msg_ids else None,
                    None if expect_last_seq is None else expect_last_seq + i,
                )
                futures.append(self._mux.publish(subject, payload, headers))
            return list(await asyncio.wait_for(asyncio.gather(*futures), self._config.connect_timeout_s * 2))
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()
                elif not f.cancelled():
                    f.exception()  # retrieved: no "never retrieved" warnings for the rest

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
        """Publish now, written at the end of this event-loop turn (``TurnWriter``); the
        future of its stream sequence (pipelining for a single writer that checks
        acknowledgements in order; see engine/service.py)."""
        return self._mux.publish(
            self._subject(kind, shard), payload, _headers(msg_id, expect_last_seq, expect_last_msg_id)
        )

    def appends_in_doubt(self) -> bool:
        return self._mux.in_doubt

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
        """A JetStream publish without a reply subject (the server answers nothing), made now."""
        self._writer.publish(
            self._subject(kind, shard), payload, "", _headers(msg_id, expect_last_seq, expect_last_msg_id)
        )

    async def read(
        self, kind: StreamKind, start_seq: int = 1, *, shard: str | None = None,
        direct: Callable[[Record], bool] | None = None,
    ) -> AsyncGenerator[Record, None]:
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
        # Ordered-consumer resets restart after the last record delivered: before the first
        # one, that is the one before start_seq, not the stream's first.
        jsi = sub._sub._jsi
        assert jsi is not None
        jsi._sseq = max(1, start_seq) - 1
        self._readers.add(sub)
        # The subscription's own queue, read directly: nats-py's ``messages`` iterator
        # starts a task and an ``asyncio.wait`` per message, and ``msg.metadata`` builds
        # dataclasses and a datetime, where only the stream sequence is needed (together
        # ~13 us of a reader's CPU per record on this machine). With ``direct``, the queue
        # hands records to it while this reader waits (``_DirectQueue``).
        # Unsubscribing (or closing the connection) ends the iteration, as with ``messages``.
        queue = _DirectQueue(sub, self._writer, direct, max(1, start_seq) - 1)
        parser = _parser(self._nc)
        parser.add_direct(sub._sub, queue.deliver)
        ended: asyncio.Future[bool] = sub.messages._unsubscribed_future  # type: ignore[attr-defined]
        ended.add_done_callback(lambda _: _put_end(queue))
        try:
            while True:
                item = await queue.get()
                queue.task_done()  # (a drain waits for the queue to be worked off)
                if item is None:
                    return
                record = queue.take(item)
                if record is None:  # a re-created consumer's overlap: each record once, in order
                    continue
                yield record
                queue.answer_flow_control()  # the record is processed: ask for more
        finally:
            parser.remove_direct(sub._sub)
            self._readers.discard(sub)
            try:
                await sub.unsubscribe()
            except Exception:
                pass

    async def last(self, kind: StreamKind) -> Record | None:
        seq = await self.last_seq(kind)
        if seq == 0:
            return None
        msg = await self._js.get_msg(self._stream(kind), seq=seq)
        return Record(int(msg.seq or seq), bytes(msg.data or b""))

    async def stream_id(self, kind: StreamKind) -> int:
        """From the stream's name and creation time (a new stream: a new identity)."""
        name = self._stream(kind)
        info = await self._js.stream_info(name)
        created = info.created.isoformat() if info.created else ""
        digest = hashlib.blake2b(f"{name}@{created}".encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "little") >> 1) or 1

    async def last_seq(self, kind: StreamKind) -> int:
        info = await self._js.stream_info(self._stream(kind))
        return int(info.state.last_seq)

    def hold_deliveries(self, held: bool) -> None:
        """Stop (or go on) reading this connection's socket (the protocol's hint). The
        server keeps what it cannot write in its pending buffer for the connection (64 MB by
        default; a hold is meant to last a batch's wait, ~0.1 s, not the 10 s after which
        the server drops a client that does not read). Only a pause made here is undone
        here: one the stream reader made for its own flow control stays its own."""
        writer = getattr(getattr(self._nc, "_transport", None), "_io_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is None or transport.is_closing():
            self._held = None
            return
        if held:
            if transport.is_reading():
                transport.pause_reading()
                self._held = transport
        else:
            if self._held is transport and not transport.is_reading():
                transport.resume_reading()
            self._held = None

    async def close(self) -> None:
        self._closing = True
        if not self._nc.is_closed:
            await self._nc.drain()
