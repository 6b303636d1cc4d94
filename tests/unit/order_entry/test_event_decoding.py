"""The gateway's event decoder (``orders.py_order_events``, one generated function per event
type) against the wire module's reference decoder, on engine output holding every event type
the order book uses; and it and the C fold (``codec.fold_events``) on damaged batches."""

from __future__ import annotations

import random
import struct

import pytest

from engine import commands as c
from engine import wire
from engine.core import MatchingEngine
from fix_gateway import codec
from fix_gateway.order_entry.orders import HANDLED_EVENTS
from fix_gateway.order_entry.orders import py_order_events as _py_order_events
from tests.unit.order_entry.harness import BTC, Core


def _engine_output(n: int = 3000, seed: int = 7) -> bytes:
    engine = MatchingEngine()
    setup: list[c.Command] = [BTC.add_command(1, 0)]
    for acct in (1, 2, 3):
        setup += [
            c.AddAccount(10 + acct, 0, acct, acct, 1, 5),
            c.Deposit(20 + acct, 0, acct, 1, 10**15),
            c.Deposit(30 + acct, 0, acct, 2, 10**12),
        ]
    engine.apply_many(setup)
    rng = random.Random(seed)
    cmds: list[c.Command] = []
    ref = 6_000_000
    for i in range(n):
        seq = 1000 + i
        account = 1 + i % 3
        kind = rng.random()
        if kind < 0.1 and i > 10:
            cmds.append(c.Cancel(seq, i, seq - rng.randint(1, 10), account))
        elif kind < 0.15 and i > 10:
            cmds.append(c.Replace(seq, i, seq - rng.randint(1, 10), account, ref + rng.randint(-500, 500), 20000))
        elif kind < 0.2:
            side = rng.choice((c.BUY, c.SELL))
            stop = ref + (200 if side == c.BUY else -200)
            cmds.append(c.NewOrder(seq, i, seq, account, 1, side, int(c.OrdTypeCode.STOP), 1, 0, 10000, stop_price=stop))
        elif kind < 0.21:
            cmds.append(c.MassCancel(seq, i, account=account))
        else:
            cmds.append(c.NewOrder(
                seq, i, seq, account, 1, rng.choice((c.BUY, c.SELL)), int(c.OrdTypeCode.LIMIT),
                rng.choice((0, 1, 2)), ref + rng.randint(-1000, 1000), 10000 * rng.randint(1, 4),
                stp=rng.choice((0, 1, 2, 3)),
            ))
    return bytes(engine.apply_batch(wire.encode_commands(cmds)))


def test_gateway_decoder_matches_the_wire_decoder() -> None:
    body = _engine_output()
    expected = [ev for ev in wire.decode_events(body) if type(ev) in HANDLED_EVENTS]
    assert _py_order_events(body) == expected
    seen = {type(ev) for ev in expected}
    assert {c.OrderAccepted, c.Trade, c.OrderCanceled, c.OrderReplaced, c.Rejected, c.MassCanceled} <= seen


def test_python_decoder_matches_the_wire_decoder_on_another_stream() -> None:
    body = _engine_output(seed=11)
    assert _py_order_events(body) == [ev for ev in wire.decode_events(body) if type(ev) in HANDLED_EVENTS]


@pytest.mark.parametrize("cut", [1, 3, 5, 17, 40])
def test_damaged_batches_are_refused_alike(cut: int) -> None:
    """A damaged batch is a ValueError with the same text from the Python decoder and from the
    C fold (which reads the records itself)."""
    body = _engine_output(n=20)
    core = Core()
    decoders = [_py_order_events] + ([lambda b: core.book.apply_body(1, b, {})] if codec.fold_events else [])
    for damaged in (body[:-cut], body + b"\x01" * min(cut, 15),
                    struct.pack("<HH", 1, 40) + body[4:]):  # an Accepted record's size changed
        errors = []
        for decode in decoders:
            with pytest.raises(ValueError) as info:
                decode(damaged)
            errors.append(str(info.value))
        assert len(set(errors)) == 1, errors
