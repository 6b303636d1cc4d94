"""Logout in both directions.

Counterparty's Logout while logged on: answer with Logout, disconnect. Our Logout (after
a CompID/SendingTime problem or an incorrect BeginString): LOGOUT_SENT waits up to
``logout_timeout`` for their Logout, ignores anything else, then disconnects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fix_gateway.session.state import State

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session

NS = 1_000_000_000


class LogoutSent(State):
    logged_on = True
    name = "logout-sent"

    def on_message(self, s: Session, msg: FixMessage) -> State:
        s.last_received_ns = s.clock()
        if msg.msg_type == b"5":
            seq_b = msg.get(34) or b""
            if seq_b.isdigit() and int(seq_b) == s.store.next_target_seq:
                s.store.set_next_target_seq(int(seq_b) + 1)
            return s.disconnect("Logout response received")
        return self

    def on_timer(self, s: Session, now: int) -> State:
        if now >= s.logout_deadline_ns:
            return s.disconnect("no Logout response within logout_timeout")
        return self


LOGOUT_SENT = LogoutSent()


def logout_sent(s: Session) -> State:
    s.logout_deadline_ns = s.clock() + int(s.config.logout_timeout * NS)
    return LOGOUT_SENT


def logout_received(s: Session, msg: FixMessage) -> State:
    seq_b = msg.get(34) or b""
    if seq_b.isdigit() and int(seq_b) == s.store.next_target_seq:
        s.store.set_next_target_seq(int(seq_b) + 1)
    s.send_logout()
    return s.disconnect("Logout received")


__all__ = ["LOGOUT_SENT", "LogoutSent", "logout_received", "logout_sent"]
