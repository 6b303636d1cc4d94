"""Scenario harness for the sans-IO session: bytes in, bytes out, test clock."""

from __future__ import annotations

from collections.abc import Sequence

from certification.profile import EchoApplication, certification_sessions
from fix_gateway.application import Application
from fix_gateway.codec import FixMessage, encode, parse
from fix_gateway.config import SessionConfig
from fix_gateway.session import Disconnect, LoggedOn, LoggedOut, Send, Session, TestClock
from fix_gateway.session.times import format_utc
from fix_gateway.stores.memory import MemoryMessageStore

Field = tuple[int, str | bytes | int]


class Scenario:
    """Drives one Session like a counterparty would; collects what comes back."""

    def __init__(
        self,
        fixt: bool = False,
        app: Application | None = None,
        authenticated: bool = True,
        **overrides: object,
    ) -> None:
        cfgs = certification_sessions(**overrides)
        self.config: SessionConfig = cfgs[1] if fixt else cfgs[0]
        self.begin = self.config.begin_string
        self.us = self.config.target_comp_id  # the counterparty's CompID
        self.them = self.config.sender_comp_id
        self.clock = TestClock()
        self.store = MemoryMessageStore()
        self.session = Session(self.config, self.store, app or EchoApplication(), self.clock)
        self.sent: list[FixMessage] = []
        self.events: list[object] = []
        self.disconnected = False
        self.next_seq = 1
        self._absorb(self.session.on_connect(authenticated))

    # ----------------------------------------------------------------- building

    def now(self, offset: float = 0.0) -> bytes:
        return format_utc(self.clock() + int(offset * 1e9))

    def message(
        self,
        msg_type: str,
        body: Sequence[Field] = (),
        *,
        seq: int | None = None,
        header: Sequence[Field] = (),
        sending_time: bytes | None = None,
        begin: str | None = None,
        sender: str | None = None,
        target: str | None = None,
    ) -> bytes:
        if seq is None:
            seq = self.next_seq
            self.next_seq += 1
        h: list[Field] = [
            (34, seq),
            (49, sender or self.us),
            (52, sending_time or self.now()),
            (56, target or self.them),
            *header,
        ]
        return encode(begin or self.begin, msg_type, [*h, *body])

    def logon(
        self, hb: int = 30, extra: Sequence[Field] = (), seq: int | None = None
    ) -> list[FixMessage]:
        body: list[Field] = [(98, 0), (108, hb), *extra]
        if self.config.is_fixt and not any(t == 1137 for t, _ in extra):
            body.append((1137, "9"))
        return self.send_raw(self.message("A", body, seq=seq))

    # ----------------------------------------------------------------- driving

    def send(self, msg_type: str, body: Sequence[Field] = (), **kw: object) -> list[FixMessage]:
        return self.send_raw(self.message(msg_type, body, **kw))  # type: ignore[arg-type]

    def send_raw(self, data: bytes) -> list[FixMessage]:
        return self._absorb(self.session.on_bytes(data))

    def tick(self, seconds: float) -> list[FixMessage]:
        self.clock.advance(seconds)
        return self._absorb(self.session.on_timer())

    def _absorb(self, actions: Sequence[object]) -> list[FixMessage]:
        got: list[FixMessage] = []
        for a in actions:
            if isinstance(a, Send):
                data = a.data
                while data:
                    end = data.index(b"\x0110=") + 8
                    got.append(parse(data[:end]))
                    data = data[end:]
            elif isinstance(a, Disconnect):
                self.disconnected = True
                self.events.append(a)
            elif isinstance(a, LoggedOn | LoggedOut):
                self.events.append(a)
        self.sent.extend(got)
        return got


def tags(msg: FixMessage) -> list[int]:
    return [t for t, _ in msg.fields]


def field(msg: FixMessage, tag: int) -> str | None:
    v = msg.get(tag)
    return None if v is None else v.decode()
