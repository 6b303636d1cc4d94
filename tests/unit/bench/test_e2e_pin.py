"""bench.e2e --pin: the spec, and the affinity it sets on every thread of a component."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.e2e import parse_pin, pin_components


def test_a_spec_names_components_and_cpus() -> None:
    assert parse_pin("gateway=0,nats=0, postgres=1,clients=0+1") == {
        "gateway": frozenset({0}), "nats": frozenset({0}), "postgres": frozenset({1}), "clients": frozenset({0, 1}),
    }
    assert parse_pin("") == {}


@pytest.mark.parametrize("spec", ["gateway", "gw=0", "nats=x", "nats=-1", "nats="])
def test_a_bad_spec_says_what_is_wrong(spec: str) -> None:
    with pytest.raises(ValueError, match="--pin"):
        parse_pin(spec)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_every_thread_of_a_pinned_component_is_pinned_and_the_rest_left_alone(tmp_path: Path) -> None:
    # a process the accounting labels "writer" (venue.service writer), with a second thread
    code = (
        "import threading, time, sys\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "print('ready', flush=True); sys.stdin.read()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, "venue.service", "writer"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        cpu = sorted(os.sched_getaffinity(0))[-1]
        pinned = pin_components([writer.pid, other.pid], tmp_path, {"writer": frozenset({cpu}), "gateway": frozenset({0})})
        assert pinned == {"writer": 2}
        tids = os.listdir(f"/proc/{writer.pid}/task")
        assert len(tids) == 2 and all(os.sched_getaffinity(int(t)) == {cpu} for t in tids)
        assert os.sched_getaffinity(other.pid) == os.sched_getaffinity(0)
    finally:
        for p in (writer, other):
            p.kill()
            p.wait()
