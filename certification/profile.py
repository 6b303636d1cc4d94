"""The certification profile: the echo application and ``serve``.

What the standard FIX session test suite assumes of the acceptor (see
docs/fix.md and /design/fix-conformance.md): SenderCompID ISLD, sessions TW44 (FIX.4.4)
and TW50SP2 (FIXT.1.1, DefaultApplVerID 9), the standard dictionaries, ResetOnLogon=Y,
memory message store, no NATS/PostgreSQL, business validation off. The application echoes
NewOrderSingle (D), SecurityDefinition (d) and Email (C) back unchanged (body fields in
tag order, groups intact, as QuickFIX writes them); a D with PossResend(97)=Y whose
ClOrdID was already seen since logon is ignored; anything else is answered with
BusinessMessageReject 380=3 "Unsupported Message Type".
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from fix_gateway.acceptor import Acceptor
from fix_gateway.application import BusinessReject, Outgoing, Reply
from fix_gateway.codec import FixMessage
from fix_gateway.config import FIX44, FIXT11, SessionConfig
from fix_gateway.dictionary import load
from fix_gateway.fields import body_fields, canonical_body
from fix_gateway.stores.memory import memory_store_factory
from fix_gateway.validation import Validator

ECHOED = frozenset({b"D", b"d", b"C"})
SENDER = "ISLD"


def certification_sessions(**overrides: object) -> tuple[SessionConfig, ...]:
    common: dict[str, object] = {"sender_comp_id": SENDER, "reset_on_logon": True}
    common.update(overrides)
    return (
        SessionConfig(begin_string=FIX44, target_comp_id="TW44", **common),  # type: ignore[arg-type]
        SessionConfig(
            begin_string=FIXT11,
            target_comp_id="TW50SP2",
            default_appl_ver_id="9",
            **common,  # type: ignore[arg-type]
        ),
    )


class EchoApplication:
    """Echo D/d/C; BusinessMessageReject 380=3 for every other application message."""

    def __init__(self) -> None:
        self._seen: dict[str, set[bytes]] = {}
        self._perms: dict[tuple[bytes, bytes | None] | None, list[int]] = {}
        self._validators = {
            FIX44.encode(): Validator(load("FIX44")),
            FIXT11.encode(): Validator(load("FIXT11"), load("FIX50SP2")),
        }

    def on_logon(self, session_id: str) -> None:
        self._seen[session_id] = set()

    def on_logout(self, session_id: str) -> None:
        self._seen.pop(session_id, None)

    def on_message(self, session_id: str, message: FixMessage) -> Reply:
        mt = message.msg_type
        if mt not in ECHOED:
            return BusinessReject(3, "Unsupported Message Type")
        if mt == b"D":
            seen = self._seen.setdefault(session_id, set())
            clordid = message.get(11) or b""
            if message.get(97) == b"Y" and clordid in seen:
                return ()
            seen.add(clordid)
        return (Outgoing(mt.decode(), self._echo_body(message)),)

    def _echo_body(self, message: FixMessage) -> list[tuple[int, bytes]]:
        """Body in canonical order; the permutation is cached per (MsgType, tag shape)."""
        fields = message.fields
        key = (message.msg_type, message.shape) if message.shape is not None else None
        perm = self._perms.get(key) if key is not None else None
        if perm is None:
            v = self._validators[message.begin_string]
            ordered = canonical_body(
                body_fields(message, v.header_tags), v.message_def(message.msg_type)
            )
            positions = {id(f): i for i, f in enumerate(fields)}
            perm = [positions[id(f)] for f in ordered]
            if key is not None:
                if len(self._perms) > 4096:
                    self._perms.clear()
                self._perms[key] = perm
        return [fields[i] for i in perm]


async def serve(
    host: str = "127.0.0.1",
    port: int = 9878,
    *,
    ssl_context: ssl.SSLContext | None = None,
    sessions: Sequence[SessionConfig] | None = None,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the certification acceptor until ``stop`` is set (or forever)."""
    acceptor = Acceptor(
        sessions or certification_sessions(),
        EchoApplication(),
        memory_store_factory(),
        ssl_context=ssl_context,
    )
    await acceptor.start(host, port)
    try:
        if ready is not None:
            ready.set()
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await acceptor.stop()


__all__ = ["SENDER", "EchoApplication", "certification_sessions", "serve"]
