"""No connection: everything is ignored until on_connect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fix_gateway.session.state import State

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session


class Disconnected(State):
    connected = False
    name = "disconnected"

    def on_message(self, s: Session, msg: FixMessage) -> State:
        return self


DISCONNECTED = Disconnected()

__all__ = ["DISCONNECTED", "Disconnected"]
