"""The Session object: configuration, store, clock, application, and the current state.

Sans-IO: ``on_connect``, ``on_frame``/``on_bytes``, ``on_timer``, ``send`` and
``on_disconnected`` take input and return the actions (Send, Disconnect, LoggedOn,
LoggedOut) in order. Behaviour per state lives in the state modules (awaiting_logon,
in_session, resend, logout); this module only holds the shared machinery: building and
sending messages (header fields ascending after 8/9/35, SendingTime with milliseconds),
session-level and business rejects with reverse routing, sequence-number bookkeeping.

Invariants: every outgoing message gets the store's next sender seq exactly once, except
SequenceReset-GapFill written during a resend (it carries the seq it replaces); only
application messages are stored (admin messages become gap fills on resend); the target
seq advances only for a message processed in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from fix_gateway import codec
from fix_gateway.application import Application, FieldList, NullApplication, RunTaker
from fix_gateway.codec import FixMessage, Framer, GarbledMessage, encode_bytes, encode_run, parse
from fix_gateway.config import SessionConfig
from fix_gateway.dictionary import load
from fix_gateway.session.actions import Action, Disconnect, LoggedOut, Send
from fix_gateway.session.clock import Clock, system_clock
from fix_gateway.session.state import State
from fix_gateway.session.times import format_utc
from fix_gateway.store import MessageStore
from fix_gateway.validation import TEXTS, Problem, Validator

REVERSE_ROUTE = ((115, 128), (116, 129), (144, 145), (128, 115), (129, 116), (145, 144))
ADMIN_TYPES = frozenset({b"0", b"1", b"2", b"3", b"4", b"5", b"A"})


class Session:
    """One configured FIX session (lives across connections; one connection at a time)."""

    def __init__(
        self,
        config: SessionConfig,
        store: MessageStore,
        application: Application | None = None,
        clock: Clock = system_clock,
        validator: Validator | None = None,
    ) -> None:
        from fix_gateway.session.disconnected import DISCONNECTED

        self.config = config
        self.session_id = config.session_id
        self.store = store
        self.app: Application = application or NullApplication()
        self.clock = clock
        if validator is None:
            transport, app_dict = config.dictionaries()
            validator = Validator(
                load(transport), load(app_dict), frozenset(config.user_defined_fields)
            )
        self.validator = validator
        self.begin_string = config.begin_string
        self.begin_string_b = config.begin_string.encode()
        self.sender_b = config.sender_comp_id.encode()
        self.max_latency_ns = config.max_latency * 1_000_000_000
        self.target_b = config.target_comp_id.encode()
        self.state: State = DISCONNECTED
        self.framer = Framer(config.max_message_size)
        self.out: list[Action] = []
        self._wire: list[bytes] = []
        # per-connection state
        self.authenticated = True
        self.connected_ns = 0
        self.heart_bt_int_ns = 0
        self.last_received_ns = 0
        self.last_sent_ns = 0
        self.test_requests = 0
        self.logout_deadline_ns = 0
        self.queue: dict[int, FixMessage | None] = {}
        self.resend_end = 0  # last seq of the gap we asked for; 0 = none pending
        # a ResendRequest waiting for older stored messages (LoadHeld): nothing is processed
        # until ``resume``; ``held_loaded`` marks its second pass (no second LoadHeld)
        self.parked: FixMessage | None = None
        self.held_loaded = False
        self.tokens = float(config.max_msgs_per_sec)
        self.tokens_ns = 0
        self.seen_clordids: set[bytes] = set()
        # The application's run taker (application.RunTaker), when it has one and nothing
        # here needs each message in Python (a throttle counts them one by one).
        takes = callable(getattr(self.app, "run_args", None)) and not config.max_msgs_per_sec
        self.run_taker = cast(RunTaker, self.app) if takes else None
        self._checks = (self.begin_string_b, self.target_b, self.sender_b, self.max_latency_ns)

    # ------------------------------------------------------------------ inputs

    @property
    def logged_on(self) -> bool:
        return self.state.logged_on

    @property
    def connected(self) -> bool:
        return self.state.connected

    def on_connect(self, authenticated: bool = True) -> list[Action]:
        from fix_gateway.session.awaiting_logon import AWAITING_LOGON

        now = self.clock()
        self.authenticated = authenticated
        self.connected_ns = self.last_received_ns = self.last_sent_ns = now
        self.test_requests = 0
        self.queue.clear()
        self.resend_end = 0
        self.parked = None
        self.framer = Framer(self.config.max_message_size)
        self.state = AWAITING_LOGON
        return self.take()

    def on_bytes(self, data: bytes) -> list[Action]:
        """Feed raw bytes from the connection; frames are processed as they complete."""
        framer = self.framer
        framer.feed(data)
        while self.state.connected and self.parked is None:
            msg = None
            if self.state.takes_runs and self.run_taker is not None and not self.queue:
                msg = self._take_run(framer)  # (the frame it stopped at, parsed, if any)
            if msg is None:
                frame = framer.next_frame()
                if frame is None:
                    break
                try:  # handle_frame, without its call
                    msg = parse(frame)
                except GarbledMessage:
                    self.state = self.state.on_garbled(self, frame)
                    continue
            self.state = self.state.on_message(self, msg)
        return self.take()

    def _take_run(self, framer: Framer) -> FixMessage | None:
        """Let ``codec.take_run`` take the plain requests at the front of the buffer: what
        ``InSession.on_message`` and the application's ``on_message`` would do for each,
        in one C call. Then what the Python path does per message, once: the next expected
        MsgSeqNum, the receive time, the test requests answered. Returns the frame it
        stopped at, parsed and taken off the buffer, for ``on_bytes`` to handle the Python
        way (None: it stopped before a frame it could parse, which ``on_bytes`` reads)."""
        take = codec.take_run
        taker = self.run_taker
        buf, pos, max_size = framer.view()
        if take is None or taker is None or pos >= len(buf):
            return None
        args = taker.run_args(self.session_id)
        if args is None:
            return None
        now = self.clock()
        store = self.store
        expected = store.next_target_seq
        taken: list[tuple[bytes, object]] = []
        try:
            end, n, last_id, stopped, stopped_end = take(
                buf, pos, max_size, self._checks, expected, now,
                self.validator.shapes if self.config.validate else None, *args, taken,
            )
        except BaseException:  # (out of memory): what it took is not kept, as if never read
            taker.untake(self.session_id, taken)
            raise
        if n:
            framer.advance(end)
            self.last_received_ns = now
            self.test_requests = 0
            store.set_next_target_seq(expected + n)
            taker.took(self.session_id, taken, last_id)
        if stopped is not None:
            framer.advance(stopped_end)
        return stopped  # type: ignore[no-any-return]

    def resume(self) -> list[Action]:
        """After ``LoadHeld``: process the parked ResendRequest (with whatever the store now
        holds; what it still lacks is gap-filled), then the frames that arrived meanwhile."""
        msg, self.parked = self.parked, None
        if msg is not None and self.state.connected:
            self.held_loaded = True
            try:
                self.state = self.state.on_message(self, msg)
            finally:
                self.held_loaded = False
        return self.on_bytes(b"")

    def on_frame(self, frame: bytes) -> list[Action]:
        self.handle_frame(frame)
        return self.take()

    def on_message(self, msg: FixMessage) -> list[Action]:
        self.state = self.state.on_message(self, msg)
        return self.take()

    def on_timer(self) -> list[Action]:
        self.state = self.state.on_timer(self, self.clock())
        return self.take()

    def send(self, msg_type: str, fields: FieldList) -> list[Action]:
        """Push an application message (e.g. an ExecutionReport).

        Logged on: sent now. Not logged on (or our Logout already sent): it still takes the
        next sender seq and is stored without being written, so the counterparty gets it by
        ResendRequest after its next Logon (unless that Logon resets the sequences)."""
        if self.state.accepts_app:
            self.send_app(msg_type, fields)
        else:
            self.write(msg_type, fields, store=True)
            self._wire.clear()
        return self.take()

    def push(self, msg_type: str, fields: FieldList) -> bytes | None:
        """``send`` for the hot path: the encoded message to write now, without action
        objects; None when the session does not accept application messages now or has
        other output pending (the caller then uses ``send``)."""
        if not self._pushable():
            return None
        raw = self.write(msg_type, fields, store=True)
        self._wire.clear()
        return raw

    def _pushable(self) -> bool:
        """Application messages may be written straight away: logged on, nothing pending."""
        return self.state.accepts_app and not self._wire and not self.out

    def push_run(self, msg_type: str, bodies: list[bytes]) -> bytes | None:
        """``push`` of several messages of one type, each body pre-encoded (``(0, body)``):
        consecutive sequence numbers, one SendingTime, encoded in one call; the bytes of all
        of them to write now, or None as ``push``."""
        if not self._pushable():
            return None
        now = self.clock()
        store = self.store
        first = store.next_sender_seq
        mt = _MSG_TYPES.get(msg_type)
        if mt is None:
            mt = _MSG_TYPES[msg_type] = msg_type.encode()
        raws = encode_run(self.begin_string_b, mt, self.sender_b, self.target_b, format_utc(now), first, bodies)
        store.store_sent_run(first, raws)
        self.last_sent_ns = now
        return b"".join(raws)

    def on_disconnected(self, reason: str = "connection closed") -> list[Action]:
        """The transport is gone (either side closed)."""
        from fix_gateway.session.disconnected import DISCONNECTED

        if self.state.connected:
            self.went_down(reason)
        self.state = DISCONNECTED
        self.parked = None
        return self.take()

    def handle_frame(self, frame: bytes) -> None:
        try:
            msg = parse(frame)
        except GarbledMessage:
            self.state = self.state.on_garbled(self, frame)
            return
        self.state = self.state.on_message(self, msg)

    def take(self) -> list[Action]:
        wire = self._wire
        if wire:
            self.out.append(Send(wire[0] if len(wire) == 1 else b"".join(wire)))
            wire.clear()
        out = self.out
        if not out:
            return []
        self.out = []
        return out

    # ------------------------------------------------------------------ outputs

    def action(self, a: Action) -> None:
        if self._wire:
            self.out.append(Send(b"".join(self._wire)))
            self._wire.clear()
        self.out.append(a)

    def disconnect(self, reason: str) -> State:
        from fix_gateway.session.disconnected import DISCONNECTED

        if self.state.logged_on or self.state.connected:
            self.went_down(reason)
        self.action(Disconnect(reason))
        return DISCONNECTED

    def went_down(self, reason: str) -> None:
        if self.state.logged_on:
            self.action(LoggedOut(self.session_id, reason))
            self.app.on_logout(self.session_id)

    def write(
        self,
        msg_type: str,
        body: Iterable[tuple[int, str | bytes | int]],
        *,
        store: bool = False,
        header: Iterable[tuple[int, str | bytes | int]] = (),
        seq: int = 0,
    ) -> bytes:
        """Encode and send one message; ``seq`` given = gap fill (sender seq unchanged)."""
        now = self.clock()
        s = seq or self.store.next_sender_seq
        h: list[tuple[int, str | bytes | int]] = [
            (34, s),
            (49, self.sender_b),
            (52, format_utc(now)),
            (56, self.target_b),
        ]
        if header:
            h.extend(header)
            h.sort(key=_tag)
        h.extend(body)
        mt = _MSG_TYPES.get(msg_type)
        if mt is None:
            mt = _MSG_TYPES[msg_type] = msg_type.encode()
        raw = encode_bytes(self.begin_string_b, mt, h)
        self._wire.append(raw)
        self.last_sent_ns = now
        if not seq:
            if store:
                self.store.store_sent(s, raw)
            else:
                self.store.set_next_sender_seq(s + 1)
        return raw

    def send_app(self, msg_type: str, fields: FieldList) -> None:
        self.write(msg_type, fields, store=True)

    def send_heartbeat(self, test_req_id: bytes | None = None) -> None:
        self.write("0", ((112, test_req_id),) if test_req_id is not None else ())

    def send_logout(self, text: str | None = None) -> None:
        self.write("5", ((58, text),) if text else ())

    def send_resend_request(self, begin: int, end_seq: int) -> None:
        self.write("2", ((7, begin), (16, 0)))
        self.resend_end = end_seq

    def reject(self, msg: FixMessage, problem: Problem) -> None:
        """Session-level Reject (35=3) of ``msg``; advances the target seq when ``msg`` was
        the expected one (except Logon and SequenceReset, as QuickFIX does)."""
        body: list[tuple[int, str | bytes | int]] = []
        seq = msg.get(34)
        if seq:
            body.append((45, seq))
        body.append((58, problem.text))
        if problem.tag is not None:
            body.append((371, problem.tag))
        if msg.msg_type:
            body.append((372, msg.msg_type))
        body.append((373, problem.reason))
        self.write("3", body, header=reverse_route(msg))
        mt = msg.msg_type
        if (
            seq
            and mt != b"A"
            and mt != b"4"
            and seq.isdigit()
            and int(seq) == self.store.next_target_seq
        ):
            self.store.set_next_target_seq(int(seq) + 1)

    def reject_reason(self, msg: FixMessage, reason: int, tag: int | None = None) -> None:
        self.reject(msg, Problem(reason, tag, TEXTS[reason]))

    def business_reject(
        self, msg: FixMessage, reason: int, text: str, ref_id: bytes | str | None = None
    ) -> None:
        body: list[tuple[int, str | bytes | int]] = []
        seq = msg.get(34)
        if seq:
            body.append((45, seq))
        body.append((58, text))
        body.append((372, msg.msg_type))
        if ref_id:
            body.append((379, ref_id))
        body.append((380, reason))
        self.write("j", body, header=reverse_route(msg), store=True)


def reverse_route(msg: FixMessage) -> list[tuple[int, str | bytes | int]]:
    out: list[tuple[int, str | bytes | int]] = []
    for src, dst in REVERSE_ROUTE:
        v = msg.get(src)
        if v:
            out.append((dst, v))
    return out


_MSG_TYPES: dict[str, bytes] = {}


def _tag(f: tuple[int, object]) -> int:
    return f[0]


__all__ = ["ADMIN_TYPES", "Session", "reverse_route"]
