"""Isolated JetStream streams for tests: uniquely named, created, and deleted afterwards,
so tests share one NATS server (embedded or the machine's) without seeing each other."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from venue.bus.jetstream import JetStreamBus
from venue.config import BusConfig


def isolated_bus_config(letter: str, base: BusConfig | None = None, **overrides: Any) -> BusConfig:
    tag = f"{letter.upper()}{uuid.uuid4().hex[:8].upper()}"
    return msgspec.structs.replace(
        base or BusConfig(),
        command_stream=f"{tag}_CMD",
        event_stream=f"{tag}_EVT",
        subject_prefix=tag.lower(),
        **overrides,
    )


@contextlib.asynccontextmanager
async def isolated_bus(nats_url: str, config: BusConfig) -> AsyncIterator[JetStreamBus]:
    bus = await JetStreamBus.connect(nats_url, config)
    await bus.ensure_streams()
    try:
        yield bus
    finally:
        for name in (config.command_stream, config.event_stream):
            with contextlib.suppress(Exception):
                await bus._js.delete_stream(name)
        await bus.close()
