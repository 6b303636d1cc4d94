"""bench.e2e's venue config: the demo config with the benchmark's ports, deposits and
scheduling, valid for ``venue up``."""

from __future__ import annotations

from pathlib import Path

from bench.e2e import make_config
from venue.config import load_config


def test_the_venue_runs_its_order_path_realtime_unless_asked_not_to(tmp_path: Path) -> None:
    path, port, sessions = make_config(tmp_path, "postgres", 1)
    config = load_config(path, env={})
    assert config.scheduling.order_path == "realtime"
    assert config.fix.port == port and [s["sender"] for s in sessions] == ["ALPHA", "BETA"]
    assert config.engine.in_gateway

    path, _, _ = make_config(tmp_path, "memory", 2, engine_service=True, order_path="normal")
    text = path.read_text()
    assert "[scheduling]" not in text  # (a source tree older than the key reads it too)
    config = load_config(path, env={})
    assert (config.scheduling.order_path, config.fix.store, config.engine.in_gateway) == ("normal", "memory", False)
    assert len(config.fix.sessions) == 4


def test_reject_texts_of_all_clients_are_added_up() -> None:
    from bench.e2e import _summed

    per_client = [{"cancel: too late": 3, "off tick": 1}, {"cancel: too late": 2}, {}]
    assert _summed(per_client) == {"cancel: too late": 5, "off tick": 1}
