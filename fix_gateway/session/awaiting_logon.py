"""Connected, no Logon yet. The first message must be a valid Logon for this session.

Silent disconnect (no bytes) when: the first message is not a Logon, it is garbled,
BeginString/CompIDs do not match, FIXT Logon lacks DefaultApplVerID(1137), SendingTime
is missing or off by more than max_latency, or it fails dictionary validation. A Logout
with a reason is sent before disconnecting for: HeartBtInt out of the configured range,
failed authentication, MsgSeqNum too low.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fix_gateway.session.actions import LoggedOn
from fix_gateway.session.state import State
from fix_gateway.session.times import parse_utc

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session

NS = 1_000_000_000


class AwaitingLogon(State):
    name = "awaiting-logon"

    def on_garbled(self, s: Session, frame: bytes) -> State:
        return s.disconnect("garbled first message")

    def on_timer(self, s: Session, now: int) -> State:
        if now - s.connected_ns >= s.config.logon_timeout * NS:
            return s.disconnect("no Logon within logon_timeout")
        return self

    def on_message(self, s: Session, msg: FixMessage) -> State:
        cfg = s.config
        if msg.msg_type != b"A":
            return s.disconnect("first message is not a Logon")
        if (
            msg.begin_string != s.begin_string_b
            or msg.get(49) != s.target_b
            or msg.get(56) != s.sender_b
        ):
            return s.disconnect("Logon for another session")
        if cfg.is_fixt and not msg.get(1137):
            return s.disconnect("FIXT Logon without DefaultApplVerID(1137)")
        now = s.clock()
        sent = parse_utc(msg.get(52) or b"")
        if sent is None or abs(sent - now) > cfg.max_latency * NS:
            return s.disconnect("Logon SendingTime accuracy problem")
        if cfg.validate and s.validator.validate(msg) is not None:
            return s.disconnect("invalid Logon")
        seq_b = msg.get(34) or b""
        hb_b = msg.get(108) or b""
        if not seq_b.isdigit() or not hb_b.isdigit():
            return s.disconnect("invalid Logon")
        hb = int(hb_b)
        if hb and not (cfg.heartbeat_min <= hb <= cfg.heartbeat_max):
            s.send_logout(
                f"HeartBtInt must be 0 or between {cfg.heartbeat_min} and {cfg.heartbeat_max}"
            )
            return s.disconnect("HeartBtInt out of range")
        if not s.authenticated:
            s.send_logout("Logon rejected: invalid credentials")
            return s.disconnect("authentication failed")
        reset = msg.get(141) == b"Y"
        store = s.store
        if reset or cfg.reset_on_logon:
            store.reset(now)
        seq = int(seq_b)
        expected = store.next_target_seq
        if seq < expected and not reset:
            s.send_logout(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return s.disconnect("MsgSeqNum too low on Logon")
        return logon_accepted(s, msg, seq, hb, reset)


def logon_accepted(s: Session, msg: FixMessage, seq: int, hb: int, reset: bool) -> State:
    """Answer the Logon and enter the session (also used for a 141=Y Logon mid-session)."""
    from fix_gateway.session.in_session import IN_SESSION
    from fix_gateway.session.resend import RESENDING

    s.heart_bt_int_ns = hb * NS
    s.test_requests = 0
    s.seen_clordids.clear()
    body: list[tuple[int, str | bytes | int]] = [(98, 0), (108, hb)]
    if reset:
        body.append((141, "Y"))
    if s.config.is_fixt:
        body.append((1137, s.config.default_appl_ver_id))
    s.write("A", body)
    s.last_received_ns = s.clock()
    expected = s.store.next_target_seq
    state: State = IN_SESSION
    s.action(LoggedOn(s.session_id))
    s.app.on_logon(s.session_id)
    if seq > expected:
        s.queue[seq] = None  # the Logon's own seq is consumed once the gap is filled
        s.send_resend_request(expected, seq - 1)
        state = RESENDING
    else:
        s.store.set_next_target_seq(seq + 1)
    return state


AWAITING_LOGON = AwaitingLogon()

__all__ = ["AWAITING_LOGON", "AwaitingLogon", "logon_accepted"]
