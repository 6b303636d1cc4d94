"""The debug build (VENUE_ENGINE_DEBUG=1) checks every invariant after every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("engine._book", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
sys.modules["engine._book"] = mod
spec.loader.exec_module(mod)
assert mod.DEBUG == 1
from engine.reference import ReferenceEngine
from tests.property.engine_streams import StreamGen, funded_setup
ce, ref = mod.Engine(), ReferenceEngine()
ce.apply_batch(funded_setup()); ref.apply_batch(funded_setup())
gen = StreamGen(99, 0.02)
for _ in range(80):
    buf = gen.batch(100)
    assert ce.apply_batch(buf) == ref.apply_batch(buf)
    gen.prune(ce.has_order)
assert ce.state_hash() == ref.state_hash()
print("debug ok")
"""


def test_debug_build_runs_stream_with_invariant_checks(tmp_path: Path) -> None:
    env = {**os.environ, "VENUE_ENGINE_DEBUG": "1", "VENUE_BUILD_ONLY": "engine._book"}
    build = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "lib"),
         "--build-temp", str(tmp_path / "tmp")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(build.stderr[-2000:])
    (so,) = (tmp_path / "lib" / "engine").glob("_book*.so")
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(so)], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "debug ok" in run.stdout
