"""VENUE_PROFILE_DIR: a service run under cProfile leaves its statistics behind."""

from __future__ import annotations

import pstats
from pathlib import Path

import pytest

from venue.service import _profiled


def _work() -> None:
    sum(i * i for i in range(1000))


def test_a_profiled_service_writes_pstats_when_it_stops(tmp_path: Path) -> None:
    out = tmp_path / "profiles" / "gateway.prof"
    assert _profiled(_work, out) == 0
    functions = {name for (_, _, name) in pstats.Stats(str(out)).stats}  # type: ignore[attr-defined]
    assert "_work" in functions


def test_a_service_that_fails_still_leaves_its_profile(tmp_path: Path) -> None:
    out = tmp_path / "writer.prof"

    def failing() -> None:
        _work()
        raise RuntimeError("stopped badly")

    with pytest.raises(RuntimeError):
        _profiled(failing, out)
    assert out.stat().st_size > 0
