"""The State interface: each handler returns the next state (quickfixgo style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session


class State:
    logged_on = False
    connected = True
    accepts_app = False  # application messages may be written now
    takes_runs = False  # in-order plain requests may be taken a run at a time (Session._take_run)
    name = "state"

    def on_message(self, s: Session, msg: FixMessage) -> State:
        raise NotImplementedError

    def on_garbled(self, s: Session, frame: bytes) -> State:
        """Garbled frames are dropped silently; the next good message reveals the gap."""
        return self

    def on_timer(self, s: Session, now: int) -> State:
        return self

    def __repr__(self) -> str:
        return f"<{self.name}>"


__all__ = ["State"]
