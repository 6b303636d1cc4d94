"""The bus's own PUB/HPUB encoding is byte for byte what nats-py's ``publish`` writes."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client
from nats.errors import BadHeaderError

from venue.bus.jetstream import publish_command

OWN = ["Nats-Msg-Id", "Nats-Expected-Last-Sequence", "Nats-Expected-Last-Msg-Id"]


def nats_py_bytes(subject: str, reply: str, headers: dict[str, str] | None, payload: bytes) -> bytes:
    """What nats-py queues for this publish (a client that never connected queues it in its
    reconnect buffer: ``_send_command`` is where the bytes go either way)."""
    nc = Client()
    sent: list[bytes] = []

    async def capture(cmd: bytes, priority: bool = False) -> None:
        sent.append(cmd)

    nc._send_command = capture  # type: ignore[method-assign]
    nc._max_pending_size = 1 << 20  # (set by connect; the reconnect buffer's limit)
    asyncio.run(nc.publish(subject, payload, reply=reply, headers=headers))
    assert len(sent) == 1
    return sent[0]


values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40)


keys = st.one_of(
    st.sampled_from(OWN),
    st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,15}\Z"),
    st.from_regex(r"\A ?[A-Za-z][A-Za-z0-9-]{0,8} ?\Z"),  # padded: nats-py strips it
)


@given(
    subject=st.from_regex(r"\A[a-z]{1,8}(\.[a-z0-9]{1,8}){0,3}\Z"),
    reply=st.one_of(st.just(""), st.from_regex(r"\A_INBOX\.[A-Za-z0-9]{4,22}\.[0-9]{1,6}\Z")),
    headers=st.one_of(st.none(), st.dictionaries(keys, values, min_size=0, max_size=4)),
    payload=st.binary(max_size=300),
)
def test_the_command_is_what_nats_py_writes(
    subject: str, reply: str, headers: dict[str, str] | None, payload: bytes
) -> None:
    assert publish_command(subject, reply, headers, payload) == nats_py_bytes(subject, reply, headers, payload)


@pytest.mark.parametrize(
    "headers",
    [
        {"Nats-Msg-Id": "a\r\nInjected: 1"},
        {"Nats-Msg-Id": " padded "},
        {"Other-Header": "x"},
        {" ": "skipped"},
    ],
)
def test_values_nats_py_rewrites_are_rewritten_the_same(headers: dict[str, str]) -> None:
    assert publish_command("venue.cmd.0", "", headers, b"x") == nats_py_bytes("venue.cmd.0", "", headers, b"x")


def test_a_bad_header_name_is_refused_as_nats_py_refuses_it() -> None:
    with pytest.raises(BadHeaderError):
        publish_command("venue.cmd.0", "", {"Bad:Name": "x"}, b"x")
    with pytest.raises(BadHeaderError):
        nats_py_bytes("venue.cmd.0", "", {"Bad:Name": "x"}, b"x")


def test_the_bus_headers_of_an_event_publish() -> None:
    headers = {"Nats-Msg-Id": "cmd.41", "Nats-Expected-Last-Msg-Id": "cmd.40"}
    ours = publish_command("venue.evt.0", "", headers, b"payload")
    assert ours == nats_py_bytes("venue.evt.0", "", headers, b"payload")
    assert ours.startswith(b"HPUB venue.evt.0  ")
