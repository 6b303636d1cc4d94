"""Logon, logout and the silent-disconnect cases (test cases 1a-1e, 13b, 2t, SessionReset)."""

from __future__ import annotations

from fix_scenario import Scenario, field, tags

from fix_gateway.session import LoggedOn, LoggedOut


def test_logon_reply_echoes_heartbeat_and_enters_session() -> None:
    s = Scenario()
    [reply] = s.logon(hb=30)
    assert reply.msg_type == b"A"
    assert tags(reply) == [8, 9, 35, 34, 49, 52, 56, 98, 108, 10]
    assert field(reply, 108) == "30" and field(reply, 98) == "0" and field(reply, 34) == "1"
    assert field(reply, 49) == "ISLD" and field(reply, 56) == "TW44"
    assert s.session.logged_on
    assert any(isinstance(e, LoggedOn) for e in s.events)


def test_outgoing_sending_time_has_milliseconds() -> None:
    s = Scenario()
    [reply] = s.logon()
    value = field(reply, 52)
    assert value is not None and len(value) == 21 and value[17] == "."


def test_logon_with_reset_flag_is_echoed() -> None:
    s = Scenario()
    [reply] = s.logon(extra=[(141, "Y")])
    assert field(reply, 141) == "Y"


def test_fixt_logon_reply_carries_default_appl_ver_id() -> None:
    s = Scenario(fixt=True)
    [reply] = s.logon()
    assert reply.begin_string == b"FIXT.1.1"
    assert field(reply, 1137) == "9"
    assert tags(reply)[-2] == 1137


def test_fixt_logon_without_1137_is_a_silent_disconnect() -> None:
    s = Scenario(fixt=True)
    out = s.send("A", [(98, 0), (108, 30)])
    assert out == [] and s.disconnected


def test_first_message_not_logon_is_a_silent_disconnect() -> None:
    s = Scenario()
    assert s.send("0") == [] and s.disconnected


def test_logon_sending_time_off_is_a_silent_disconnect() -> None:
    s = Scenario()
    out = s.send("A", [(98, 0), (108, 30)], sending_time=s.now(-121))
    assert out == [] and s.disconnected


def test_logon_for_unknown_comp_ids_is_a_silent_disconnect() -> None:
    s = Scenario()
    assert s.send("A", [(98, 0), (108, 30)], sender="XX") == [] and s.disconnected


def test_garbled_logon_is_a_silent_disconnect() -> None:
    s = Scenario()
    raw = s.message("A", [(98, 0), (108, 30)])
    bad = raw[:-4] + b"000\x01"  # wrong checksum
    assert s.send_raw(bad) == [] and s.disconnected


def test_logon_with_wrong_begin_string_is_a_silent_disconnect() -> None:
    s = Scenario()
    assert s.send("A", [(98, 0), (108, 30)], begin="FIX.4.2") == [] and s.disconnected


def test_heartbeat_interval_out_of_range_gets_logout_with_reason() -> None:
    s = Scenario(heartbeat_max=60)
    [logout] = s.logon(hb=61)
    assert logout.msg_type == b"5" and "HeartBtInt" in (field(logout, 58) or "")
    assert s.disconnected


def test_failed_authentication_gets_logout_then_disconnect() -> None:
    s = Scenario(authenticated=False)
    [logout] = s.logon()
    assert logout.msg_type == b"5" and field(logout, 58) == "Logon rejected: invalid credentials"
    assert s.disconnected and not s.session.logged_on


def test_logon_seq_too_high_answers_then_asks_for_resend() -> None:
    s = Scenario()
    out = s.logon(seq=5)
    assert [m.msg_type for m in out] == [b"A", b"2"]
    assert field(out[1], 7) == "1" and field(out[1], 16) == "0"


def test_counterparty_logout_is_answered_and_disconnects() -> None:
    s = Scenario()
    s.logon()
    [reply] = s.send("5")
    assert reply.msg_type == b"5" and field(reply, 58) is None
    assert s.disconnected
    assert any(isinstance(e, LoggedOut) for e in s.events)


def test_logon_with_reset_mid_session_resets_both_sequences() -> None:
    s = Scenario()
    s.logon()
    for _ in range(3):
        s.send("0")
    s.next_seq = 1
    [reply] = s.logon(extra=[(141, "Y")])
    assert field(reply, 34) == "1" and field(reply, 141) == "Y"
    [hb] = s.send("1", [(112, "X")])
    assert field(hb, 34) == "2" and field(hb, 112) == "X"


def test_second_logon_without_reset_mid_session_disconnects() -> None:
    s = Scenario()
    s.logon()
    s.logon()
    assert s.disconnected


def test_reset_on_logon_config_resets_sequences() -> None:
    s = Scenario()
    s.logon()
    s.send("0")
    s.send("5")
    s.session.on_connect()
    s.disconnected = False
    s.next_seq = 1
    [reply] = s.logon()
    assert field(reply, 34) == "1" and s.session.logged_on


def test_without_reset_on_logon_sequences_survive_reconnect() -> None:
    s = Scenario(reset_on_logon=False)
    s.logon()
    s.send("0")
    s.send("5")  # we answered with 35=5 seq 3
    s.session.on_connect()
    [reply] = s.logon()
    assert field(reply, 34) == "3"
    assert s.session.logged_on
