"""Session-level rejects (14a-14i, 2k, 2o, 2q, 2r, 2i, ReverseRoute), business rejects,
throttle, the echo application (19a/19b, 21)."""

from __future__ import annotations

import pytest
from fix_scenario import Scenario, field, tags

from fix_gateway.application import BusinessReject, Outgoing, SessionReject
from fix_gateway.codec import encode, parse

NOS = [(11, "ID"), (21, "3"), (40, "1"), (54, "1"), (55, "INTC"), (60, "20261122-00:00:00")]


def logged_on(**kw: object) -> Scenario:
    s = Scenario(**kw)  # type: ignore[arg-type]
    s.logon()
    return s


@pytest.mark.parametrize(
    ("msg_type", "body", "tag", "reason", "text"),
    [
        ("0", [(999, "HI")], 999, 0, "Invalid tag number"),
        ("0", [(-1, "HI")], -1, 0, "Invalid tag number"),
        ("0", [(0, b"0=HI\x01")], 0, 0, "Invalid tag number"),  # tag 0: pre-encoded run
        ("1", [], 112, 1, "Required tag missing"),
        ("D", [*NOS, (17, "X")], 17, 2, "Tag not defined for this message type"),
        ("1", [(112, "")], 112, 4, "Tag specified without a value"),
        (
            "D",
            [(11, "ID"), (21, "4"), *NOS[2:]],
            21,
            5,
            "Value is incorrect (out of range) for this tag",
        ),
        ("D", [*NOS, (38, "abc")], 38, 6, "Incorrect data format for value"),
        ("D", [*NOS, (126, "20040415")], 126, 6, "Incorrect data format for value"),
        ("D", [*NOS[:2], (40, "1"), (40, "2"), *NOS[3:]], 40, 13, "Tag appears more than once"),
        (
            "D",
            [*NOS, (386, "3"), (336, "PRE-OPEN"), (336, "AFTER-HOURS")],
            386,
            16,
            "Incorrect NumInGroup count for repeating group",
        ),
    ],
)
def test_session_reject_reasons(
    msg_type: str, body: list[tuple[int, str]], tag: int, reason: int, text: str
) -> None:
    s = logged_on()
    [rej] = s.send(msg_type, body)
    assert rej.msg_type == b"3"
    assert field(rej, 45) == "2"
    assert field(rej, 371) == str(tag)
    assert field(rej, 372) == msg_type
    assert field(rej, 373) == str(reason)
    assert field(rej, 58) == text
    assert tags(rej) == [8, 9, 35, 34, 49, 52, 56, 45, 58, 371, 372, 373, 10]
    # the rejected message consumed its sequence number
    [hb] = s.send("1", [(112, "NEXT")])
    assert field(hb, 112) == "NEXT"


def test_fields_out_of_order_reject_14() -> None:
    s = logged_on()
    m = parse(s.message("D", []))  # header only; then the body, then a header tag
    fields = [(t, v) for t, v in m.fields[3:-1] if t != 34]
    fields = [*fields, *[(t, v.encode()) for t, v in NOS], (34, b"2")]
    [rej] = s.send_raw(encode("FIX.4.4", "D", fields))
    assert (field(rej, 373), field(rej, 371), field(rej, 58)) == (
        "14",
        "34",
        "Tag specified out of required order",
    )


def test_invalid_msg_type_reject_11() -> None:
    s = logged_on()
    [rej] = s.send("*")
    assert (field(rej, 373), field(rej, 372), field(rej, 371), field(rej, 58)) == (
        "11",
        "*",
        None,
        "Invalid MsgType",
    )


def test_comp_id_problem_rejects_then_logs_out() -> None:
    s = logged_on()
    out = s.send("D", NOS, sender="WT")
    assert [m.msg_type for m in out] == [b"3", b"5"]
    assert (field(out[0], 373), field(out[0], 58), field(out[0], 371)) == (
        "9",
        "CompID problem",
        None,
    )
    assert field(out[1], 58) is None
    assert not s.disconnected
    s.tick(3)  # no Logout answer within logout_timeout
    assert s.disconnected


def test_sending_time_problem_rejects_then_logs_out() -> None:
    s = logged_on()
    out = s.send("0", sending_time=s.now(121))
    assert [m.msg_type for m in out] == [b"3", b"5"]
    assert (field(out[0], 373), field(out[0], 58)) == ("10", "SendingTime accuracy problem")
    s.send("5")
    assert s.disconnected


def test_wrong_begin_string_mid_session_logs_out() -> None:
    s = logged_on()
    [logout] = s.send("1", [(112, "id")], begin="FIX.4.1")
    assert logout.msg_type == b"5" and field(logout, 58) == "Incorrect BeginString"
    s.tick(2.5)
    assert s.disconnected


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ([(115, "JCD")], [(128, "JCD")]),
        ([(128, "JCD")], [(115, "JCD")]),
        ([(115, "JCD"), (116, "CS"), (144, "CHI")], [(128, "JCD"), (129, "CS"), (145, "CHI")]),
        ([(128, "JCD"), (129, "CS"), (145, "CHI")], [(115, "JCD"), (116, "CS"), (144, "CHI")]),
    ],
)
def test_rejects_reverse_the_routing_fields(
    route: list[tuple[int, str]], expected: list[tuple[int, str]]
) -> None:
    s = logged_on()
    [rej] = s.send("D", [*NOS[:2], (40, "w"), *NOS[3:]], header=route)
    assert rej.msg_type == b"3" and field(rej, 373) == "5"
    header = [(t, v.decode()) for t, v in rej.fields[3:] if t in (115, 116, 128, 129, 144, 145)]
    assert header == expected
    assert tags(rej).index(56) < tags(rej).index(expected[0][0]) < tags(rej).index(45)


def test_unsupported_application_message_gets_business_reject() -> None:
    s = logged_on()
    body = [
        (37, "id"),
        (17, "id"),
        (150, "0"),
        (39, "0"),
        (55, "W"),
        (54, "1"),
        (151, "100"),
        (14, "0"),
        (6, "0.0"),
    ]
    [bmr] = s.send("8", body)
    assert bmr.msg_type == b"j"
    assert (field(bmr, 45), field(bmr, 372), field(bmr, 380), field(bmr, 58)) == (
        "2",
        "8",
        "3",
        "Unsupported Message Type",
    )
    assert tags(bmr) == [8, 9, 35, 34, 49, 52, 56, 45, 58, 372, 380, 10]


def test_echo_sorts_body_fields_and_keeps_groups() -> None:
    s = logged_on()
    body = [
        (320, "JCD1091-20021011"),
        (322, "1034356488676323"),
        (323, "6"),
        (55, "TBS"),
        (22, "8"),
        (167, "CS"),
        (336, "ONE_MAIN"),
        (58, "No Products found"),
        (454, "0"),
    ]
    [echo] = s.send("d", body)
    assert echo.msg_type == b"d"
    assert tags(echo)[7:-1] == [22, 55, 58, 167, 320, 322, 323, 336, 454]


def test_possresend_order_already_seen_is_not_echoed() -> None:
    s = logged_on()
    [echo] = s.send("D", NOS)
    assert echo.msg_type == b"D"
    assert s.send("D", NOS, header=[(97, "Y")]) == []
    [echo2] = s.send("D", [(11, "NEW"), *NOS[1:]], header=[(97, "Y")])
    assert field(echo2, 11) == "NEW"


def test_throttle_answers_business_reject_and_does_not_deliver() -> None:
    s = logged_on(max_msgs_per_sec=2)
    out = [s.send("D", [(11, f"O{i}"), *NOS[1:]]) for i in range(3)]
    assert [o[0].msg_type for o in out] == [b"D", b"D", b"j"]
    assert (field(out[2][0], 58), field(out[2][0], 380)) == ("Throttle limit exceeded", "0")
    s.clock.advance(1.0)
    [again] = s.send("D", [(11, "LATER"), *NOS[1:]])
    assert again.msg_type == b"D"


def test_fixt_throttle_uses_reason_8() -> None:
    s = Scenario(fixt=True, max_msgs_per_sec=1)
    s.logon()
    s.send("D", NOS)
    [bmr] = s.send("D", [(11, "X"), *NOS[1:]])
    assert field(bmr, 380) == "8"


class ReplyingApp:
    def __init__(self, reply: object) -> None:
        self.reply = reply
        self.seen: list[bytes] = []

    def on_logon(self, session_id: str) -> None:
        pass

    def on_logout(self, session_id: str) -> None:
        pass

    def on_message(self, session_id: str, message: object) -> object:
        return self.reply


def test_application_replies_and_rejects() -> None:
    s = Scenario(app=ReplyingApp([Outgoing("8", [(37, "1"), (17, "E1")])]))  # type: ignore[arg-type]
    s.logon()
    [er] = s.send("D", NOS)
    assert er.msg_type == b"8" and field(er, 17) == "E1"
    s2 = Scenario(app=ReplyingApp(BusinessReject(0, "nope", "ID")))  # type: ignore[arg-type]
    s2.logon()
    [bmr] = s2.send("D", NOS)
    assert (field(bmr, 380), field(bmr, 379), field(bmr, 58)) == ("0", "ID", "nope")
    s3 = Scenario(app=ReplyingApp(SessionReject(5, "bad", 40)))  # type: ignore[arg-type]
    s3.logon()
    [rej] = s3.send("D", NOS)
    assert (field(rej, 373), field(rej, 371), field(rej, 58)) == ("5", "40", "bad")


def test_push_is_written_when_logged_on() -> None:
    s = Scenario()
    s.logon()
    out = s._absorb(s.session.send("8", [(37, "1")]))
    assert out[0].msg_type == b"8" and field(out[0], 34) == "2"


def test_push_while_offline_is_stored_and_fetched_by_resend_request() -> None:
    s = Scenario(reset_on_logon=False)
    assert s.session.send("8", [(37, "OFFLINE")]) == []  # nothing written
    [reply] = s.logon()
    assert field(reply, 34) == "2"  # the stored message took seq 1
    [er] = s.send("2", [(7, 1), (16, 1)])
    assert er.msg_type == b"8" and field(er, 37) == "OFFLINE" and field(er, 43) == "Y"


def test_validation_off_delivers_unknown_fields_to_the_app() -> None:
    s = logged_on(validate=False)
    [echo] = s.send("D", [*NOS, (5000, "X")])
    assert echo.msg_type == b"D" and field(echo, 5000) == "X"


def test_user_defined_fields_are_accepted_in_application_messages() -> None:
    s = logged_on(user_defined_fields=(7928,))
    [echo] = s.send("D", [*NOS, (7928, "1")])
    assert echo.msg_type == b"D" and field(echo, 7928) == "1"
    [rej] = s.send("0", [(7928, "1")])  # not in admin messages
    assert field(rej, 373) == "2" and field(rej, 371) == "7928"
    s2 = logged_on()
    [rej2] = s2.send("D", [*NOS, (7928, "1")])
    assert field(rej2, 373) == "0"
