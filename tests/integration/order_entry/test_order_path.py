"""Orders over FIX through the command log and the engine, ExecutionReports back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from fix_gateway.client import FixClient
from fix_gateway.codec import FixMessage


def nos(cl: str, side: str, qty: str, price: str | None, symbol: str = "BTC-USD", **extra: str) -> list[tuple[int, str]]:
    f = [(11, cl), (1, "ALPHA-1" if cl.startswith("a") else "BETA-1"), (55, symbol), (54, side),
         (60, "20261122-00:00:00"), (38, qty), (40, "2" if price else "1")]
    if price:
        f.append((44, price))
    return f + [(int(k[1:]), v) for k, v in extra.items()]


async def report(client: FixClient, msg_type: str = "8", timeout: float = 10) -> FixMessage:
    return await client.expect(msg_type, timeout)


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait (at most ``timeout``) for something the gateway does after a client's report."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


async def tick_past_midnight(stack: Any) -> None:
    """The engine's clock ticker, its clock just past the next midnight UTC: the trading day
    (ending at 00:00) ends, so it appends EndOfSession."""
    import datetime

    from engine.service import ClockTicker
    from venue.clock import TestClock

    tomorrow = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
    past_midnight = datetime.datetime.combine(tomorrow, datetime.time(0, 0, 1), datetime.UTC)
    ticker = ClockTicker(stack.bus, TestClock(int(past_midnight.timestamp()) * 1_000_000_000),
                         session_end=datetime.time(0, 0))
    await ticker.start()
    await ticker.tick()


def s(msg: FixMessage, tag: int) -> str:
    value = msg.get(tag)
    return value.decode() if value is not None else ""


async def two_firms_trade(stack: Any) -> FixMessage:
    """ALPHA rests a buy, BETA sells into it: both see New and the fill, fees and all.
    Returns BETA's fill."""
    alpha = await stack.client("ALPHA")
    beta = await stack.client("BETA")

    alpha.send("D", nos("a1", "1", "0.5", "60000"))
    new = await report(alpha)
    assert (s(new, 150), s(new, 39), s(new, 11), s(new, 151)) == ("0", "0", "a1", "0.5")

    beta.send("D", nos("b1", "2", "0.2", "59990"))
    b_new, b_fill = await report(beta), await report(beta)
    a_fill = await report(alpha)
    assert (s(b_new, 150), s(b_fill, 150), s(b_fill, 39), s(b_fill, 31), s(b_fill, 32)) == ("0", "F", "2", "60000", "0.2")
    assert (s(a_fill, 150), s(a_fill, 39), s(a_fill, 14), s(a_fill, 151), s(a_fill, 6)) == ("F", "1", "0.2", "0.3", "60000")
    assert s(a_fill, 12) == "1.2" and s(b_fill, 12) == "6"  # maker 1 bp, taker 5 bp of 12,000 USD
    assert s(b_fill, 1057) == "Y"  # FIX 5.0SP2 session: AggressorIndicator
    return b_fill


async def test_two_firms_trade_and_both_see_their_fills(stack_factory: Callable[..., Any]) -> None:
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        await two_firms_trade(stack)


async def test_standard_rejects_with_clear_text(stack_factory: Callable[..., Any]) -> None:
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")

        alpha.send("D", nos("a1", "1", "1", "1", symbol="DOGE-USD"))
        r = await report(alpha)
        assert (s(r, 39), s(r, 103)) == ("8", "1") and "unknown instrument" in s(r, 58)

        alpha.send("D", nos("a2a", "1", "99", "60000"))  # holds 5.94M of the 10M USD
        assert s(await report(alpha), 39) == "0"
        alpha.send("D", nos("a2", "1", "99", "60000"))  # another 5.94M: more than is left
        r = await report(alpha)
        assert (s(r, 39), s(r, 103)) == ("8", "3") and "insufficient" in s(r, 58)

        alpha.send("D", nos("a3", "1", "0.1", "60000.005"))
        r = await report(alpha)
        assert s(r, 39) == "8" and "tick" in s(r, 58)

        alpha.send("F", [(11, "a4"), (41, "nope"), (1, "ALPHA-1"), (55, "BTC-USD"), (54, "1"), (60, "20261122-00:00:00")])
        r = await report(alpha, "9")
        assert (s(r, 102), s(r, 434)) == ("1", "1") and "unknown order" in s(r, 58)

        # Halt the instrument through the command log, as an operator would.
        from engine import commands as c
        from engine import wire
        from venue.bus.envelope import Envelope, encode_envelope
        from venue.bus.protocol import StreamKind

        halt = wire.encode_command(c.SetTradingState(seq=7, ts=0, instrument=1, state=1))
        await stack.bus.append(StreamKind.COMMANDS, encode_envelope(Envelope(1, "cmd", "op", 1, 0, 1, halt)))
        await asyncio.sleep(0.2)
        alpha.send("D", nos("a5", "1", "0.1", "60000"))
        r = await report(alpha)
        assert (s(r, 39), s(r, 103)) == ("8", "2") and "halted" in s(r, 58)


async def test_wrong_password_gets_no_session(stack_factory: Callable[..., Any]) -> None:
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        try:
            await stack.client("ALPHA", password="wrong")
        except (AssertionError, TimeoutError, ConnectionError):
            pass
        else:
            raise AssertionError("logon with a wrong password succeeded")


async def test_cancel_on_disconnect(stack_factory: Callable[..., Any]) -> None:
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a1", "1", "0.1", "60000"))
        await report(alpha)
        await alpha.close()
        assert stack.gateway is not None
        for _ in range(100):
            if not stack.gateway.book.live_orders():
                break
            await asyncio.sleep(0.05)
        assert stack.gateway.book.live_orders() == []


async def test_kill_switch_cancels_and_refuses(stack_factory: Callable[..., Any]) -> None:
    from venue.killswitch import kill_switch

    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a1", "1", "0.1", "60000"))
        await report(alpha)
        async with stack.pool.acquire() as conn:
            await kill_switch(conn, stack.nats_url, stack.config, "ALPHA")
        canceled = await report(alpha)
        assert (s(canceled, 150), s(canceled, 11), s(canceled, 58)) == ("4", "a1", "kill switch")
        await asyncio.sleep(0.1)
        alpha.send("D", nos("a2", "1", "0.1", "60000"))
        refused = await report(alpha)
        assert s(refused, 39) == "8" and "kill switch" in s(refused, 58)


async def test_self_trade_prevention_mode_tag_is_accepted(stack_factory: Callable[..., Any]) -> None:
    """The venue tag SelfTradePreventionMode(7928) passes validation and is honoured."""
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a1", "2", "0.1", "60000"))
        assert s(await report(alpha), 150) == "0"
        alpha.send("D", nos("a2", "1", "0.1", "60000", t7928="1"))  # cancel newest: a2 goes
        got = [await report(alpha), await report(alpha)]
        assert [(s(m, 11), s(m, 150)) for m in got] == [("a2", "0"), ("a2", "4")]
        assert "self-trade" in s(got[1], 58)


async def test_the_gateway_measures_the_venues_part_of_the_latency(stack_factory: Callable[..., Any]) -> None:
    """Each command batch is timed twice (Prometheus histograms): its JetStream append, and
    from its first request to its reports written; an order's round trip lands in both."""
    from prometheus_client import REGISTRY

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count") or 0.0

    names = ("venue_gateway_command_append_seconds", "venue_gateway_command_round_trip_seconds")
    async with stack_factory() as stack:
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        before = [count(n) for n in names]
        alpha.send("D", nos("a1", "1", "0.5", "60000"))
        assert s(await report(alpha), 150) == "0"
        await asyncio.sleep(0.05)  # (the histogram is observed right after the write)
        appended, round_trip = (count(n) - b for n, b in zip(names, before, strict=True))
        assert appended >= 1 and round_trip >= 1
        total = REGISTRY.get_sample_value("venue_gateway_command_round_trip_seconds_sum") or 0.0
        assert 0 < total < 60


async def test_the_trading_day_ends_day_orders_expire_and_finished_clordids_are_free(
    stack_factory: Callable[..., Any],
) -> None:
    """The engine's ticker appends EndOfSession when the day ends (here: its clock jumps past
    midnight UTC): the DAY order is reported expired, the GTC order stays live, and the
    gateway forgets the finished orders, so their ClOrdIDs may be used again."""
    async with stack_factory() as stack:
        await stack.start_engine()
        gateway = await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a-day", "1", "0.1", "59000"))
        alpha.send("D", nos("a-gtc", "1", "0.1", "58000", t59="1"))
        assert [s(await report(alpha), 150) for _ in range(2)] == ["0", "0"]

        await tick_past_midnight(stack)
        expired = await report(alpha)
        assert (s(expired, 11), s(expired, 150), s(expired, 39)) == ("a-day", "C", "C")
        await until(lambda: gateway.book.days_ended > 0)
        assert [o.cl_ord_id for o in gateway.book.orders.values()] == ["a-gtc"]

        alpha.send("D", nos("a-day", "1", "0.1", "57000"))  # free again: a new order
        again = await report(alpha)
        assert (s(again, 11), s(again, 150)) == ("a-day", "0")
        alpha.send("D", nos("a-gtc", "1", "0.1", "57000"))  # still live: a duplicate
        dup = await report(alpha)
        assert (s(dup, 150), s(dup, 103)) == ("8", "6")


async def test_a_gateway_restarted_after_a_days_end_starts_from_its_book_snapshot(
    stack_factory: Callable[..., Any],
) -> None:
    """At the day's end the gateway writes its (small: live orders only) book once the
    reports are persisted; a restarted gateway loads it and replays only what followed,
    and still knows the live orders and the ClOrdIDs in use."""
    async with stack_factory() as stack:
        assert stack.book_snapshots is not None
        await stack.start_engine()
        await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a-day", "1", "0.1", "59000"))
        alpha.send("D", nos("a-gtc", "1", "0.1", "58000", t59="1"))
        assert [s(await report(alpha), 150) for _ in range(2)] == ["0", "0"]
        await tick_past_midnight(stack)
        assert s(await report(alpha), 150) == "C"
        await until(lambda: bool(stack.book_snapshots._files()), 5.0)
        [snap_file] = stack.book_snapshots._files()
        alpha.send("D", nos("a-after", "1", "0.1", "57000", t59="1"))  # after the snapshot
        assert s(await report(alpha), 150) == "0"

        await stack.crash_gateway()
        loaded: list[Any] = []
        latest = stack.book_snapshots.latest

        def spy(*args: Any) -> Any:
            loaded.append(latest(*args))
            return loaded[-1]

        stack.book_snapshots.latest = spy  # type: ignore[method-assign]
        gateway = await stack.start_gateway()
        assert loaded and loaded[0] is not None and f"{loaded[0].evt_seq:020d}" in snap_file.name
        assert sorted(o.cl_ord_id for o in gateway.book.orders.values()) == ["a-after", "a-gtc"]

        await alpha.close()
        await alpha.connect("127.0.0.1", stack.port, reset=False)
        again = alpha
        again.send("F", [(41, "a-gtc"), (11, "a-gtc-x"), (1, "ALPHA-1"), (55, "BTC-USD"), (54, "1"),
                         (60, "20261122-00:00:00")])
        canceled = await report(again)
        assert (s(canceled, 150), s(canceled, 41)) == ("4", "a-gtc")
        again.send("D", nos("a-day", "1", "0.1", "57000"))  # forgotten at the day's end: free
        assert s(await report(again), 150) == "0"


async def test_an_operator_ends_the_session_of_one_instrument_then_the_day(stack_factory: Callable[..., Any]) -> None:
    """``venue end-of-session [SYMBOL]``: one instrument's DAY orders expire (the day goes
    on), then the whole day ends; the command's answer is read back from the event stream."""
    from venue.end_of_session import end_of_session

    async with stack_factory() as stack:
        await stack.start_engine()
        gateway = await stack.start_gateway()
        alpha = await stack.client("ALPHA")
        alpha.send("D", nos("a-btc", "1", "0.1", "59000"))
        alpha.send("D", nos("a-eth", "1", "1", "2900", symbol="ETH-USD"))
        assert [s(await report(alpha), 150) for _ in range(2)] == ["0", "0"]
        async with stack.pool.acquire() as conn:
            with pytest.raises(ValueError, match="unknown instrument"):
                await end_of_session(conn, stack.nats_url, stack.config, "DOGE-USD")
            assert await end_of_session(conn, stack.nats_url, stack.config, "BTC-USD") == (
                "session of BTC-USD ended: 1 DAY order(s) expired"
            )
            expired = await report(alpha)
            assert (s(expired, 11), s(expired, 150)) == ("a-btc", "C")
            assert gateway.book.days_ended == 0
            result = await end_of_session(conn, stack.nats_url, stack.config)
            assert result.startswith("trading day ended: 1 DAY order(s) expired")
            assert s(await report(alpha), 11) == "a-eth"
        await until(lambda: gateway.book.days_ended > 0)
        assert gateway.book.days_ended == 1 and gateway.book.orders == {}
