"""JetStreamBus on a real nats-server: what the contract suite cannot say for every bus."""

from __future__ import annotations

import asyncio

import pytest
from nats.js.errors import NoStreamResponseError

from tests.support.buses import isolated_bus, isolated_bus_config
from venue.bus.jetstream import JetStreamBus
from venue.bus.protocol import StreamKind


async def test_an_append_no_stream_takes_fails_instead_of_waiting(nats_url: str) -> None:
    """Publishes carry no Nats-Expected-Stream header: a subject no stream captures must
    still be an error (the server's 503), for every way of appending."""
    bus = await JetStreamBus.connect(nats_url, isolated_bus_config("N"))  # streams not created
    try:
        with pytest.raises(NoStreamResponseError):
            await asyncio.wait_for(bus.append(StreamKind.COMMANDS, b"x"), 5)
        with pytest.raises(ConnectionError, match="503"):
            await asyncio.wait_for(bus.append_many(StreamKind.COMMANDS, [b"x", b"y"]), 5)
        future = await bus.append_nowait(StreamKind.EVENTS, b"x")
        with pytest.raises(ConnectionError, match="503"):
            await asyncio.wait_for(future, 5)
    finally:
        await bus.close()


async def test_stored_records_carry_only_the_headers_appends_need(nats_url: str) -> None:
    async with isolated_bus(nats_url, isolated_bus_config("H")) as bus:
        await bus.append_many(StreamKind.EVENTS, [b"a"], msg_ids=["m1"], expect_last_seq=0)
        msg = await bus._js.get_msg(bus._stream(StreamKind.EVENTS), seq=1)
        assert msg.headers == {"Nats-Msg-Id": "m1", "Nats-Expected-Last-Sequence": "0"}
