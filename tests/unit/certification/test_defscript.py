"""The .def script format: parsing, time substitution, completion of messages, comparison."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from certification.defscript import (
    Connect,
    Disconnect,
    Expect,
    ExpectDisconnect,
    ScriptError,
    Send,
    checksum,
    compare,
    finalize,
    frame_error,
    load_script,
    parse_script,
    split_fields,
    substitute_time,
)

SCRIPTS = Path(__file__).resolve().parents[3] / "certification" / "scripts"


def m(text: str) -> bytes:
    return text.replace("|", "\x01").encode()


def test_parse_actions_comments_and_connection_numbers() -> None:
    script = m(
        "# comment\n\niCONNECT\ni2,CONNECT\nI8=FIX.4.4|35=0|\nE2,8=FIX.4.4|35=0\r\n"
        "  # indented comment\ne2,DISCONNECT\niDISCONNECT\n"
    )
    actions = parse_script(script)
    assert actions == [
        Connect(3, 1),
        Connect(4, 2),
        Send(5, 1, m("8=FIX.4.4|35=0|")),
        Expect(6, 2, m("8=FIX.4.4|35=0|")),  # a missing final SOH is added
        ExpectDisconnect(8, 2),
        Disconnect(9, 1),
    ]


def test_message_starting_with_digits_is_not_a_connection_number() -> None:
    (action,) = parse_script(m("I35=0|8=FIX.4.4|"))
    assert action == Send(1, 1, m("35=0|8=FIX.4.4|"))


@pytest.mark.parametrize("line", ["iFOO", "eCONNECT", "XCONNECT", "I"])
def test_malformed_lines_are_errors(line: str) -> None:
    with pytest.raises(ScriptError):
        parse_script(line.encode())


def test_time_substitution() -> None:
    now = dt.datetime(2024, 2, 29, 23, 59, 30, 123456, tzinfo=dt.UTC)
    out = substitute_time(b"52=<TIME>|122=<TIME+45>|60=<TIME-121>|", lambda: now)
    assert out == b"52=20240229-23:59:30|122=20240301-00:00:15|60=20240229-23:57:29|"


def test_finalize_computes_body_length_and_checksum() -> None:
    out = finalize(m("8=FIX.4.4|35=0|34=2|49=A|56=B|"))
    body = m("35=0|34=2|49=A|56=B|")
    head = m(f"8=FIX.4.4|9={len(body)}|") + body
    assert out == head + m(f"10={checksum(head):03d}|")
    assert frame_error(out) is None


def test_finalize_keeps_written_fields_byte_for_byte() -> None:
    both = m("8=FIX.4.4|9=5|35=0|10=999|")
    assert finalize(both) == both
    only_checksum = finalize(m("8=FIX.4.4|35=0|34=2|10=256|"))
    assert only_checksum == m("8=FIX.4.4|9=10|35=0|34=2|10=256|")
    only_length = finalize(m("8=FIX.4.4|9=30|35=0|"))
    assert only_length.startswith(m("8=FIX.4.4|9=30|35=0|10="))
    assert frame_error(only_length) is not None


def test_a_written_checksum_that_happens_to_be_right_is_made_wrong() -> None:
    """``10=000`` in a script with ``<TIME>`` was right once in 256 runs (a flaky 3b)."""
    head = m("8=FIX.4.4|9=10|35=0|34=2|")
    right = checksum(head)
    out = finalize(head + m(f"10={right:03d}|"))
    assert out == head + m(f"10={(right + 1) % 256:03d}|")
    assert frame_error(out) == f"CheckSum {(right + 1) % 256:03d} but computed {right:03d}"
    wrong = head + m(f"10={(right + 7) % 256:03d}|")
    assert finalize(wrong) == wrong


def test_frame_error_names_the_problem() -> None:
    good = finalize(m("8=FIX.4.4|35=0|34=2|"))
    assert frame_error(good) is None
    assert "CheckSum" in (frame_error(good[:-4] + b"000\x01") or "")
    bad_len = good.replace(b"9=10", b"9=11")
    assert "BodyLength" in (frame_error(bad_len) or "")
    assert "first three" in (frame_error(m("8=FIX.4.4|35=0|9=3|10=000|")) or "")


def test_split_fields_tolerates_garbage() -> None:
    assert split_fields(m("8=FIX.4.4|junk|58=a=b|")) == [
        (b"8", b"FIX.4.4"),
        (b"junk", b""),
        (b"58", b"a=b"),
    ]


EXPECTED = m("8=FIX.4.4|35=3|34=2|49=ISLD|52=00000000-00:00:00|56=TW|45=2|58=Text|373=1|")


def test_compare_ignores_length_checksum_and_time_values() -> None:
    received = m(
        "8=FIX.4.4|9=99|35=3|34=2|49=ISLD|52=20240101-10:00:00.123|56=TW|45=2|58=Text|373=1|10=123|"
    )
    assert compare(EXPECTED, received) is None


def test_compare_strict_checks_order_and_text() -> None:
    swapped = m("8=FIX.4.4|35=3|34=2|49=ISLD|52=20240101-10:00:00.123|56=TW|58=Text|45=2|373=1|")
    assert "order" in (compare(EXPECTED, swapped) or "")
    assert compare(EXPECTED, swapped, strict=False) is None
    other_text = m(
        "8=FIX.4.4|35=3|34=2|49=ISLD|52=20240101-10:00:00.000|56=TW|45=2|58=Other|373=1|"
    )
    assert "58" in (compare(EXPECTED, other_text) or "")
    assert compare(EXPECTED, other_text, strict=False) is None


def test_compare_reports_missing_extra_and_wrong_values() -> None:
    base = "8=FIX.4.4|35=3|34=2|49=ISLD|52=20240101-10:00:00.000|56=TW|45=2|58=Text|"
    for strict in (True, False):
        assert "missing field 373" in (compare(EXPECTED, m(base)) or "")
        assert "unexpected field 371" in (
            compare(EXPECTED, m(base + "371=5|373=1|"), strict=strict) or ""
        )
        assert "field 373" in (compare(EXPECTED, m(base + "373=2|"), strict=strict) or "")


def test_compare_strict_requires_utc_timestamps_with_milliseconds() -> None:
    received = m("8=FIX.4.4|35=3|34=2|49=ISLD|52=yesterday|56=TW|45=2|58=Text|373=1|")
    assert "UTCTimestamp" in (compare(EXPECTED, received) or "")
    seconds = m("8=FIX.4.4|35=3|34=2|49=ISLD|52=20240101-10:00:00|56=TW|45=2|58=Text|373=1|")
    assert "milliseconds" in (compare(EXPECTED, seconds) or "")
    assert compare(EXPECTED, seconds, strict=False) is None


def test_compare_counts_repeated_tags() -> None:
    exp = m("8=FIX.4.4|35=D|386=2|336=A|336=B|")
    assert compare(exp, m("8=FIX.4.4|35=D|386=2|336=A|336=B|"), strict=False) is None
    assert "appears" in (compare(exp, m("8=FIX.4.4|35=D|386=2|336=A|"), strict=False) or "")


@pytest.mark.parametrize(
    "path", sorted(SCRIPTS.glob("*/*.def")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_shipped_scripts_parse_and_use_their_version(path: Path) -> None:
    actions = load_script(path)
    assert actions, "empty script"
    begin = b"8=FIX.4.4\x01" if path.parent.name == "fix44" else b"8=FIXT.1.1\x01"
    expects = [a for a in actions if isinstance(a, Expect)]
    assert all(a.template.startswith(begin) for a in expects)
    assert isinstance(actions[0], Connect)
    assert any(isinstance(a, Expect | ExpectDisconnect) for a in actions), "checks nothing"
