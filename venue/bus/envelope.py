"""The versioned envelope every bus message carries (msgpack via msgspec).

``v`` is the envelope schema version; a reader refuses versions it does not know rather
than misreading them. ``body`` is opaque to the bus: for commands and events it is the
engine's batch wire format (``engine/wire.py``).
"""

from __future__ import annotations

import msgspec

ENVELOPE_VERSION = 1


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    v: int
    kind: str  # "cmd" or "evt"
    source: str  # producer id, e.g. "fix-gw-1" or "engine-0"
    batch_id: int  # producer's own monotonically increasing batch number
    answers: int  # for events: the command-stream sequence they answer; 0 otherwise
    count: int  # items in the batch
    body: bytes
    # Per-request metadata the engine does not need but readers do (ClOrdIDs, session ids):
    # msgpack list of RequestMeta. The engine service copies a command batch's meta into the
    # event batch that answers it, so every reader sees it next to the events.
    meta: bytes = b""


class RequestMeta(msgspec.Struct, frozen=True, array_like=True):
    """Who asked for engine command ``seq`` (the seq every resulting event echoes)."""

    seq: int
    session: str = ""  # FIX session id, or "" for operator / CLI commands
    cl_ord_id: str = ""
    orig_cl_ord_id: str = ""
    account: str = ""  # account code (FIX Account(1))
    symbol: str = ""
    firm: str = ""
    source: str = ""  # "fix", "cli", "bootstrap", "kill-switch", "cancel-on-disconnect"
    # What the request said, as wire text, for reports about requests the engine refused
    # (a reject has no order to read them from) and for drop copy.
    side: str = ""  # FIX Side(54)
    ord_type: str = ""  # FIX OrdType(40)
    price: str = ""
    qty: str = ""
    extra: str = ""  # request specific, e.g. MassCancelRequestType(530)


class UnknownEnvelopeVersion(ValueError):
    pass


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def encode_envelope(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


_meta_decoder = msgspec.msgpack.Decoder(list[RequestMeta])


def encode_meta(items: list[RequestMeta]) -> bytes:
    return _encoder.encode(items)


def decode_meta(data: bytes) -> list[RequestMeta]:
    return _meta_decoder.decode(data) if data else []


def decode_envelope(data: bytes) -> Envelope:
    envelope = _decoder.decode(data)
    if envelope.v != ENVELOPE_VERSION:
        raise UnknownEnvelopeVersion(f"envelope version {envelope.v} (this reader knows 1)")
    return envelope
