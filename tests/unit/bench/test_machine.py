"""bench/machine.py: the calibration recorded with each bench.e2e result measures a real echo."""

from __future__ import annotations

from pathlib import Path

from bench.machine import echo, guest_halt_poll_ns, python_loop_ms


def test_echo_answers_every_message_and_costs_the_server_cpu() -> None:
    got = echo(rate=1000, seconds=0.3)
    assert got["messages"] == 300
    assert got["echo_core_us_per_msg"] > 0  # the server's own CPU, from its process
    assert 0 < got["echo_rtt_us"]["p50"] <= got["echo_rtt_us"]["p99"]


def test_python_loop_takes_time_in_proportion() -> None:
    small, large = python_loop_ms(2_000), python_loop_ms(40_000)
    assert 0 < small < large


def _cpuidle(tmp_path: Path, driver: str, poll_ns: str | None) -> tuple[Path, Path]:
    tmp_path.mkdir()
    d, s = tmp_path / "current_driver", tmp_path / "guest_halt_poll_ns"
    d.write_text(driver + "\n")
    if poll_ns is not None:
        s.write_text(poll_ns + "\n")
    return d, s


def test_guest_halt_poll_ns_only_for_a_vm_with_the_haltpoll_driver(tmp_path: Path) -> None:
    halts = _cpuidle(tmp_path / "a", "haltpoll", "0")
    assert guest_halt_poll_ns(*halts) == 0

    polls = _cpuidle(tmp_path / "b", "haltpoll", "200000")
    assert guest_halt_poll_ns(*polls) == 200_000
    for other in (_cpuidle(tmp_path / "c", "intel_idle", None), _cpuidle(tmp_path / "d", "haltpoll", None),
                  _cpuidle(tmp_path / "e", "haltpoll", "garbage")):
        assert guest_halt_poll_ns(*other) is None
    assert guest_halt_poll_ns(tmp_path / "missing", tmp_path / "missing") is None
