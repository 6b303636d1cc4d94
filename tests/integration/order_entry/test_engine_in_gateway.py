"""The engine in the gateway's process (engine.in_gateway): the gateway answers its clients
from the engine's answers as they are published; the event stream still gets every answer,
at the sequence numbers the reports were built with; a crash of the whole process loses
nothing and answers nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from fix_gateway.client import FixClient
from tests.support.engine_feed import replayed_state_hash
from venue.bus.envelope import decode_envelope
from venue.bus.protocol import StreamKind

from .test_order_path import nos, report, s, two_firms_trade


async def _answers(stack: Any) -> list[tuple[int, int]]:
    """(event-stream sequence, command sequence answered) of every stored event batch."""
    last = await stack.bus.last_seq(StreamKind.EVENTS)
    out: list[tuple[int, int]] = []
    if last:
        async for rec in stack.bus.read(StreamKind.EVENTS, 1):
            out.append((rec.seq, decode_envelope(rec.payload).answers))
            if rec.seq >= last:
                break
    return out


async def test_two_firms_trade_and_the_event_stream_gets_every_answer(stack_factory: Callable[..., Any]) -> None:
    async with stack_factory() as stack:
        gateway = await stack.start_gateway(engine_in_gateway=True)
        b_fill = await two_firms_trade(stack)

        # Every command answered once, in order, at the sequence the gateway's reports used.
        for _ in range(100):
            if await stack.bus.last_seq(StreamKind.EVENTS) >= gateway.evt_seq:
                break
            await asyncio.sleep(0.02)
        answers = await _answers(stack)
        commands = await stack.bus.last_seq(StreamKind.COMMANDS)
        assert [a for _, a in answers] == list(range(1, commands + 1))
        assert answers[-1][0] == gateway.evt_seq
        # ExecIDs carry the event sequence: the fill's is in the stream's last batches
        assert int(s(b_fill, 17).split("-")[0]) in {seq for seq, _ in answers}


async def test_a_crash_of_the_process_loses_nothing_and_answers_nothing_twice(
    stack_factory: Callable[..., Any],
) -> None:
    async with stack_factory(cancel_on_disconnect=False) as stack:
        await stack.start_gateway(engine_in_gateway=True)
        alpha = await stack.client("ALPHA")
        beta = await stack.client("BETA")
        n = 150
        acked: set[str] = set()

        async def collect(client: FixClient) -> None:
            while True:
                msg = await client.next(timeout=30)
                if msg.msg_type == b"8" and s(msg, 150) == "0":
                    acked.add(s(msg, 11))

        collectors = [asyncio.create_task(collect(alpha)), asyncio.create_task(collect(beta))]
        for i in range(n):
            alpha.send("D", nos(f"a{i}", "1", "0.001", "60000"))
            beta.send("D", nos(f"b{i}", "2", "0.001", "60000"))
            if i % 10 == 0:
                await asyncio.sleep(0.005)
            if i == n // 2:
                await stack.crash_gateway()  # the engine goes with it, publishes in flight
                break
        await asyncio.sleep(0.2)
        for t in collectors:
            t.cancel()
        await asyncio.gather(*collectors, return_exceptions=True)
        assert acked, "nothing was acknowledged before the crash"

        gateway = await stack.start_gateway(engine_in_gateway=True)  # recovers, then answers
        for _ in range(200):  # every command stored before the crash gets its answer
            if await stack.bus.last_seq(StreamKind.EVENTS) and (await _answers(stack))[-1][1] == (
                await stack.bus.last_seq(StreamKind.COMMANDS)
            ):
                break
            await asyncio.sleep(0.05)
        answers = await _answers(stack)
        commands = await stack.bus.last_seq(StreamKind.COMMANDS)
        assert [a for _, a in answers] == list(range(1, commands + 1)), "a command answered twice or not at all"
        assert gateway.evt_seq == answers[-1][0]

        # Every order acknowledged before the crash is still known: its ClOrdID is taken.
        for cl in sorted(acked)[:20]:
            account = "ALPHA-1" if cl.startswith("a") else "BETA-1"
            assert gateway.book.find(account, cl) is not None, f"acknowledged order {cl} lost"

        # The engine's state equals a clean replay of the command log.
        assert stack.engine is not None
        assert stack.engine.engine.state_hash() == await replayed_state_hash(stack.bus, commands)


async def test_an_engine_that_stops_is_made_again_and_nothing_is_answered_twice(
    stack_factory: Callable[..., Any],
) -> None:
    """One answer is lost on its way to the event stream after the gateway had built its
    reports from it (a publish dropped without a word, as a connection dying under it
    would). The next publish, chained to the lost one, is refused and the engine stops;
    the gateway makes it again, the new one recovers from the stream and publishes the lost
    answer again, at the same sequence, which the gateway skips: every order is
    acknowledged once and every command has one answer in the stream."""
    async with stack_factory(cancel_on_disconnect=False) as stack:
        real = stack.bus.append_unacked_soon
        dropped: list[int] = []
        unacked = 0

        def drop_one(kind: StreamKind, payload: bytes, **kw: Any) -> None:
            nonlocal unacked
            if kind is StreamKind.EVENTS:
                unacked += 1
                if unacked == 5 and not dropped:
                    dropped.append(decode_envelope(payload).answers)
                    return
            real(kind, payload, **kw)

        stack.bus.append_unacked_soon = drop_one
        gateway = await stack.start_gateway(engine_in_gateway=True)
        first = stack.engine
        alpha = await stack.client("ALPHA")
        n = 40
        for i in range(n):
            alpha.send("D", nos(f"a{i}", "1", "0.001", str(59000 + i)))
            await asyncio.sleep(0.01)  # one command batch each: each answer its own publish
        acks: dict[str, int] = {}
        while len(acks) < n:
            m = await report(alpha, timeout=30)
            assert s(m, 150) == "0", s(m, 58)
            acks[s(m, 11)] = acks.get(s(m, 11), 0) + 1
        with pytest.raises(TimeoutError):
            await alpha.next(timeout=1.0)
        assert acks == {f"a{i}": 1 for i in range(n)}
        assert dropped and stack.engine is not first, "the engine never stopped: nothing was tested"

        commands = await stack.bus.last_seq(StreamKind.COMMANDS)
        for _ in range(100):
            answers = await _answers(stack)
            if answers and answers[-1][1] == commands:
                break
            await asyncio.sleep(0.05)
        assert [a for _, a in answers] == list(range(1, commands + 1))
        assert answers[-1][0] == gateway.evt_seq
