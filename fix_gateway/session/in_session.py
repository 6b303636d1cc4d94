"""Logged on: sequence checks, admin messages, application dispatch, heartbeats.

Order of checks for each message (QuickFIX-compatible, what certification expects):
BeginString -> Logout (no further checks) -> SendingTime accuracy and CompIDs (Reject
then Logout) -> Logon/ResendRequest/SequenceReset-Reset (no sequence check) -> MsgSeqNum
(too high: queue + ResendRequest; too low: PossDup checks or Logout + disconnect) ->
dictionary validation (Reject) -> handler. Heartbeat after HeartBtInt of our silence; TestRequest after 1.2x
HeartBtInt of theirs; disconnect at 2.4x.

The common case, an application message in order with a good header, is recognised by one C
call (``codec.session_check``: the checks up to the sequence number, as below) and goes
straight to ``in_order``; anything it declines takes the checks below, which decide as they
always did (tests/property/test_session_check.py runs both on the same messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fix_gateway.application import BusinessReject, SessionReject
from fix_gateway.codec import session_check
from fix_gateway.session import logout as logout_mod
from fix_gateway.session.state import State
from fix_gateway.session.times import parse_utc
from fix_gateway.validation import (
    COMPID_PROBLEM,
    INCORRECT_DATA_FORMAT,
    REQUIRED_TAG_MISSING,
    SENDING_TIME_ACCURACY,
    VALUE_OUT_OF_RANGE,
    Problem,
)

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session

NS = 1_000_000_000


class InSession(State):
    logged_on = True
    accepts_app = True
    takes_runs = True
    name = "in-session"

    def on_message(self, s: Session, msg: FixMessage) -> State:
        now = s.clock()
        s.last_received_ns = now
        s.test_requests = 0
        store = s.store
        if session_check is not None and session_check(
            msg, s.begin_string_b, s.target_b, s.sender_b, store.next_target_seq, now, s.max_latency_ns
        ):  # an application message, in order, that passes every check below (one C call):
            # what in_order and process do for it, without their two calls
            if s.config.validate:
                problem = s.validator.validate(msg)
                if problem is not None:
                    s.reject(msg, problem)
                    return self
            store.set_next_target_seq(store.next_target_seq + 1)
            deliver(s, msg)
            if s.queue:
                from fix_gateway.session.resend import drain

                return drain(s, self)
            return self
        if msg.begin_string != s.begin_string_b:
            s.send_logout("Incorrect BeginString")
            return logout_mod.logout_sent(s)
        mt = msg.msg_type
        seq_b = msg.get(34)
        if not seq_b or not seq_b.isdigit():
            s.reject_reason(msg, REQUIRED_TAG_MISSING if not seq_b else INCORRECT_DATA_FORMAT, 34)
            return self
        seq = int(seq_b)
        if mt == b"5":
            return logout_mod.logout_received(s, msg)
        bad = check_time_and_compids(s, msg)
        if bad is not None:
            return bad
        if mt == b"4" and msg.get(123) != b"Y":
            return sequence_reset(s, msg, self)
        if mt == b"A":
            return _logon(s, msg, seq, self)
        if mt == b"2":
            from fix_gateway.session.resend import resend_request

            return resend_request(s, msg, seq, self)
        expected = s.store.next_target_seq
        if seq > expected:
            from fix_gateway.session.resend import too_high

            return too_high(s, msg, seq, expected)
        if seq < expected:
            return too_low(s, msg, seq, expected, self)
        return self.in_order(s, msg)

    def in_order(self, s: Session, msg: FixMessage) -> State:
        """Process the expected message, then anything queued behind it."""
        state = process(s, msg, self)
        if s.queue and state.logged_on:
            from fix_gateway.session.resend import drain

            state = drain(s, state)
        return state

    def on_timer(self, s: Session, now: int) -> State:
        hb = s.heart_bt_int_ns
        if not hb:
            return self
        since_recv = now - s.last_received_ns
        if since_recv < hb and now - s.last_sent_ns < hb:
            return self
        if since_recv >= 2.4 * hb:
            return s.disconnect("Timed out waiting for heartbeat")
        if since_recv >= 1.2 * (s.test_requests + 1) * hb:
            s.write("1", ((112, b"TEST"),))
            s.test_requests += 1
        elif now - s.last_sent_ns >= hb and s.test_requests == 0:
            s.send_heartbeat()
        return self


def check_time_and_compids(s: Session, msg: FixMessage) -> State | None:
    sent_b = msg.get(52)
    if not sent_b:
        s.reject_reason(msg, REQUIRED_TAG_MISSING, 52)
        return s.state
    sent = parse_utc(sent_b)
    if sent is None or abs(sent - s.clock()) > s.max_latency_ns:
        s.reject_reason(msg, SENDING_TIME_ACCURACY)
        s.send_logout()
        return logout_mod.logout_sent(s)
    if msg.get(49) != s.target_b or msg.get(56) != s.sender_b:
        s.reject_reason(msg, COMPID_PROBLEM)
        s.send_logout()
        return logout_mod.logout_sent(s)
    return None


def too_low(s: Session, msg: FixMessage, seq: int, expected: int, state: State) -> State:
    if msg.get(43) != b"Y":
        s.send_logout(f"MsgSeqNum too low, expecting {expected} but received {seq}")
        return s.disconnect("MsgSeqNum too low")
    if msg.msg_type != b"4":
        orig_b = msg.get(122)
        if not orig_b:
            s.reject_reason(msg, REQUIRED_TAG_MISSING, 122)
            return state
        orig = parse_utc(orig_b)
        sent = parse_utc(msg.get(52) or b"")
        if orig is None or sent is None or orig > sent:
            s.reject_reason(msg, SENDING_TIME_ACCURACY)
            s.send_logout()
            return logout_mod.logout_sent(s)
    return state  # a duplicate we already processed: ignore


def sequence_reset(s: Session, msg: FixMessage, state: State) -> State:
    """SequenceReset-Reset (123 absent or N): no sequence check; never lowers."""
    new_b = msg.get(36)
    if not new_b or not new_b.isdigit():
        s.reject_reason(msg, REQUIRED_TAG_MISSING if not new_b else INCORRECT_DATA_FORMAT, 36)
        return state
    return apply_new_seq(s, msg, int(new_b), state)


def apply_new_seq(s: Session, msg: FixMessage, new: int, state: State) -> State:
    expected = s.store.next_target_seq
    if new > expected:
        s.store.set_next_target_seq(new)
        for k in [k for k in s.queue if k < new]:
            del s.queue[k]
    elif new < expected:
        s.reject(
            msg, Problem(VALUE_OUT_OF_RANGE, None, "Value is incorrect (out of range) for this tag")
        )
    return state


def process(s: Session, msg: FixMessage, state: State) -> State:
    """Handle a message whose MsgSeqNum is the expected one."""
    if s.config.validate or msg.msg_type in _ADMIN:
        problem = s.validator.validate(msg)
        if problem is not None:
            s.reject(msg, problem)
            return state
    mt = msg.msg_type
    store = s.store
    seq = store.next_target_seq
    handler = _ADMIN.get(mt)
    if handler is not None:
        return handler(s, msg, seq, state)
    store.set_next_target_seq(seq + 1)
    deliver(s, msg)
    return state


def deliver(s: Session, msg: FixMessage) -> None:
    rate = s.config.max_msgs_per_sec
    if rate:
        now = s.clock()
        tokens = min(float(rate), s.tokens + (now - s.tokens_ns) * rate / NS)
        s.tokens_ns = now
        if tokens < 1.0:
            s.tokens = tokens
            s.business_reject(msg, 8 if s.config.is_fixt else 0, "Throttle limit exceeded")
            return
        s.tokens = tokens - 1.0
    reply = s.app.on_message(s.session_id, msg)
    if isinstance(reply, BusinessReject):
        s.business_reject(msg, reply.reason, reply.text, reply.ref_id)
    elif isinstance(reply, SessionReject):
        s.reject(msg, Problem(reply.reason, reply.tag, reply.text))
    else:
        for out in reply:
            s.send_app(out.msg_type, out.fields)


def _heartbeat(s: Session, msg: FixMessage, seq: int, state: State) -> State:
    s.store.set_next_target_seq(seq + 1)
    return state


def _test_request(s: Session, msg: FixMessage, seq: int, state: State) -> State:
    s.store.set_next_target_seq(seq + 1)
    s.send_heartbeat(msg.get(112) or b"")
    return state


def _gap_fill(s: Session, msg: FixMessage, seq: int, state: State) -> State:
    new_b = msg.get(36) or b""
    return apply_new_seq(s, msg, int(new_b), state)


def _logon(s: Session, msg: FixMessage, seq: int, state: State) -> State:
    """A Logon in session: with 141=Y it resets both sequences; otherwise an error."""
    hb_b = msg.get(108) or b""
    if msg.get(141) != b"Y" or not hb_b.isdigit() or s.validator.validate(msg) is not None:
        return s.disconnect("Logon received while logged on")
    from fix_gateway.session.awaiting_logon import logon_accepted

    s.store.reset(s.clock())
    s.queue.clear()
    s.resend_end = 0
    s.app.on_logout(s.session_id)
    return logon_accepted(s, msg, seq, int(hb_b), True)


_ADMIN = {
    b"0": _heartbeat,
    b"1": _test_request,
    b"3": _heartbeat,  # Reject: just consume
    b"4": _gap_fill,
    b"A": _logon,
}

IN_SESSION = InSession()

__all__ = ["IN_SESSION", "InSession", "process"]
