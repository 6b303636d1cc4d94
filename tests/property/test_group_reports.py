"""Gateway.deliver's walk over an event batch's reports in C (``codec.group_reports``) against
its Python loop: generated batches (sessions hosted and not, reports already handed over
before a restart, pre-encoded ExecutionReports of several types and reports with fields,
interleaved) must give the same ``send_run`` and ``send`` calls in the same order, the same
delivery marks and the same sessions marked dirty."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fix_gateway import codec
from fix_gateway.order_entry.orders import Report
from tests.unit.order_entry.test_deliver_runs import GONE, A, B, gateway

pytestmark = pytest.mark.skipif(codec.group_reports is None, reason="the C codec is not built")


@st.composite
def batches(draw: st.DrawFn) -> tuple[dict[str, int], list[Report]]:
    before = {sid: draw(st.integers(0, 4)) for sid in draw(st.lists(st.sampled_from([A, B]), unique=True))}
    reports = []
    for i in range(draw(st.integers(0, 30))):
        sid = draw(st.sampled_from([A, A, B, B, GONE]))
        msg_type = draw(st.sampled_from(["8", "8", "8", "9", "3"]))
        if draw(st.integers(0, 4)):
            fields: list[tuple[int, Any]] = [(0, b"body%d" % i)]
        else:
            fields = draw(st.sampled_from([[(37, "NONE"), (11, f"x{i}")], [], [(0, b"a"), (0, b"b")], [(58, "t")]]))
        reports.append(Report(sid, msg_type, fields, draw(st.integers(1, 8))))
    return before, reports


def deliver(before: dict[str, int], reports: list[Report], c: bool) -> tuple[Any, ...]:
    gw, rec = gateway(before)
    with mock.patch.object(codec, "group_reports", codec.group_reports if c else None):
        gw.deliver(list(reports))
    return rec.calls, gw.delivered, gw._delivered_dirty


@given(batches())
@settings(max_examples=400, deadline=None)
def test_the_c_walk_hands_the_sessions_what_the_python_walk_does(batch: tuple[dict[str, int], list[Report]]) -> None:
    before, reports = batch
    assert deliver(before, reports, c=True) == deliver(before, reports, c=False)
