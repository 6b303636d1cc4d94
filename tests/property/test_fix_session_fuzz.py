"""Fuzz the sans-IO session: random message sequences (wrong seqs, PossDup, resets,
resend requests, bad values, garbled bytes, timer ticks) never raise, and the sequence
numbers we send stay strictly increasing (gap fills and resends excepted)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "fix"))
from fix_scenario import Scenario

EXAMPLES = int(os.environ.get("FIX_FUZZ_EXAMPLES", "200"))
RUNS = {"sessions": 0, "steps": 0}

values = st.sampled_from(
    ["", "0", "1", "2", "Y", "N", "-1", "999999", "abc", "20261122-00:00:00", "x" * 40]
)
fields = st.lists(
    st.tuples(
        st.sampled_from(
            [
                7,
                16,
                36,
                43,
                58,
                97,
                98,
                108,
                112,
                122,
                123,
                141,
                11,
                21,
                38,
                40,
                54,
                55,
                60,
                386,
                336,
                999,
            ]
        ),
        values,
    ),
    max_size=8,
)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("msg"),
            st.sampled_from(["0", "1", "2", "3", "4", "5", "A", "D", "d", "C", "8", "*"]),
            st.integers(-2, 3),  # seq offset from the expected
            fields,
        ),
        st.tuples(st.just("tick"), st.floats(0, 70)),
        st.tuples(st.just("garbage"), st.binary(max_size=60)),
    ),
    max_size=25,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.integers(0, 60), steps)
def test_session_survives_anything(fixt: bool, hb: int, script: list[tuple]) -> None:  # type: ignore[type-arg]
    RUNS["sessions"] += 1
    s = Scenario(fixt=fixt)
    s.logon(hb=hb)
    last_seq = 0
    for step in script:
        RUNS["steps"] += 1
        if s.disconnected:
            break
        if step[0] == "msg":
            _, mt, off, body = step
            seq = max(0, s.store.next_target_seq + off)
            out = s.send(mt, body, seq=seq)
        elif step[0] == "tick":
            out = s.tick(step[1])
        else:
            out = s.send_raw(step[1])
        for m in out:
            seq = int(m.get(34) or b"0")
            if m.msg_type == b"A" and m.get(141) == b"Y":
                last_seq = seq  # sequences reset by a 141=Y Logon
            elif m.get(43) != b"Y":
                assert seq > last_seq, (m, last_seq)
                last_seq = seq
        assert s.store.next_sender_seq > last_seq


def test_report_session_fuzz_count() -> None:
    print(f"\nfix session fuzz: {RUNS['sessions']} sessions, {RUNS['steps']} steps")
