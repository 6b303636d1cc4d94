"""bench/machine.py: the calibration recorded with each bench.e2e result measures a real echo."""

from __future__ import annotations

from bench.machine import echo, python_loop_ms


def test_echo_answers_every_message_and_costs_the_server_cpu() -> None:
    got = echo(rate=1000, seconds=0.3)
    assert got["messages"] == 300
    assert got["echo_core_us_per_msg"] > 0  # the server's own CPU, from its process
    assert 0 < got["echo_rtt_us"]["p50"] <= got["echo_rtt_us"]["p99"]


def test_python_loop_takes_time_in_proportion() -> None:
    small, large = python_loop_ms(2_000), python_loop_ms(40_000)
    assert 0 < small < large
