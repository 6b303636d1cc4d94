"""Gateway.deliver hands each session its reports in order, pre-encoded ExecutionReports of
one type in runs (one ``send_run`` call), anything else on its own (``send``)."""

from __future__ import annotations

from typing import Any

from fix_gateway.order_entry.orders import Report
from fix_gateway.order_entry.service import Gateway

A, B, GONE = "FIX.4.4:VENUE->ALPHA", "FIXT.1.1:VENUE->BETA", "FIX.4.4:VENUE->NOBODY"


class Recorder:
    def __init__(self) -> None:
        self.sessions: dict[str, Any] = {A: object(), B: object()}
        self.calls: list[tuple[str, str, str, Any]] = []

    def send(self, sid: str, msg_type: str, fields: Any) -> bool:
        self.calls.append(("send", sid, msg_type, fields))
        return True

    def send_run(self, sid: str, msg_type: str, bodies: list[bytes]) -> bool:
        self.calls.append(("run", sid, msg_type, list(bodies)))
        return True


def gateway(before: dict[str, int] | None = None) -> tuple[Gateway, Recorder]:
    gw = Gateway.__new__(Gateway)  # only what deliver touches
    rec = Recorder()
    gw.acceptor = rec  # type: ignore[assignment]
    gw.delivered_before = dict(before or {})
    gw.delivered = {}
    gw._delivered_dirty = set()
    return gw, rec


def er(sid: str, body: bytes, evt_seq: int = 5) -> Report:
    return Report(sid, "8", [(0, body)], evt_seq)


def test_runs_per_session_keep_each_sessions_order() -> None:
    gw, rec = gateway()
    reject = Report(A, "9", [(37, "NONE"), (11, "x")], 5)
    gw.deliver([
        er(A, b"a1"), er(B, b"b1"), er(A, b"a2"), reject, er(A, b"a3"), er(GONE, b"n1"), er(B, b"b2"),
    ])
    by_session = {sid: [(kind, mt, what) for kind, s, mt, what in rec.calls if s == sid] for sid in (A, B)}
    assert by_session[A] == [("run", "8", [b"a1", b"a2"]), ("send", "9", reject.fields), ("run", "8", [b"a3"])]
    assert by_session[B] == [("run", "8", [b"b1", b"b2"])]
    assert all(s != GONE for _, s, _, _ in rec.calls)  # a session this gateway does not host
    assert gw.delivered == {A: 5, B: 5} and gw._delivered_dirty == {A, B}


def test_reports_handed_over_before_a_restart_are_not_sent_again() -> None:
    gw, rec = gateway(before={A: 5})
    gw.deliver([er(A, b"old", 5), er(B, b"b", 5), er(A, b"new", 6)])
    assert sorted((s, what) for _, s, _, what in rec.calls) == [(A, [b"new"]), (B, [b"b"])]
