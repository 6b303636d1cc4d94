"""QuickFIX-style ``.def`` conformance scripts: parsing, message templating and comparison.

This module is deliberately independent of ``fix_gateway.codec``: the conformance runner is
an oracle for the gateway, so it must not share the gateway's framing or parsing code (a
bug there would otherwise pass its own test).

Script format (see /work/shared/design/fix-conformance.md):

- one action per line; ``#`` starts a comment line; blank lines are skipped;
- ``iCONNECT`` / ``i2,CONNECT`` open connection 1 / 2; ``iDISCONNECT`` closes it;
- ``I<fix>`` sends a message, ``E<fix>`` reads one message and compares it;
- ``eDISCONNECT`` expects the venue to close the connection without sending more;
- ``<TIME>``, ``<TIME+N>``, ``<TIME-N>`` become the current UTC time +/- N seconds;
- fields are separated by SOH; an ``I`` line without ``9=`` gets BodyLength computed and
  one without ``10=`` gets CheckSum computed; fields that are written are sent byte for
  byte, so scripts can send garbled messages (wrong length, wrong checksum, bad order).
  One exception: a written CheckSum means a wrong one, and one in range (``10=000``) is
  right by chance once in 256 messages (``<TIME>`` changes the sum), so when it comes out
  right it is sent one higher (mod 256).

Comparison ignores BodyLength and CheckSum entirely and the values (not the presence) of
SendingTime, OrigSendingTime and TransactTime. Strict mode also compares the field order and
the exact text of Text(58), and requires well-formed UTCTimestamps in 52/122 with
milliseconds (or finer) on SendingTime; lenient mode compares fields per tag and only the
presence of 58.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SOH = b"\x01"

#: Tags whose presence is compared but whose value is not.
IGNORED_VALUE_TAGS = frozenset({b"52", b"122", b"60"})
#: Tags left out of the comparison altogether (always recomputed by the sender).
SKIPPED_TAGS = frozenset({b"9", b"10"})
TEXT_TAG = b"58"

_TIME_RE = re.compile(rb"<TIME(?:([+-])(\d+))?>")
_UTC_TIMESTAMP_RE = re.compile(rb"^\d{8}-\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?$")
_FRACTION_RE = re.compile(rb"\.\d{3,9}$")
_CONN_RE = re.compile(r"^(\d+),")

Field = tuple[bytes, bytes]


class ScriptError(ValueError):
    """The script text itself is malformed."""


@dataclass(frozen=True, slots=True)
class Connect:
    line: int
    conn: int


@dataclass(frozen=True, slots=True)
class Disconnect:
    line: int
    conn: int


@dataclass(frozen=True, slots=True)
class Send:
    line: int
    conn: int
    template: bytes


@dataclass(frozen=True, slots=True)
class Expect:
    line: int
    conn: int
    template: bytes


@dataclass(frozen=True, slots=True)
class ExpectDisconnect:
    line: int
    conn: int


Action = Connect | Disconnect | Send | Expect | ExpectDisconnect


def parse_script(data: bytes) -> list[Action]:
    """Parse the bytes of a ``.def`` script into actions (line numbers are 1-based)."""
    actions: list[Action] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.rstrip(b"\r").rstrip(b" \t")
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        kind = chr(line[0])
        rest = line[1:]
        conn = 1
        match = _CONN_RE.match(rest.decode("latin-1"))
        if match:
            conn = int(match.group(1))
            rest = rest[match.end() :]
        if kind in "ie" and rest not in (b"CONNECT", b"DISCONNECT"):
            raise ScriptError(f"line {number}: unknown command {line.decode('latin-1')!r}")
        if kind == "i":
            actions.append(
                Connect(number, conn) if rest == b"CONNECT" else Disconnect(number, conn)
            )
        elif kind == "e":
            if rest != b"DISCONNECT":
                raise ScriptError(f"line {number}: only eDISCONNECT is an 'e' command")
            actions.append(ExpectDisconnect(number, conn))
        elif kind in "IE":
            if not rest:
                raise ScriptError(f"line {number}: empty message")
            if not rest.endswith(SOH):
                rest += SOH
            actions.append(Send(number, conn, rest) if kind == "I" else Expect(number, conn, rest))
        else:
            raise ScriptError(f"line {number}: unknown action {kind!r}")
    return actions


def load_script(path: str | Path) -> list[Action]:
    return parse_script(Path(path).read_bytes())


def format_time(when: dt.datetime) -> bytes:
    return when.strftime("%Y%m%d-%H:%M:%S").encode()


def substitute_time(template: bytes, now: Callable[[], dt.datetime] | None = None) -> bytes:
    """Replace ``<TIME>``, ``<TIME+N>`` and ``<TIME-N>`` with UTC ``YYYYMMDD-HH:MM:SS``."""
    current = (now or (lambda: dt.datetime.now(dt.UTC)))()

    def repl(match: re.Match[bytes]) -> bytes:
        offset = int(match.group(2) or 0)
        if match.group(1) == b"-":
            offset = -offset
        return format_time(current + dt.timedelta(seconds=offset))

    return _TIME_RE.sub(repl, template)


def split_fields(message: bytes) -> list[Field]:
    """Split ``tag=value<SOH>...`` into (tag, value) pairs; a field without ``=`` keeps its
    whole text as tag and an empty value (so garbled input still compares and prints)."""
    fields: list[Field] = []
    for chunk in message.split(SOH):
        if not chunk:
            continue
        tag, sep, value = chunk.partition(b"=")
        fields.append((tag, value if sep else b""))
    return fields


def checksum(data: bytes) -> int:
    return sum(data) % 256


def finalize(template: bytes) -> bytes:
    """Complete a message for sending: a missing BodyLength(9) is inserted after the first
    field and a missing CheckSum(10) appended, each computed over the bytes as written.
    Fields present in the template are kept byte for byte (scripts send garbled messages)."""
    fields = split_fields(template)
    if not fields:
        return template
    tags = [tag for tag, _ in fields]
    message = template
    if b"9" not in tags:
        head_end = template.index(SOH) + 1
        tail = template[head_end:]
        body_len = len(tail)
        if b"10" in tags:  # the body ends where the script's own CheckSum field starts
            marker = tail.rfind(SOH + b"10=")
            body_len = marker + 1 if marker >= 0 else 0
        message = template[:head_end] + b"9=" + str(body_len).encode() + SOH + tail
    if b"10" not in tags:
        message += b"10=" + b"%03d" % checksum(message) + SOH
        return message
    end = message.rfind(SOH + b"10=") + 1  # a written CheckSum must stay a wrong one
    written = split_fields(message[end:])[0][1]
    right = checksum(message[:end])
    if written.isdigit() and int(written) == right:
        message = message[:end] + b"10=" + b"%03d" % ((right + 1) % 256) + message[end + 3 + len(written):]
    return message


def frame_error(message: bytes) -> str | None:
    """Why a message received from the venue is not well formed (None when it is)."""
    fields = split_fields(message)
    if len(fields) < 4 or [t for t, _ in fields[:3]] != [b"8", b"9", b"35"]:
        return "first three fields are not 8, 9, 35"
    if fields[-1][0] != b"10":
        return "CheckSum(10) is not the last field"
    start = message.index(SOH, message.index(SOH) + 1) + 1
    end = message.rindex(b"10=")
    if int(fields[1][1] or b"-1") != end - start:
        return f"BodyLength {fields[1][1].decode()} but the body has {end - start} bytes"
    if int(fields[-1][1] or b"-1") != checksum(message[:end]):
        return f"CheckSum {fields[-1][1].decode()} but computed {checksum(message[:end]):03d}"
    return None


def show(message: bytes | Iterable[Field]) -> str:
    """Printable form with ``|`` for SOH."""
    if isinstance(message, bytes):
        return message.decode("latin-1").replace("\x01", "|")
    return "|".join(f"{t.decode('latin-1')}={v.decode('latin-1')}" for t, v in message)


def compare(expected: bytes, received: bytes, *, strict: bool = True) -> str | None:
    """Compare a received message with an expectation template (times already
    substituted). Returns None on a match, else the first difference in words."""
    exp = [f for f in split_fields(expected) if f[0] not in SKIPPED_TAGS]
    got = [f for f in split_fields(received) if f[0] not in SKIPPED_TAGS]
    if strict:
        for tag, value in got:
            if tag in (b"52", b"122") and not _UTC_TIMESTAMP_RE.match(value):
                return f"field {tag.decode()} is not a UTCTimestamp: {value.decode('latin-1')!r}"
            if tag == b"52" and not _FRACTION_RE.search(value):
                return f"SendingTime without milliseconds: {value.decode('latin-1')!r}"
        exp_tags = [t for t, _ in exp]
        got_tags = [t for t, _ in got]
        if exp_tags != got_tags:
            return _order_difference(exp_tags, got_tags)
        for (tag, want), (_, have) in zip(exp, got, strict=True):
            if tag not in IGNORED_VALUE_TAGS and want != have:
                return _value_difference(tag, want, have)
        return None
    exp_by_tag = _by_tag(exp)
    got_by_tag = _by_tag(got)
    for tag, wants in exp_by_tag.items():
        haves = got_by_tag.get(tag)
        if haves is None:
            return f"missing field {tag.decode('latin-1')}"
        if len(haves) != len(wants):
            return (
                f"field {tag.decode('latin-1')} appears {len(haves)} times, expected {len(wants)}"
            )
        if tag in IGNORED_VALUE_TAGS or tag == TEXT_TAG:
            continue
        for want, have in zip(wants, haves, strict=True):
            if want != have:
                return _value_difference(tag, want, have)
    for tag in got_by_tag:
        if tag not in exp_by_tag:
            values = b",".join(got_by_tag[tag]).decode("latin-1")
            return f"unexpected field {tag.decode('latin-1')}={values}"
    return None


def _by_tag(fields: list[Field]) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for tag, value in fields:
        out.setdefault(tag, []).append(value)
    return out


def _value_difference(tag: bytes, want: bytes, have: bytes) -> str:
    return f"field {tag.decode('latin-1')}: expected {want.decode('latin-1')!r}, received {have.decode('latin-1')!r}"


def _order_difference(exp_tags: list[bytes], got_tags: list[bytes]) -> str:
    missing = [t for t in exp_tags if t not in got_tags]
    extra = [t for t in got_tags if t not in exp_tags]
    if missing:
        return f"missing field {missing[0].decode('latin-1')}"
    if extra:
        return f"unexpected field {extra[0].decode('latin-1')}"
    for index, (want, have) in enumerate(zip(exp_tags, got_tags, strict=False)):
        if want != have:
            return (
                f"field order differs at position {index + 1}: expected tag "
                f"{want.decode('latin-1')}, received tag {have.decode('latin-1')}"
            )
    return f"expected {len(exp_tags)} fields, received {len(got_tags)}"
