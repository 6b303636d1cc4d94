"""bench.gateway: the timed run, and the instruction count under callgrind (what the C order
path's steps are judged by on a noisy machine)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from bench import _callgrind, gateway


def test_a_short_timed_run_reports_each_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert gateway.main(["--batch", "3", "--rounds", "20", "--warmup", "2"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    parts = json.loads(line)
    assert set(parts) == {"inbound", "batching", "outbound", "total"}
    assert all(v > 0 for v in parts.values())


@pytest.mark.skipif(not _callgrind.available(), reason="bench._callgrind built without valgrind's headers")
def test_the_counted_run_toggles_collection_outside_valgrind_harmlessly(capsys: pytest.CaptureFixture[str]) -> None:
    assert gateway.main(["--batch", "3", "--rounds", "5", "--warmup", "1", "--count-inner", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("\n{\n") + 1:])
    assert result["requests"] >= 10 and result["us_per_request"]["total"] > 0  # (2 orders a round, cancels)


@pytest.mark.skipif(shutil.which("valgrind") is None or not _callgrind.available(), reason="valgrind is not installed")
def test_instructions_per_request_are_counted_and_repeat() -> None:
    counts = [gateway.count_instructions(["--batch", "3", "--rounds", "40", "--warmup", "5"], 40) for _ in range(2)]
    assert counts[0]["requests"] == counts[1]["requests"] >= 80  # (2 orders a round, and cancels)
    for c in counts:
        assert c["env"]["python"] == sys.version.split()[0]
        # the gateway's in-process path: tens to hundreds of thousands of instructions per
        # request (0 would mean collection never came on; millions, that it never went off)
        assert 20_000 < c["instructions_per_request"] < 2_000_000
    a, b = (c["instructions_per_request"] for c in counts)
    assert abs(a - b) / a < 0.02
