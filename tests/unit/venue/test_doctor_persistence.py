"""venue doctor's persistence row: how far the writer is behind the event stream."""

from __future__ import annotations

from venue.doctor import _persistence


def test_behind_is_healthy_and_counted() -> None:
    check = _persistence(events=1_250, stored=1_000)
    assert check.healthy and check.component == "persistence"
    assert check.detail == "the writer has stored the event stream up to 1000 of 1250 (250 records behind)"
    assert _persistence(0, 0).healthy


def test_progress_past_the_stream_is_a_problem() -> None:
    check = _persistence(events=10, stored=500)
    assert not check.healthy
    assert "past the event stream's last record (10)" in check.detail and "replaced" in check.detail
