"""Issue 4 "done when": every FIX session-layer conformance script of both versions passes
against the certification profile (``python -m certification serve``), started as its own
process on a free port, run by the conformance runner in strict mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certification.runner import collect_scripts, run_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "certification" / "scripts"
VERSIONS = ("fix44", "fix50sp2")
ALL_SCRIPTS = [p for version in VERSIONS for p in collect_scripts([str(SCRIPTS / version)])]

# The FIX Session Layer Test Case ids the venue must cover, per version.
TEST_CASE_IDS = (
    ["1a", "1b", "1c", "1d", "1e"]
    + [f"2{c}" for c in "abcdefghijklmnopqrst"]
    + ["3b", "3c", "4a", "4b", "6", "7", "8", "10", "11a", "11b", "11c", "13b"]
    + [f"14{c}" for c in "abcdefghi"]
    + ["15", "19a", "19b", "20", "21"]
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def venue_port() -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "certification",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"certification profile exited with {proc.returncode}: {err}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("certification profile did not start listening within 30 s")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_test_case_has_a_script(version: str) -> None:
    names = [p.stem for p in collect_scripts([str(SCRIPTS / version)])]
    missing = [tc for tc in TEST_CASE_IDS if not any(n.startswith(tc + "_") for n in names)]
    assert not missing, f"{version}: no script for test cases {missing}"


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_script_passes(script: Path, venue_port: int) -> None:
    result = await run_script(script, "127.0.0.1", venue_port, strict=True)
    exchange = "\n".join(result.exchanged)
    assert result.passed, f"{result.failure}\n--- exchange ---\n{exchange}"
