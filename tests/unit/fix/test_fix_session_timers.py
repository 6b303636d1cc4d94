"""Heartbeats and test requests on the injected clock (4a, 4b, 6)."""

from __future__ import annotations

from fix_scenario import Scenario, field


def test_heartbeat_after_heart_bt_int_of_silence() -> None:
    s = Scenario()
    s.logon(hb=3)
    assert s.tick(2.9) == []
    s.send("0")  # the counterparty talks, keeps the test request away
    [hb] = s.tick(0.2)
    assert hb.msg_type == b"0" and field(hb, 112) is None


def test_test_request_after_1_2_heart_bt_int_then_disconnect_at_2_4() -> None:
    s = Scenario()
    s.logon(hb=10)
    [hb] = s.tick(10)
    assert hb.msg_type == b"0"
    [tr] = s.tick(2.1)
    assert tr.msg_type == b"1" and field(tr, 112) == "TEST"
    assert s.tick(5) == [] and not s.disconnected  # 17.1 s
    assert s.tick(6.9) == [] and s.disconnected  # 24 s = 2.4x


def test_answered_test_request_keeps_the_session() -> None:
    s = Scenario()
    s.logon(hb=10)
    s.tick(10)
    [tr] = s.tick(2.1)
    assert tr.msg_type == b"1"
    s.send("0", [(112, "TEST")])
    assert s.tick(11) != [] and not s.disconnected


def test_test_request_is_answered_with_heartbeat() -> None:
    s = Scenario()
    s.logon()
    [hb] = s.send("1", [(112, "4b")])
    assert hb.msg_type == b"0" and field(hb, 112) == "4b"


def test_zero_heart_bt_int_means_no_timers() -> None:
    s = Scenario()
    s.logon(hb=0)
    assert s.tick(1000) == [] and not s.disconnected


def test_logon_timeout_disconnects_a_silent_connection() -> None:
    s = Scenario(logon_timeout=5.0)
    s.tick(4)
    assert not s.disconnected
    s.tick(1.1)
    assert s.disconnected
