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


class UnknownEnvelopeVersion(ValueError):
    pass


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def encode_envelope(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode_envelope(data: bytes) -> Envelope:
    envelope = _decoder.decode(data)
    if envelope.v != ENVELOPE_VERSION:
        raise UnknownEnvelopeVersion(f"envelope version {envelope.v} (this reader knows 1)")
    return envelope
