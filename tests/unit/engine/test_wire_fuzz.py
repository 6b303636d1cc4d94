"""Batch format: round trips, and random/truncated bytes never crash the decoder."""

from __future__ import annotations

import random
import struct

import pytest

from engine import commands as c
from engine import wire
from engine._book import Engine
from engine.reference import ReferenceEngine
from tests.property.engine_streams import funded_setup


def test_command_round_trip() -> None:
    cmd = c.NewOrder(7, 9, 2**64 - 1, 3, 1, 0, 1, 1, -5, 10, 0, 0, 1, 4, 0)
    rec = wire.encode_command(cmd)
    assert len(rec) == wire.CMD_SIZE
    assert wire.decode_command(rec)[3] == cmd


def test_a_new_order_record_without_the_object_is_the_same_bytes() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        u64, i64 = (lambda: rng.randrange(2**64)), (lambda: rng.randrange(-(2**63), 2**63))
        args = (u64(), i64(), u64(), u64(), u64(), rng.randrange(256), rng.randrange(256), rng.randrange(256),
                i64(), i64(), i64(), i64(), rng.randrange(256), rng.randrange(256), i64())
        assert wire.encode_new_order(*args) == wire.encode_command(c.NewOrder(*args))
    assert wire.encode_new_order(1, 2, 3, 4, 5, 0, 1, 0, 100, 7) == wire.encode_command(c.NewOrder(1, 2, 3, 4, 5, 0, 1, 0, 100, 7))


def test_event_round_trip() -> None:
    ev = c.Trade(1, 2, 3, 4, 5, 6, 7, 100, 5, 1, 2, 0, 3, 1)
    assert wire.decode_events(wire.encode_event(ev)) == [ev]


def test_bad_batch_length_is_value_error() -> None:
    eng = Engine()
    with pytest.raises(ValueError):
        eng.apply_batch(b"\x00" * 105)
    with pytest.raises(ValueError):
        ReferenceEngine().apply_batch(b"\x00" * 7)
    assert eng.state_hash() == Engine().state_hash()  # nothing applied


def test_unknown_command_type_is_a_reject_event() -> None:
    rec = struct.pack("<H6xQq80x", 999, 5, 0)
    (ev,) = wire.decode_events(Engine().apply_batch(rec))
    assert isinstance(ev, c.Rejected) and ev.seq == 5 and ev.command == 999


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_random_records_match_reference(seed: int) -> None:
    """Random bytes with valid and invalid types: C and reference agree, invariants hold."""
    r = random.Random(seed)
    ce, re_ = Engine(), ReferenceEngine()
    setup = funded_setup()
    assert ce.apply_batch(setup) == re_.apply_batch(setup)
    for _ in range(40):
        recs = bytearray()
        for k in range(25):
            rec = bytearray(r.randbytes(wire.CMD_SIZE))
            struct.pack_into("<H", rec, 0, r.choice((r.randrange(1, 16), r.randrange(65536))))
            if r.random() < 0.5:  # small values so some fields are valid
                for s in range(10):
                    struct.pack_into("<q", rec, 24 + 8 * s, r.choice((0, 1, 2, 10, 11, -1, 100)))
                rec[2:8] = bytes(r.randrange(3) for _ in range(6))
            struct.pack_into("<Q", rec, 8, k)
            recs += rec
        out = ce.apply_batch(bytes(recs))
        assert out == re_.apply_batch(bytes(recs))
        wire.decode_events(out)  # well-formed
        ce.check_invariants()
    assert ce.state_hash() == re_.state_hash()


def test_fuzz_truncated_batches() -> None:
    r = random.Random(1)
    eng = Engine()
    for _ in range(300):
        buf = r.randbytes(r.randrange(0, 400))
        try:
            wire.decode_events(eng.apply_batch(buf))
        except ValueError:
            assert len(buf) % wire.CMD_SIZE
    eng.check_invariants()


def test_fuzz_snapshot_restore_rejects_garbage_cleanly() -> None:
    r = random.Random(2)
    eng = Engine()
    eng.apply_batch(funded_setup())
    eng.apply_batch(wire.encode_commands([
        c.NewOrder(200, 0, 1, 10, 1, 0, 1, 1, 995, 20),
        c.NewOrder(201, 0, 2, 11, 1, 1, 1, 1, 1005, 20, display_qty=10)]))
    snap = bytearray(eng.snapshot())
    for _ in range(300):
        bad = bytearray(snap)
        for _ in range(r.randrange(1, 4)):
            bad[r.randrange(8, len(bad))] = r.randrange(256)
        if r.random() < 0.3:
            bad = bad[: r.randrange(len(bad))]
        try:
            restored = Engine.restore(bytes(bad))
        except ValueError:
            continue
        restored.check_invariants()


def test_iter_event_records_splits_by_size() -> None:
    evs: list[c.Event] = [c.BookLevelChanged(3, 1, 0, 100, 5, 1), c.Rejected(4, 0, 9, 10, -3003, 10)]
    buf = b"".join(wire.encode_event(e) for e in evs)
    recs = list(wire.iter_event_records(buf))
    assert [(t, s) for t, _, s, _ in recs] == [(8, 3), (2, 4)]
    assert [wire.decode_events(r)[0] for *_, r in recs] == evs


def test_apply_batch_timed_returns_one_latency_per_command() -> None:
    import array

    eng = Engine()
    setup = funded_setup()
    events, lat = eng.apply_batch_timed(setup)
    assert events == Engine().apply_batch(setup)
    assert len(array.array("I", lat)) == len(setup) // wire.CMD_SIZE
