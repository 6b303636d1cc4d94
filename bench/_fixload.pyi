from collections.abc import Sequence
from typing import TypedDict

class Phase(TypedDict):
    # the phase, as bench.e2e puts it in out["latency"] (cpu_* aside)
    sent: int
    measured: int  # orders scheduled at or after t0 + measure_from * interval
    unanswered: int  # orders without a first report when the drain ended
    send_lag_at_end_us: float
    wakeups: int
    blocked_writes: int  # times the socket took not all there was to write (then: EPOLLOUT)
    rejects: int  # first reports with ExecType 8
    latency_ns: list[int]  # per measured, answered order: first report - scheduled
    from_write_ns: list[int]  # first report - written
    send_lag_ns: list[int]  # written - scheduled
    to_arrival_ns: list[int]  # first report's kernel receive timestamp - scheduled
    write_to_arrival_ns: list[int]  # first report's kernel receive timestamp - written
    read_lag_ns: list[int]  # first report read - its receive timestamp
    trace: list[tuple[int, int]]  # (scheduled - measurement start, latency) when trace
    # counted during the call
    fills: int
    cancels_sent: int
    cancel_acks: int
    cancel_rejects: int
    reject_texts: dict[str, int]  # Text(58), first 60 characters; "cancel: <text>" for 35=9
    # state handed back
    seq: int  # the next MsgSeqNum
    n: int  # the last order number used in a ClOrdID
    prng: int  # the price generator's state
    resting: list[tuple[bytes, int, bool]]  # (ClOrdID, shape, live), oldest first
    awaiting: dict[bytes, int]  # ClOrdID -> scheduled ns, still without a first report
    rest: bytes  # received bytes not framed yet
    unsent: bytes  # output the socket had not taken yet (normally empty)

def latency_phase(
    *,
    fd: int,
    head: bytes,
    orders: Sequence[Sequence[bytes]],
    cancels: Sequence[Sequence[bytes]],
    heartbeat: Sequence[bytes],
    prefix: bytes,
    shapes: Sequence[int],
    refs: Sequence[int],
    lo: float,
    hi: float,
    max_resting: int,
    seq: int,
    n: int,
    prng: int,
    resting: Sequence[tuple[bytes, int, bool]],
    rest: bytes,
    t0: int,
    interval: float,
    total: int,
    measure_from: int,
    drain: float,
    trace: bool,
    max_frame: int,
    garbled: type[Exception],
) -> Phase:
    """One open-loop latency phase over the connected, non-blocking socket ``fd``, blocking.

    Order i (0 <= i < total) is due at ``t0 + int(i * interval)`` (CLOCK_MONOTONIC ns, as
    time.perf_counter_ns); each wake-up sends all orders due in one write. ``head`` is
    b"8=<BeginString>\\x019="; ``orders[shape]`` / ``cancels[shape]`` / ``heartbeat`` the
    literal pieces of the body templates between the values (NewOrderSingle: seq, time,
    ClOrdID, units ".", cents, time; OrderCancelRequest: seq, time, ClOrdID, OrigClOrdID,
    time; Heartbeat: seq, time, TestReqID). ClOrdIDs are ``prefix`` + n, shapes alternate
    ``shapes[n & 1]``, the limit price is refs[shape] * (1 + uniform(lo, hi)) cents. Past
    ``max_resting`` queued orders the oldest live one is cancelled. After the last order,
    reads until every order is answered or ``drain`` seconds passed.

    Raises ``garbled`` for a frame with a bad CheckSum or BodyLength, ConnectionResetError
    when the peer closes, OSError on a system call's failure, ValueError / TypeError for
    bad arguments.
    """
