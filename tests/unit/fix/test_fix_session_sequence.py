"""Sequence numbers, gaps, resends, PossDup, SequenceReset (2a-2g, 8, 10, 11a-11c, 20)."""

from __future__ import annotations

import asyncio

import pytest
from fix_scenario import Scenario, field, tags

from fix_gateway.session.actions import LoadHeld
from fix_gateway.stores.memory import MemoryMessageStore

NOS = [(11, "ID"), (21, "3"), (40, "1"), (54, "1"), (55, "INTC"), (60, "20261122-00:00:00")]


def logged_on(**kw: object) -> Scenario:
    s = Scenario(**kw)  # type: ignore[arg-type]
    s.logon()
    return s


def test_expected_seq_is_processed() -> None:
    s = logged_on()
    [hb] = s.send("1", [(112, "T")])
    assert hb.msg_type == b"0" and field(hb, 112) == "T" and field(hb, 34) == "2"
    assert s.store.next_target_seq == 3


def test_seq_too_high_sends_resend_request_and_queues_until_gap_filled() -> None:
    s = logged_on()
    [rr] = s.send("1", [(112, "LATE")], seq=4)
    assert rr.msg_type == b"2" and field(rr, 7) == "2" and field(rr, 16) == "0"
    assert s.session.state.name == "resending"
    # another too-high message does not repeat the ResendRequest
    assert s.send("1", [(112, "LATER")], seq=5) == []
    # the counterparty resends 2 and 3 (PossDup)
    assert s.send("0", seq=2, header=[(43, "Y"), (122, s.now())]) == []
    out = s.send("0", seq=3, header=[(43, "Y"), (122, s.now())])
    assert [field(m, 112) for m in out] == ["LATE", "LATER"]
    assert s.store.next_target_seq == 6
    assert s.session.state.name == "in-session"


def test_gap_fill_fills_the_gap_and_releases_the_queue() -> None:
    s = logged_on()
    s.send("1", [(112, "Q")], seq=5)
    out = s.send("4", [(36, 5), (123, "Y")], seq=2, header=[(43, "Y"), (122, s.now())])
    assert [m.msg_type for m in out] == [b"0"] and field(out[0], 112) == "Q"
    assert s.store.next_target_seq == 6


def test_seq_too_low_without_possdup_logs_out_and_disconnects() -> None:
    s = logged_on()
    s.send("0")
    s.send("0")
    [logout] = s.send("0", seq=2)
    assert logout.msg_type == b"5"
    assert field(logout, 58) == "MsgSeqNum too low, expecting 4 but received 2"
    assert s.disconnected


def test_possdup_already_received_is_ignored() -> None:
    s = logged_on()
    s.send("0")
    assert s.send("0", seq=2, header=[(43, "Y"), (122, s.now())]) == []
    assert not s.disconnected and s.store.next_target_seq == 3


def test_possdup_with_orig_sending_time_after_sending_time_rejects_and_logs_out() -> None:
    s = logged_on()
    s.send("D", NOS)
    s.send("D", NOS)
    out = s.send("D", NOS, seq=2, header=[(43, "Y"), (122, s.now(10))])
    assert [m.msg_type for m in out] == [b"3", b"5"]
    rej = out[0]
    assert field(rej, 373) == "10" and field(rej, 45) == "2" and field(rej, 371) is None
    assert field(rej, 58) == "SendingTime accuracy problem"
    assert s.session.state.name == "logout-sent"
    s.send("5")
    assert s.disconnected


def test_possdup_without_orig_sending_time_is_rejected_without_consuming_seq() -> None:
    s = logged_on()
    s.send("D", NOS)
    s.send("D", NOS)
    [rej] = s.send("D", NOS, seq=2, header=[(43, "Y")])
    assert rej.msg_type == b"3"
    assert (field(rej, 371), field(rej, 373), field(rej, 58)) == (
        "122",
        "1",
        "Required tag missing",
    )
    [hb] = s.send("1", [(112, "AFTER")])  # seq 4 is still the expected one
    assert field(hb, 112) == "AFTER"


def test_resend_request_replays_app_messages_and_gap_fills_admin() -> None:
    s = logged_on()
    for _ in range(3):
        s.send("1", [(112, "H")])  # our 2-4: heartbeats (admin)
    s.send("D", NOS)  # our 5: echo (app)
    s.send("D", [*NOS[:4], (55, "CDG"), NOS[5]])  # our 6
    s.send("1", [(112, "H")])  # our 7 (admin)
    out = s.send("2", [(7, 2), (16, 0)])
    assert [(m.msg_type, field(m, 34)) for m in out] == [
        (b"4", "2"),
        (b"D", "5"),
        (b"D", "6"),
        (b"4", "7"),
    ]
    gf = out[0]
    assert (field(gf, 36), field(gf, 123), field(gf, 43)) == ("5", "Y", "Y")
    assert tags(gf)[3:9] == [34, 43, 49, 52, 56, 122]
    d5 = out[1]
    assert field(d5, 43) == "Y" and field(d5, 122) is not None and field(d5, 55) == "INTC"
    assert tags(d5)[3:9] == [34, 43, 49, 52, 56, 122]
    assert field(out[3], 36) == "8"
    # our sequence continues after the last real message
    [hb] = s.send("1", [(112, "N")])
    assert field(hb, 34) == "8"


def test_resend_request_with_explicit_end() -> None:
    s = logged_on()
    for _ in range(3):
        s.send("1", [(112, "H")])
    [gf] = s.send("2", [(7, 2), (16, 3)])
    assert field(gf, 34) == "2" and field(gf, 36) == "4"


def test_resend_request_with_seq_too_high_is_answered_and_gap_requested() -> None:
    s = logged_on()
    s.send("D", NOS)  # our 2
    out = s.send("2", [(7, 2), (16, 2)], seq=5)
    assert [m.msg_type for m in out] == [b"D", b"2"]
    assert field(out[1], 7) == "3"


def test_sequence_reset_reset_mode_is_not_seq_checked() -> None:
    s = logged_on()
    assert s.send("4", [(36, 10)], seq=999) == []
    assert s.store.next_target_seq == 10


def test_sequence_reset_to_lower_number_is_rejected_value_incorrect() -> None:
    s = logged_on()
    s.send("0")
    [rej] = s.send("4", [(36, 1)], seq=0)
    assert rej.msg_type == b"3"
    assert (field(rej, 373), field(rej, 371), field(rej, 45), field(rej, 372)) == (
        "5",
        None,
        "0",
        "4",
    )
    assert field(rej, 58) == "Value is incorrect (out of range) for this tag"
    assert s.store.next_target_seq == 3


def test_sequence_reset_equal_changes_nothing() -> None:
    s = logged_on()
    assert s.send("4", [(36, 2)], seq=0) == []
    assert s.store.next_target_seq == 2


def test_gap_fill_is_sequence_checked() -> None:
    s = logged_on()
    s.send("0")
    [logout] = s.send("4", [(36, 20), (123, "Y")], seq=1)
    assert field(logout, 58) == "MsgSeqNum too low, expecting 3 but received 1"
    assert s.disconnected


def test_gap_fill_too_high_triggers_resend_request() -> None:
    s = logged_on()
    [rr] = s.send("4", [(36, 20), (123, "Y")], seq=5)
    assert rr.msg_type == b"2" and field(rr, 7) == "2"


def test_garbled_messages_are_dropped_silently_and_the_gap_shows_later() -> None:
    s = logged_on()
    good = s.message("1", [(112, "G")])
    bad_checksum = good[:-4] + (b"000" if good[-4:-1] != b"000" else b"001") + b"\x01"
    assert s.send_raw(bad_checksum) == []
    bad_length = good.replace(b"\x019=", b"\x019=1", 1)
    assert s.send_raw(bad_length) == []
    assert s.send_raw(b"35=0\x018=FIX.4.4\x019=5\x01garbage\x01") == []
    assert not s.disconnected
    [rr] = s.send("0")
    assert rr.msg_type == b"2" and field(rr, 7) == "2"


def test_queue_processes_admin_and_app_in_order() -> None:
    s = logged_on()
    s.send("D", NOS, seq=3)
    s.send("1", [(112, "Z")], seq=4)
    out = s.send("0", seq=2, header=[(43, "Y"), (122, s.now())])
    assert [m.msg_type for m in out] == [b"D", b"0"]


def test_push_run_writes_what_pushes_one_by_one_would() -> None:
    """The ExecutionReport run path: one encode call for several pre-encoded bodies gives the
    bytes of one ``push`` per body, stores each message and advances the sender seq."""
    bodies = [b"37=1\x0111=A\x01150=0\x01", b"37=2\x0111=B\x01150=F\x01", b"37=3\x0111=C\x01150=4\x01"]
    one, run = logged_on(), logged_on()
    singles = [one.session.push("8", [(0, b)]) for b in bodies]
    joined = run.session.push_run("8", bodies)
    assert joined is not None and None not in singles
    assert joined == b"".join(singles)  # type: ignore[arg-type]
    assert run.store.next_sender_seq == one.store.next_sender_seq == 5
    assert list(run.store.sent_range(2, 0)) == list(one.store.sent_range(2, 0))


def test_push_run_declines_when_not_logged_on() -> None:
    s = Scenario()
    assert s.session.push_run("8", [b"37=1\x01"]) is None
    assert s.store.next_sender_seq == 1


class WindowedStore(MemoryMessageStore):
    """A store holding only sequence numbers >= ``held_from`` in memory (as the PostgreSQL
    store does past ``memory_limit``); ``load_held`` brings the rest back, unless ``broken``."""

    def __init__(self) -> None:
        super().__init__()
        self.held_from = 1
        self.broken = False
        self.loads: list[tuple[int, int]] = []

    def first_held(self) -> int:
        return self.held_from

    def sent_range(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        return [(q, raw) for q, raw in super().sent_range(begin, end) if q >= self.held_from]

    async def load_held(self, begin: int, end: int) -> None:
        self.loads.append((begin, end))
        if self.broken:
            raise OSError("database away")
        self.held_from = min(self.held_from, begin)


def windowed(held_from: int, *, broken: bool = False) -> tuple[Scenario, WindowedStore]:
    s = Scenario()
    store = WindowedStore()
    s.store = s.session.store = store  # (before the Logon: the session has stored nothing yet)
    s.logon()
    for i in range(2, 8):  # application messages 2..7 (1 was the Logon)
        s.session.push("8", [(0, b"37=%d\x01" % i)])
    store.held_from, store.broken = held_from, broken
    return s, store


def test_resend_below_the_held_window_waits_for_the_store_then_replays_in_order() -> None:
    s, store = windowed(5)
    request = s.message("2", [(7, 2), (16, 0)])
    test = s.message("1", [(112, "AFTER")])
    actions = s.session.on_bytes(request + test)  # both arrive in one read
    [load] = [a for a in actions if isinstance(a, LoadHeld)]
    assert (load.begin, load.end) == (2, 4)
    assert s._absorb(actions) == []  # nothing answered, the TestRequest not processed yet

    asyncio.run(store.load_held(load.begin, load.end))
    out = s._absorb(s.session.resume())
    assert [(field(m, 35), field(m, 34), field(m, 43)) for m in out] == [
        *[("8", str(i), "Y") for i in range(2, 8)],
        ("0", "8", None),  # the Heartbeat answering the TestRequest, after the replay
    ]
    assert field(out[-1], 112) == "AFTER"
    assert s.store.next_target_seq == 4


def test_resend_when_the_store_cannot_load_gap_fills_what_it_lacks() -> None:
    s, store = windowed(5, broken=True)
    actions = s.session.on_bytes(s.message("2", [(7, 2), (16, 0)]))
    [load] = [a for a in actions if isinstance(a, LoadHeld)]
    with pytest.raises(OSError):
        asyncio.run(store.load_held(load.begin, load.end))
    out = s._absorb(s.session.resume())
    assert [(field(m, 35), field(m, 34), field(m, 36)) for m in out] == [
        ("4", "2", "5"),  # SequenceReset-GapFill over what could not be read back
        *[("8", str(i), None) for i in range(5, 8)],
    ]


def test_resend_inside_the_held_window_needs_no_load() -> None:
    s, store = windowed(5)
    out = s.send("2", [(7, 5), (16, 6)])
    assert [(field(m, 35), field(m, 34)) for m in out] == [("8", "5"), ("8", "6")]
    assert store.loads == []
