"""The bus's own HPUB encoding is byte for byte what nats-py's ``publish`` writes."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

from venue.bus.jetstream import hpub

OWN = ["Nats-Msg-Id", "Nats-Expected-Last-Sequence", "Nats-Expected-Last-Msg-Id"]


def nats_py_bytes(subject: str, reply: str, headers: dict[str, str], payload: bytes) -> bytes:
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


values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40)


@given(
    subject=st.from_regex(r"\A[a-z]{1,8}(\.[a-z0-9]{1,8}){0,3}\Z"),
    reply=st.one_of(st.just(""), st.from_regex(r"\A_INBOX\.[A-Za-z0-9]{4,22}\.[0-9]{1,6}\Z")),
    headers=st.dictionaries(st.sampled_from(OWN), values, min_size=1, max_size=3),
    payload=st.binary(max_size=300),
)
def test_hpub_is_what_nats_py_writes_or_leaves_it_to_nats_py(
    subject: str, reply: str, headers: dict[str, str], payload: bytes
) -> None:
    ours = hpub(subject, reply, headers, payload)
    if ours is None:  # a value nats-py would rewrite (CR/LF, padding) or one not printable
        assert any(not v.isprintable() or v != v.strip() for v in headers.values())
        return
    assert ours == nats_py_bytes(subject, reply, headers, payload)


@pytest.mark.parametrize(
    "headers",
    [
        {"Nats-Msg-Id": "a\r\nInjected: 1"},
        {"Nats-Msg-Id": " padded "},
        {"Other-Header": "x"},
    ],
)
def test_what_nats_py_must_check_is_left_to_it(headers: dict[str, str]) -> None:
    assert hpub("venue.cmd.0", "", headers, b"x") is None


def test_the_bus_headers_of_an_event_publish() -> None:
    headers = {"Nats-Msg-Id": "cmd.41", "Nats-Expected-Last-Msg-Id": "cmd.40"}
    ours = hpub("venue.evt.0", "", headers, b"payload")
    assert ours == nats_py_bytes("venue.evt.0", "", headers, b"payload")
    assert ours is not None and ours.startswith(b"HPUB venue.evt.0  ")
