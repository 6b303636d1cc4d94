"""Engine event batches in, table rows out: the pure, synchronous core of the writer.

Invariants (the writer relies on every one):

- No I/O, no clock: the same sequence of ``apply`` calls gives the same rows.
- Position of an event = (evt_seq, evt_idx): evt_seq is ``Envelope.answers`` (the VENUE_CMD
  sequence the batch answers, unchanged when the engine service re-publishes the batch),
  evt_idx the event's index in the batch body.
- Per source (``Envelope.source``, one per engine shard) a watermark: a batch with
  ``evt_seq <= watermark`` was applied before and is skipped whole.
- Live orders are held in memory with their full row and the position of the last event
  applied to them. An event at or before that position is a replay: it changes nothing on
  the order. Order rows are emitted with absolute values (never deltas), and the SQL upsert
  only moves a row forward (``updated`` position guard), so replays cannot regress state.
- Terminal orders (filled, canceled, expired) are emitted a last time and forgotten:
  memory is bounded by the live orders. Insert-only rows (executions, trades, rejects,
  balance movements, mass cancels) are keyed by event position (trades by exec id) and
  inserted with ON CONFLICT DO NOTHING.
- The writer seeds a projection with the live orders and watermarks read from PostgreSQL.
  ``apply`` runs ahead of the database, so after a failed write the writer throws the
  projection away and seeds a new one.

Known limit: ``orders`` is keyed by order id. The engine allows reusing the id of a dead
order; the gateway assigns unique ids, and a reuse would overwrite the old order's row (its
executions stay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from engine import commands as c
from engine import wire
from persistence.rows import TERMINAL, OrderState, Row, RowBatch
from venue.bus.envelope import Envelope, RequestMeta, decode_envelope, decode_meta
from venue.rejects import CancelReason

Pos = tuple[int, int]


def _text(value: str) -> str | None:
    return value or None


class Projection:
    def __init__(
        self,
        live_orders: Iterable[OrderState] = (),
        watermarks: Mapping[str, int] | None = None,
    ) -> None:
        self._live: dict[int, OrderState] = {o.order_id: o for o in live_orders}
        self._watermarks: dict[str, int] = dict(watermarks or {})
        self._batch = RowBatch()
        self._touched: dict[int, OrderState] = {}

    # ------------------------------------------------------------------ public surface
    @property
    def live_orders(self) -> Mapping[int, OrderState]:
        return self._live

    def watermark(self, source: str) -> int:
        return self._watermarks.get(source, 0)

    def apply_record(self, stream_seq: int, payload: bytes) -> bool:
        """Apply one VENUE_EVT bus record; False when skipped (duplicate or not events)."""
        return self.apply_envelope(stream_seq, decode_envelope(payload))

    def apply_envelope(self, stream_seq: int, env: Envelope) -> bool:
        if env.kind != "evt" or env.answers <= 0:
            self._batch.records += 1
            return False
        if env.answers <= self._watermarks.get(env.source, 0):  # duplicate: skip decoding
            return self.apply_events(env.source, env.answers, stream_seq, ())
        return self.apply_events(
            env.source, env.answers, stream_seq, wire.decode_events(env.body), decode_meta(env.meta)
        )

    def apply_events(
        self,
        source: str,
        evt_seq: int,
        stream_seq: int,
        events: Sequence[c.Event],
        meta: Sequence[RequestMeta] = (),
    ) -> bool:
        batch = self._batch
        batch.records += 1
        mark = self._watermarks.get(source, 0)
        if evt_seq <= mark:
            batch.duplicates += 1
            batch.progress[source] = (mark, max(stream_seq, batch.progress.get(source, (0, 0))[1]))
            return False
        by_seq = {m.seq: m for m in meta}
        for idx, ev in enumerate(events):
            self._apply(evt_seq, idx, ev, by_seq.get(ev.seq))
        self._watermarks[source] = evt_seq
        batch.progress[source] = (evt_seq, stream_seq)
        return True

    def pending_rows(self) -> int:
        return self._batch.row_count + len(self._touched)

    def take(self) -> RowBatch:
        """The rows accumulated since the last take (orders in their latest state)."""
        batch = self._batch
        batch.orders = [o.row() for o in self._touched.values()]
        self._batch = RowBatch()
        self._touched = {}
        return batch

    # ------------------------------------------------------------------ events
    def _apply(self, seq: int, idx: int, ev: c.Event, m: RequestMeta | None) -> None:
        if isinstance(ev, c.BookLevelChanged):
            return
        if isinstance(ev, c.Trade):
            self._trade((seq, idx), ev)
        elif isinstance(ev, c.OrderAccepted):
            self._accepted((seq, idx), ev, m)
        elif isinstance(ev, c.OrderCanceled | c.OrderExpired):
            self._gone((seq, idx), ev, m)
        elif isinstance(ev, c.OrderReplaced):
            self._replaced((seq, idx), ev, m)
        elif isinstance(ev, c.OrderTriggered):
            self._triggered((seq, idx), ev)
        elif isinstance(ev, c.Rejected):
            self._batch.tables["rejects"].append((
                seq, idx, ev.seq, ev.command, ev.ref_id, ev.account, ev.instrument, ev.code,
                *self._meta_fields(m),
            ))
        elif isinstance(ev, c.DepositApplied):
            self._batch.tables["balance_movements"].append((
                seq, idx, ev.seq, "deposit", ev.account, ev.asset, None, ev.amount,
                ev.available, None,
            ))
        elif isinstance(ev, c.WithdrawHeld | c.WithdrawConfirmed | c.WithdrawReleased):
            kind = {c.WithdrawHeld: "withdraw_held", c.WithdrawConfirmed: "withdraw_confirmed",
                    c.WithdrawReleased: "withdraw_released"}[type(ev)]
            self._batch.tables["balance_movements"].append((
                seq, idx, ev.seq, kind, ev.account, ev.asset, ev.withdrawal_id, ev.amount,
                ev.available, ev.held,
            ))
        elif isinstance(ev, c.MassCanceled):
            self._batch.tables["mass_cancels"].append((
                seq, idx, ev.seq, ev.account, ev.instrument, ev.side, ev.count,
                _text(m.cl_ord_id) if m else None, _text(m.session) if m else None,
            ))
        # OrderStatusReport, Acknowledged: nothing to persist here.

    @staticmethod
    def _meta_fields(m: RequestMeta | None) -> tuple[str | None, ...]:
        if m is None:
            return (None, None, None, None, None)
        return (_text(m.cl_ord_id), _text(m.orig_cl_ord_id), _text(m.session),
                _text(m.account), _text(m.symbol))

    def _current(self, order_id: int, pos: Pos) -> OrderState | None:
        """The live order if this event is new to it; None for replays and unknown orders."""
        state = self._live.get(order_id)
        if state is None:
            self._batch.unknown_order_events += 1
            return None
        if state.position >= pos:
            return None
        return state

    def _advance(self, state: OrderState, pos: Pos) -> None:
        state.updated_evt_seq, state.updated_evt_idx = pos
        self._touched[state.order_id] = state
        if state.status in TERMINAL:
            del self._live[state.order_id]

    def _execution(
        self, pos: Pos, leg: int, ev: c.Event, order_id: int, account: int, exec_type: str,
        state: OrderState | None, *, exec_id: int | None = None, last_qty: int = 0,
        last_price: int = 0, leaves: int | None = None, order_qty: int | None = None,
        reason: int | None = None, cl_ord_id: str | None = None,
        orig_cl_ord_id: str | None = None, session: str | None = None,
    ) -> None:
        if state is not None:
            cl_ord_id = cl_ord_id or state.cl_ord_id
            session = session or state.session
        self._batch.tables["executions"].append((
            pos[0], pos[1], leg, ev.seq, order_id, account, ev.instrument, exec_type, exec_id,
            last_qty, last_price, leaves, state.cum_qty_units if state else None, order_qty,
            reason, state.status if state else None, cl_ord_id, orig_cl_ord_id, session,
        ))

    def _accepted(self, pos: Pos, ev: c.OrderAccepted, m: RequestMeta | None) -> None:
        known = self._live.get(ev.order_id)
        state: OrderState | None = None
        if known is None or known.position < pos:
            state = OrderState(
                ev.order_id, ev.account, ev.instrument, ev.side, ev.ord_type, ev.tif, ev.flags,
                ev.stp, ev.price, ev.qty, ev.stop_price, ev.display_qty, ev.expire_time, "new",
                False, 0, ev.qty, _text(m.cl_ord_id) if m else None, None,
                _text(m.session) if m else None, _text(m.account) if m else None,
                _text(m.source) if m else None, pos[0], pos[1], pos[0], pos[1],
            )
            self._live[ev.order_id] = state
            self._advance(state, pos)
        self._execution(pos, 0, ev, ev.order_id, ev.account, "new", state,
                        last_price=ev.price, leaves=ev.qty, order_qty=ev.qty)

    def _trade(self, pos: Pos, ev: c.Trade) -> None:
        batch = self._batch
        batch.tables["trades"].append((
            ev.exec_id, pos[0], pos[1], ev.seq, ev.instrument, ev.price, ev.qty,
            ev.maker_order_id, ev.taker_order_id, ev.maker_account, ev.taker_account,
            ev.maker_fee, ev.taker_fee, ev.maker_leaves, ev.taker_leaves, ev.aggressor_side,
        ))
        for leg, order_id, account, leaves in (
            (0, ev.taker_order_id, ev.taker_account, ev.taker_leaves),
            (1, ev.maker_order_id, ev.maker_account, ev.maker_leaves),
        ):
            state = self._current(order_id, pos)
            if state is not None:
                state.cum_qty_units += ev.qty
                state.leaves_qty_units = leaves
                state.status = "filled" if leaves == 0 else "partially_filled"
                self._advance(state, pos)
            self._execution(pos, leg, ev, order_id, account, "trade", state, exec_id=ev.exec_id,
                            last_qty=ev.qty, last_price=ev.price, leaves=leaves)

    def _gone(self, pos: Pos, ev: c.OrderCanceled | c.OrderExpired, m: RequestMeta | None) -> None:
        state = self._current(ev.order_id, pos)
        prior = state.cl_ord_id if state else None
        if state is not None:
            state.leaves_qty_units = ev.leaves_qty
            if ev.leaves_qty == 0:
                state.status = "canceled" if isinstance(ev, c.OrderCanceled) else "expired"
            self._advance(state, pos)
        exec_type = "canceled" if isinstance(ev, c.OrderCanceled) else "expired"
        cl, orig, session = None, None, None
        if isinstance(ev, c.OrderCanceled) and ev.reason == CancelReason.USER and m is not None:
            # The answer to this order's own cancel request: the request's ClOrdIDs.
            cl, orig = _text(m.cl_ord_id), _text(m.orig_cl_ord_id) or prior
            session = _text(m.session)
        self._execution(pos, 0, ev, ev.order_id, ev.account, exec_type, state,
                        last_qty=ev.canceled_qty, leaves=ev.leaves_qty, reason=ev.reason,
                        cl_ord_id=cl, orig_cl_ord_id=orig, session=session)

    def _replaced(self, pos: Pos, ev: c.OrderReplaced, m: RequestMeta | None) -> None:
        state = self._current(ev.order_id, pos)
        cl = _text(m.cl_ord_id) if m else None
        orig = _text(m.orig_cl_ord_id) if m else None
        if state is not None:
            orig = orig or state.cl_ord_id
            if cl is not None:
                state.orig_cl_ord_id, state.cl_ord_id = orig, cl
            state.price_units, state.qty_units = ev.price, ev.qty
            state.leaves_qty_units = ev.leaves_qty
            self._advance(state, pos)
        self._execution(pos, 0, ev, ev.order_id, ev.account, "replaced", state,
                        last_price=ev.price, leaves=ev.leaves_qty, order_qty=ev.qty,
                        cl_ord_id=cl, orig_cl_ord_id=orig,
                        session=_text(m.session) if m else None)

    def _triggered(self, pos: Pos, ev: c.OrderTriggered) -> None:
        state = self._current(ev.order_id, pos)
        if state is not None:
            state.triggered = True
            self._advance(state, pos)
        self._execution(pos, 0, ev, ev.order_id, ev.account, "triggered", state,
                        last_price=ev.last_price,
                        leaves=state.leaves_qty_units if state else None)


__all__ = ["OrderState", "Projection", "Row", "RowBatch"]
