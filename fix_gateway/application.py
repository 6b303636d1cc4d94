"""The application seam: what the session layer calls, and what it accepts back.

The session calls the application synchronously, in sequence order, on the event loop
thread (so outgoing replies get the next sequence numbers right after the message that
caused them). Long work must be handed off; results are pushed later with
``Acceptor.send(session_id, msg_type, fields)`` (e.g. ExecutionReports from the engine).
Incoming application messages have passed dictionary validation (when the session's
``validate`` is on) before ``on_message`` sees them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import NamedTuple, Protocol

from fix_gateway.codec import FixMessage

FieldList = Sequence[tuple[int, str | bytes | int]]


class Outgoing(NamedTuple):
    """An application message to send: MsgType and body fields (the session adds header)."""

    msg_type: str
    fields: FieldList


class BusinessReject(NamedTuple):
    """Answer with BusinessMessageReject (35=j): 45, 372, 380, 58 (and 379 if ref_id)."""

    reason: int  # BusinessRejectReason (380), e.g. 3 = Unsupported Message Type
    text: str
    ref_id: bytes | str | None = None  # BusinessRejectRefID (379)


class SessionReject(NamedTuple):
    """Answer with a session-level Reject (35=3)."""

    reason: int  # SessionRejectReason (373)
    text: str
    tag: int | None = None  # RefTagID (371)


Reply = Sequence[Outgoing] | BusinessReject | SessionReject


class Application(Protocol):
    def on_logon(self, session_id: str) -> None: ...

    def on_logout(self, session_id: str) -> None: ...

    def on_message(self, session_id: str, message: FixMessage) -> Reply:
        """Handle one validated application message; return replies (maybe empty)."""
        ...


class RunTaker(Protocol):
    """What an application offers to take a run of plain requests straight from a session's
    bytes (optional; the order-entry application has it). For each read, a logged-on session
    in order asks ``run_args`` for the application's part of ``codec.take_run`` (None: not
    now), lets the C call take the frames it can (the session's checks, validation and the
    application's translation, all as the Python path would do them), and hands what it took
    to ``took``. A frame the call declines takes the Python path (``on_message``) as always."""

    def run_args(self, session_id: str) -> tuple[object, ...] | None:
        """(plan, gateway id, last id, now_ns, inflight, inflight keys, orders by ClOrdID)."""
        ...

    def took(self, session_id: str, requests: list[tuple[bytes, object]], last_id: int) -> None:
        """The run's (command record, RequestMeta) in order, and the last id given out."""
        ...

    def untake(self, session_id: str, requests: list[tuple[bytes, object]]) -> None:
        """The call failed after taking these (it raised): forget them, as if never read."""
        ...


class Sender(Protocol):
    """Asynchronous push into a session (implemented by ``Acceptor``)."""

    def send(self, session_id: str, msg_type: str, fields: FieldList) -> bool:
        """Queue an application message; False if the session is not logged on."""
        ...


class Authenticator(Protocol):
    """Checks Username (553) / Password (554) of a Logon. Sync or async (awaited)."""

    def __call__(
        self, session_id: str, username: str | None, password: str | None
    ) -> bool | Awaitable[bool]: ...


class NullApplication:
    """Accepts everything, answers nothing."""

    def on_logon(self, session_id: str) -> None:
        pass

    def on_logout(self, session_id: str) -> None:
        pass

    def on_message(self, session_id: str, message: FixMessage) -> Reply:
        return ()


__all__ = [
    "Application",
    "Authenticator",
    "BusinessReject",
    "FieldList",
    "NullApplication",
    "Outgoing",
    "Reply",
    "RunTaker",
    "Sender",
    "SessionReject",
]
