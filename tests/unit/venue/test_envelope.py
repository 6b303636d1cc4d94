import msgspec
import pytest

from venue.bus.envelope import Envelope, UnknownEnvelopeVersion, decode_envelope, encode_envelope


def test_envelope_round_trip() -> None:
    env = Envelope(v=1, kind="cmd", source="fix-gw-1", batch_id=7, answers=0, count=3, body=b"\x00\x01")
    assert decode_envelope(encode_envelope(env)) == env


def test_unknown_version_is_refused() -> None:
    env = Envelope(v=2, kind="cmd", source="x", batch_id=1, answers=0, count=0, body=b"")
    with pytest.raises(UnknownEnvelopeVersion):
        decode_envelope(encode_envelope(env))


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_envelope(b"\xc1garbage")


def test_meta_rides_along() -> None:
    from venue.bus.envelope import RequestMeta, decode_meta, encode_meta

    meta = [RequestMeta(seq=5, session="FIX.4.4:VENUE->ALPHA", cl_ord_id="c1", account="ALPHA-1", symbol="BTC-USD")]
    env = Envelope(v=1, kind="cmd", source="gw", batch_id=1, answers=0, count=1, body=b"x", meta=encode_meta(meta))
    assert decode_meta(decode_envelope(encode_envelope(env)).meta) == meta
    assert decode_meta(b"") == []
