"""asyncio acceptor: the thin shell around the sans-IO sessions.

Many sessions on one port. A new connection is anonymous until its first complete frame:
that must be a Logon whose (BeginString, TargetCompID, SenderCompID) names a configured
session that is not already connected, else the connection is closed without a byte
(unknown CompIDs, unsupported BeginString, garbled Logon, second Logon for a live session).
Then the optional authenticator (sync or async) sees Username(553)/Password(554) and the
session takes over the connection.

Protection: pre-logon connections get a small frame limit (``PRELOGON_MAX``) and are closed
after ``idle_timeout`` without a valid Logon; each session's read buffer is bounded by its
``max_message_size`` (Framer resyncs); a peer that does not read (write buffer above
``MAX_WRITE_BUFFER``) is disconnected; connections above ``max_connections`` are closed on
accept. One timer task ticks every logged-on session (heartbeats, test requests, logout and
logon timeouts) and flushes the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
from collections.abc import Iterable, Sequence

import structlog

from fix_gateway.application import Application, Authenticator, FieldList
from fix_gateway.codec import Framer, GarbledMessage, parse
from fix_gateway.config import AcceptorConfig, SessionConfig
from fix_gateway.session import Disconnect, LoggedOn, LoggedOut, Send, Session
from fix_gateway.session.actions import LoadHeld
from fix_gateway.session.clock import Clock, system_clock
from fix_gateway.store import MessageStoreFactory

log = structlog.get_logger("fix_gateway.acceptor")
LOAD_HELD_ATTEMPTS = 3

PRELOGON_MAX = 8192
MAX_WRITE_BUFFER = 16 << 20


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_out",
        "_receiving",
        "acceptor",
        "authenticating",
        "closed",
        "framer",
        "idle_handle",
        "peer",
        "session",
        "transport",
    )

    def __init__(self, acceptor: Acceptor) -> None:
        self.acceptor = acceptor
        self.framer: Framer | None = Framer(PRELOGON_MAX)
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        self.idle_handle: asyncio.TimerHandle | None = None
        self.closed = False
        self.authenticating = False
        self.peer: object = None
        # Outgoing bytes of this event-loop turn: written with one call at its end, so a
        # burst of ExecutionReports to one client costs one socket write, not one each.
        self._out: list[bytes] = []
        self._receiving = False  # inside data_received: it writes at its end itself

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = transport.get_extra_info("peername")
        acc = self.acceptor
        if len(acc.connections) >= acc.config.max_connections:
            transport.abort()  # type: ignore[attr-defined]
            self.closed = True
            return
        acc.connections.add(self)
        self.idle_handle = asyncio.get_running_loop().call_later(
            acc.config.idle_timeout, self._idle_timeout
        )

    def data_received(self, data: bytes) -> None:
        self._receiving = True
        try:
            self._received(data)
        except Exception:  # an application bug must not take the acceptor down
            log.exception("session failed", peer=self.peer)
            self.close("internal error")
        finally:
            self._receiving = False
        self._write_out()  # replies to this chunk: one write, now (pushes wait for the turn's end)

    def _received(self, data: bytes) -> None:
        session = self.session
        if session is not None:
            self.apply(session.on_bytes(data))
            return
        framer = self.framer
        if framer is None or self.closed:
            return
        framer.feed(data)
        if self.authenticating:  # bytes wait in the framer until the session attaches
            if framer.buffered > 4 * PRELOGON_MAX:
                self.close("too much data before the Logon was accepted")
            return
        frame = framer.next_frame()
        if frame is not None:
            self._first_frame(frame, framer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.acceptor.connections.discard(self)
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        session = self.session
        if session is not None:
            self.session = None
            if self.acceptor.owners.get(session.session_id) is self:
                del self.acceptor.owners[session.session_id]
            self._callbacks(session.on_disconnected("connection lost"))

    # ------------------------------------------------------------------ logon routing

    def _first_frame(self, frame: bytes, framer: Framer) -> None:
        acc = self.acceptor
        try:
            msg = parse(frame)
        except GarbledMessage:
            return self.close("garbled first message")
        if msg.msg_type != b"A":
            return self.close("first message is not a Logon")
        key = (
            msg.begin_string.decode("latin-1"),
            (msg.get(56) or b"").decode("latin-1"),
            (msg.get(49) or b"").decode("latin-1"),
        )
        session = acc.by_key.get(key)
        if session is None:
            return self.close(f"no session for {key}")
        sid = session.session_id
        if sid in acc.owners or session.connected:
            return self.close(f"{sid} already logged on")
        acc.owners[sid] = self
        cfg = session.config
        auth = acc.authenticator
        if auth is None or not (cfg.username_required or cfg.password_required):
            self._attach(session, frame, framer, True)
            return
        user = msg.get(553)
        pw = msg.get(554)
        if (cfg.username_required and not user) or (cfg.password_required and not pw):
            self._attach(session, frame, framer, False)
            return
        result = auth(sid, user.decode() if user else None, pw.decode() if pw else None)
        if inspect.isawaitable(result):
            self.authenticating = True
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: self._auth_done(t, session, frame, framer))
        else:
            self._attach(session, frame, framer, bool(result))

    def _auth_done(
        self, task: asyncio.Future[bool], session: Session, frame: bytes, framer: Framer
    ) -> None:
        ok = False
        if not task.cancelled() and task.exception() is None:
            ok = bool(task.result())
        elif not task.cancelled():
            log.warning(
                "authenticator failed", session=session.session_id, error=str(task.exception())
            )
        if self.closed:
            if self.acceptor.owners.get(session.session_id) is self:
                del self.acceptor.owners[session.session_id]
            return
        self._attach(session, frame, framer, ok)

    def _attach(self, session: Session, frame: bytes, framer: Framer, authenticated: bool) -> None:
        self.authenticating = False
        self.framer = None
        self.session = session
        leftover = framer.take_buffer()
        actions = session.on_connect(authenticated)
        actions += session.on_frame(frame)
        if leftover and session.connected:
            actions += session.on_bytes(leftover)
        if session.logged_on and self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        self.apply(actions)

    def _idle_timeout(self) -> None:
        self.idle_handle = None
        if not self.closed and (self.session is None or not self.session.logged_on):
            self.close("idle timeout before Logon")

    # ------------------------------------------------------------------ output

    def apply(self, actions: Sequence[object]) -> None:
        for a in actions:
            t = type(a)
            if t is Send:
                self.push(a.data)  # type: ignore[attr-defined]
            elif t is Disconnect:
                self.close(a.reason)  # type: ignore[attr-defined]
            elif t is LoadHeld:
                task = asyncio.get_running_loop().create_task(self._load_held(a))  # type: ignore[arg-type]
                self.acceptor.background.add(task)
                task.add_done_callback(self.acceptor.background.discard)
            else:
                self.acceptor.on_action(a)

    async def _load_held(self, a: LoadHeld) -> None:
        """Read older stored messages back for a parked ResendRequest, then let the session
        resume (retried a few times; if the database stays away, the session gap-fills what
        its store cannot give, and the error is logged)."""
        session = self.session
        if session is None:
            return
        for attempt in range(LOAD_HELD_ATTEMPTS):
            try:
                await session.store.load_held(a.begin, a.end)
                break
            except Exception as exc:
                log.warning("resend_load_failed", session=a.session_id, begin=a.begin, end=a.end,
                            attempt=attempt + 1, error=repr(exc))
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            log.error("resend_incomplete", session=a.session_id, begin=a.begin, end=a.end,
                      reason="stored messages could not be read back; gap-filled")
        if self.session is session and not self.closed:
            self.apply(session.resume())
            self._write_out()

    def push(self, data: bytes) -> None:
        """Queue bytes for this turn's write (the ``Send`` case of ``apply``)."""
        if self.transport is not None and not self.closed:
            if not self._out and not self._receiving:
                asyncio.get_running_loop().call_soon(self._write_out)
            self._out.append(data)

    def _write_out(self) -> None:
        """Write what this turn produced, in order, with one call."""
        out, self._out = self._out, []
        transport = self.transport
        if not out or transport is None or transport.is_closing():
            return
        transport.write(out[0] if len(out) == 1 else b"".join(out))
        if not self.closed and transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.close("peer does not read (write buffer full)")

    def _callbacks(self, actions: Sequence[object]) -> None:
        for a in actions:
            if type(a) in (LoggedOn, LoggedOut):
                self.acceptor.on_action(a)

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._write_out()  # what was sent before the close goes out first (e.g. a Logout)
        log.debug("closing connection", peer=self.peer, reason=reason)
        session = self.session
        if session is not None:
            self.session = None
            if self.acceptor.owners.get(session.session_id) is self:
                del self.acceptor.owners[session.session_id]
            if session.connected:
                self._callbacks(session.on_disconnected(reason))
        if self.transport is not None:
            self.transport.close()


class Acceptor:
    """Accepts the configured sessions on one port; ``send`` pushes application messages."""

    def __init__(
        self,
        sessions: Iterable[SessionConfig],
        application: Application,
        store_factory: MessageStoreFactory,
        *,
        clock: Clock = system_clock,
        ssl_context: ssl.SSLContext | None = None,
        authenticator: Authenticator | None = None,
        config: AcceptorConfig | None = None,
    ) -> None:
        self.config = config or AcceptorConfig()
        self.application = application
        self.ssl_context = ssl_context
        self.authenticator = authenticator
        self.sessions: dict[str, Session] = {}
        self.by_key: dict[tuple[str, str, str], Session] = {}
        for cfg in sessions:
            s = Session(cfg, store_factory(cfg.session_id), application, clock)
            self.sessions[cfg.session_id] = s
            self.by_key[cfg.key] = s
        self.owners: dict[str, _Connection] = {}
        self.connections: set[_Connection] = set()
        self.background: set[asyncio.Task[None]] = set()  # LoadHeld reads in flight
        self._server: asyncio.Server | None = None
        self._timer: asyncio.Task[None] | None = None
        self.logged_on: set[str] = set()
        self._stores_open = False

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def open_stores(self) -> None:
        """Load every session's store (once). ``send`` needs it; ``start`` does it too, but a
        host that pushes messages before listening (a gateway replaying its event log)
        calls it first."""
        if self._stores_open:
            return
        for s in self.sessions.values():
            await s.store.open()
        self._stores_open = True

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> None:
        await self.open_stores()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, ssl=self.ssl_context, backlog=1024
        )
        self._timer = asyncio.create_task(self._tick())
        log.info("fix acceptor listening", host=host, port=self.port, sessions=list(self.sessions))

    async def stop(self) -> None:
        """Stop accepting, close every connection (no Logout), flush and close the stores."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close("acceptor stopping")
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for s in self.sessions.values():
            await s.store.close()

    def _live(self, session_id: str) -> tuple[Session, _Connection | None]:
        """The session, and its connection if one is open and attached to it."""
        session = self.sessions[session_id]
        conn = self.owners.get(session_id)
        if conn is not None and conn.session is session and not conn.closed:
            return session, conn
        return session, None

    def send(self, session_id: str, msg_type: str, fields: FieldList) -> bool:
        """Push an application message. True: written to the live connection; False: the
        session is not logged on, so it was only stored (sequence number taken) for the
        counterparty to fetch with a ResendRequest after its next Logon. KeyError for an
        unknown session id."""
        session, conn = self._live(session_id)
        if conn is not None:
            raw = session.push(msg_type, fields)
            if raw is not None:
                conn.push(raw)
                return True
        conn = self.owners.get(session_id)
        actions = session.send(msg_type, fields)
        if conn is None or conn.session is not session or not session.state.accepts_app:
            return False
        conn.apply(actions)
        return True

    def send_run(self, session_id: str, msg_type: str, bodies: list[bytes]) -> bool:
        """``send`` of several messages of one type whose bodies are pre-encoded fields
        (``[(0, body)]`` each), written with one ``Session.push_run`` when the session is
        logged on; otherwise one ``send`` each."""
        session, conn = self._live(session_id)
        if conn is not None:
            raw = session.push_run(msg_type, bodies)
            if raw is not None:
                conn.push(raw)
                return True
        written = False
        for body in bodies:
            written = self.send(session_id, msg_type, [(0, body)])
        return written

    def on_action(self, action: object) -> None:
        if isinstance(action, LoggedOn):
            self.logged_on.add(action.session_id)
            log.info("fix logon", session=action.session_id)
        elif isinstance(action, LoggedOut):
            self.logged_on.discard(action.session_id)
            log.info("fix logout", session=action.session_id, reason=action.reason)

    async def _tick(self) -> None:
        interval = self.config.timer_interval
        flush_every = max(1, round(self.config.flush_interval / interval))
        n = 0
        while True:
            await asyncio.sleep(interval)
            for sid, conn in list(self.owners.items()):
                session = self.sessions[sid]
                if session.connected and conn.session is session:
                    try:
                        conn.apply(session.on_timer())
                    except Exception:  # pragma: no cover - keep other sessions alive
                        log.exception("timer failed", session=sid)
                        conn.close("internal error")
            n += 1
            if n % flush_every == 0:
                results = await asyncio.gather(
                    *(s.store.flush() for s in self.sessions.values()), return_exceptions=True
                )
                for s, r in zip(self.sessions.values(), results, strict=True):
                    if isinstance(r, BaseException):
                        log.error("store flush failed", session=s.session_id, error=repr(r))


def install_uvloop() -> bool:
    """Use uvloop's event loop policy when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


__all__ = ["Acceptor", "install_uvloop"]
