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


def test_the_latency_phase_waits_for_the_writer_to_catch_up(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import bench.e2e as e2e

    lags = iter([40, 12, 1, 0])
    monkeypatch.setattr(e2e, "scrape", lambda tmp: {})
    monkeypatch.setattr(e2e, "writer_lag", lambda tmp, metrics: next(lags))
    settled = e2e.settle_writer(tmp_path, 10.0, poll_s=0.0)
    assert settled["lag_records_before"] == 40
    assert settled["caught_up"] is True
    assert next(lags) == 0  # it stopped asking once the writer was at most one record behind


def test_the_writer_settle_gives_up_after_its_timeout_and_says_so(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import bench.e2e as e2e

    monkeypatch.setattr(e2e, "scrape", lambda tmp: {})
    monkeypatch.setattr(e2e, "writer_lag", lambda tmp, metrics: 500)
    assert e2e.settle_writer(tmp_path, 0.05, poll_s=0.01)["caught_up"] is False
    assert e2e.settle_writer(tmp_path, 0.0)["waited_s"] == 0.0  # 0: start at once
