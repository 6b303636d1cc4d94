"""Gaps in both directions.

Inbound gap (MsgSeqNum too high): queue the message, send ResendRequest(7=expected,
16=0) unless one covering it is already pending, stay in RESENDING; messages are then
processed strictly in sequence as the gap fills (``drain``). Logon and ResendRequest
queue a placeholder: their sequence number is consumed, they are not re-run.

Outbound (the counterparty's ResendRequest): stored application messages are replayed
with PossDupFlag(43)=Y, OrigSendingTime(122) = their original SendingTime and a fresh
SendingTime; every run of sequence numbers without a stored message (admin messages)
becomes one SequenceReset-GapFill (43=Y, 122, 36=next, 123=Y) carrying the first seq
of the run. EndSeqNo 0 (or beyond the last sent) means "to the last sent".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fix_gateway.codec import encode_bytes, parse
from fix_gateway.session.actions import LoadHeld
from fix_gateway.session.in_session import InSession, process
from fix_gateway.session.state import State
from fix_gateway.session.times import format_utc

if TYPE_CHECKING:
    from fix_gateway.codec import FixMessage
    from fix_gateway.session.core import Session

MAX_QUEUE = 10_000


class Resending(InSession):
    """Logged on with an inbound gap: out-of-order messages wait in ``session.queue``."""

    name = "resending"
    takes_runs = False  # (each message may fill the gap: the Python path for every one)


RESENDING = Resending()


def too_high(s: Session, msg: FixMessage, seq: int, expected: int) -> State:
    if len(s.queue) >= MAX_QUEUE:
        s.send_logout("Too many queued messages")
        return s.disconnect("resend queue overflow")
    s.queue[seq] = msg
    if not s.resend_end or expected > s.resend_end:
        s.send_resend_request(expected, seq - 1)
    return RESENDING


def drain(s: Session, state: State) -> State:
    queue = s.queue
    while state.logged_on:
        expected = s.store.next_target_seq
        for k in [k for k in queue if k < expected]:
            del queue[k]
        if expected not in queue:
            break
        msg = queue.pop(expected)
        if msg is None:
            s.store.set_next_target_seq(expected + 1)
            continue
        state = process(s, msg, state)
        if s.store.next_target_seq == expected:  # not consumed (e.g. rejected SeqReset)
            s.store.set_next_target_seq(expected + 1)
    if s.resend_end and s.store.next_target_seq > s.resend_end:
        s.resend_end = 0
    if state.logged_on and not queue and not s.resend_end:
        from fix_gateway.session.in_session import IN_SESSION

        return IN_SESSION
    return state


def resend_request(s: Session, msg: FixMessage, seq: int, state: State) -> State:
    problem = s.validator.validate(msg)  # admin messages are always validated
    if problem is not None:
        if seq == s.store.next_target_seq:
            s.reject(msg, problem)
        return state
    begin = int(msg.get(7) or b"0")
    end = int(msg.get(16) or b"0")
    held = s.store.first_held()
    if max(begin, 1) < held and not s.held_loaded and (end == 0 or end >= begin):
        # older messages are only in the store's database: park this request (and all that
        # follows) until the shell has read them back (LoadHeld, then Session.resume)
        s.parked = msg
        s.action(LoadHeld(s.session_id, max(begin, 1), held - 1 if end == 0 else min(end, held - 1)))
        return state
    replay(s, begin, end)
    expected = s.store.next_target_seq
    if seq == expected:
        s.store.set_next_target_seq(seq + 1)
        if s.queue:
            return drain(s, state)
    elif seq > expected:
        if seq not in s.queue:
            s.queue[seq] = None
        if not s.resend_end or expected > s.resend_end:
            s.send_resend_request(expected, seq - 1)
        return RESENDING
    return state


def replay(s: Session, begin: int, end: int) -> None:
    last = s.store.next_sender_seq - 1
    if end == 0 or end > last:
        end = last
    if begin < 1:
        begin = 1
    if begin > end:
        return
    now = format_utc(s.clock())
    gap_start = begin
    for seq, raw in s.store.sent_range(begin, end):
        if seq > gap_start:
            gap_fill(s, gap_start, seq, now)
        resend_one(s, seq, raw, now)
        gap_start = seq + 1
    if gap_start <= end:
        gap_fill(s, gap_start, end + 1, now)


def gap_fill(s: Session, seq: int, new_seq: int, now: bytes) -> None:
    s.write("4", ((36, new_seq), (123, "Y")), header=((43, "Y"), (122, now)), seq=seq)


def resend_one(s: Session, seq: int, raw: bytes, now: bytes) -> None:
    """Re-send a stored message: 43=Y, 122=original 52, new 52; other fields unchanged."""
    msg = parse(raw)
    header_tags = s.validator.header_tags
    header: list[tuple[int, bytes | str | int]] = []
    body: list[tuple[int, bytes | str | int]] = []
    orig = None
    for tag, value in msg.fields[3:-1]:
        if tag in header_tags and not body:
            if tag == 52:
                orig = value
                header.append((52, now))
            elif tag not in (43, 122, 97):
                header.append((tag, value))
        else:
            body.append((tag, value))
    header.append((43, b"Y"))
    header.append((122, orig or now))
    header.sort(key=lambda f: f[0])
    out = encode_bytes(s.begin_string_b, msg.msg_type, header + body)
    s._wire.append(out)
    s.last_sent_ns = s.clock()


__all__ = ["RESENDING", "Resending", "drain", "replay", "resend_request", "too_high"]
