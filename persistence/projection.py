"""Engine event batches in, table rows out: the pure, synchronous core of the writer.

Invariants (the writer relies on every one):

- No I/O, no clock: the same sequence of ``apply_record`` calls gives the same rows.
- Position of an event = (evt_seq, evt_idx): evt_seq is ``Envelope.answers`` (the VENUE_CMD
  sequence the batch answers, unchanged when the engine service re-publishes the batch),
  evt_idx the event's index in the batch body.
- Per source (``Envelope.source``, one per engine shard) a watermark: a batch with
  ``evt_seq <= watermark`` was applied before and is skipped whole (its body is not read).
- Live orders are held in memory with their full row and the position of the last event
  applied to them. An event at or before that position is a replay: it changes nothing on
  the order. Order rows are emitted with absolute values (never deltas), and the SQL only
  moves a row forward (``updated`` position guard), so replays cannot regress state.
- An order accepted since the last ``take`` is emitted in ``orders_new``, any other
  changed order in ``orders_changed``; an event changes only ``rows.ORDER_MUTABLE`` columns
  of an accepted order.
- Terminal orders (filled, canceled, expired) are emitted a last time and forgotten:
  memory is bounded by the live orders. Insert-only rows (executions, trades, rejects,
  balance movements, mass cancels) are keyed by event position (trades by exec id).
- The writer seeds a projection with the live orders and watermarks read from PostgreSQL.
  ``apply_record`` runs ahead of the database, so after a failed write the writer throws
  the projection away and seeds a new one.

Events are read from the wire bytes (``persistence.events``), not decoded into objects:
each handler unpacks the tuple of one record type, in ``events.FIELDS`` order.

Known limit: ``orders`` is keyed by order id. The engine allows reusing the id of a dead
order; the gateway assigns unique ids, and a reuse would overwrite the old order's row (its
executions stay).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from engine.commands import EvType
from persistence import events
from persistence.rows import TERMINAL, OrderState, Row, RowBatch
from venue.bus.envelope import RequestMeta, decode_envelope, decode_meta
from venue.rejects import CancelReason

Pos = tuple[int, int]
Metas = dict[int, RequestMeta]  # engine command seq -> who asked
Handler = Callable[[int, int, events.Values, Metas], None]

_WITHDRAWALS: dict[int, str] = {
    EvType.WITHDRAW_HELD: "withdraw_held",
    EvType.WITHDRAW_CONFIRMED: "withdraw_confirmed",
    EvType.WITHDRAW_RELEASED: "withdraw_released",
}
_USER = CancelReason.USER


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
        self._accepted_here: set[int] = set()  # order ids accepted since the last take
        self._executions = self._batch.tables["executions"]
        self._handlers: dict[int, Handler] = {
            EvType.ACCEPTED: self._accepted,
            EvType.TRADE: self._trade,
            EvType.CANCELED: self._gone,
            EvType.EXPIRED: self._gone,
            EvType.REPLACED: self._replaced,
            EvType.TRIGGERED: self._triggered,
            EvType.REJECTED: self._rejected,
            EvType.DEPOSITED: self._deposited,
            EvType.WITHDRAW_HELD: self._withdrawal,
            EvType.WITHDRAW_CONFIRMED: self._withdrawal,
            EvType.WITHDRAW_RELEASED: self._withdrawal,
            EvType.MASS_CANCELED: self._mass_canceled,
        }

    # ------------------------------------------------------------------ public surface
    @property
    def live_orders(self) -> Mapping[int, OrderState]:
        return self._live

    def watermark(self, source: str) -> int:
        return self._watermarks.get(source, 0)

    def apply_record(self, stream_seq: int, payload: bytes) -> bool:
        """Apply one VENUE_EVT bus record; False when skipped (duplicate or not events)."""
        env = decode_envelope(payload)
        batch = self._batch
        batch.records += 1
        if env.kind != "evt" or env.answers <= 0:
            return False
        source, evt_seq = env.source, env.answers
        mark = self._watermarks.get(source, 0)
        if evt_seq <= mark:  # applied before: skip without reading the body
            batch.duplicates += 1
            batch.progress[source] = (mark, max(stream_seq, batch.progress.get(source, (0, 0))[1]))
            return False
        metas = {m.seq: m for m in decode_meta(env.meta)}
        handlers = self._handlers
        for idx, values in events.walk(env.body):
            handlers[values[0]](evt_seq, idx, values, metas)
        self._watermarks[source] = evt_seq
        batch.progress[source] = (evt_seq, stream_seq)
        return True

    def pending_rows(self) -> int:
        return self._batch.row_count + len(self._touched)

    def take(self) -> RowBatch:
        """The rows accumulated since the last take (orders in their latest state)."""
        batch, accepted = self._batch, self._accepted_here
        for order_id, state in self._touched.items():
            (batch.orders_new if order_id in accepted else batch.orders_changed).append(
                state.row())
        self._batch = RowBatch()
        self._executions = self._batch.tables["executions"]
        self._touched = {}
        self._accepted_here = set()
        return batch

    # ------------------------------------------------------------------ order state
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

    @staticmethod
    def _known(
        state: OrderState | None, cl_ord_id: str | None, session: str | None
    ) -> tuple[int | None, str | None, str | None, str | None]:
        """The order-derived columns of an ``executions`` row: (cum_qty, status, cl_ord_id,
        session). The order's ClOrdID and session fill in where the event has none; cum and
        status are NULL when the order is unknown (or the event a replay)."""
        if state is None:
            return None, None, cl_ord_id, session
        return (state.cum_qty_units, state.status, cl_ord_id or state.cl_ord_id,
                session or state.session)

    # ------------------------------------------------------------------ order events
    def _accepted(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, order_id, account, info, price, qty, stop_price, \
            display_qty, expire_time = v
        known = self._live.get(order_id)
        if known is not None and known.position >= (seq, idx):  # a replay: nothing changes
            self._executions.append((seq, idx, 0, cmd_seq, order_id, account, instrument,
                                     "new", None, 0, price, qty, None, qty, None, None, None,
                                     None, None))
            return
        m = metas.get(cmd_seq)
        cl = session = account_code = source = None
        if m is not None:
            cl, session = m.cl_ord_id or None, m.session or None
            account_code, source = m.account or None, m.source or None
        state = OrderState(
            order_id, account, instrument, info & 0xFF, (info >> 8) & 0xFF, (info >> 16) & 0xFF,
            (info >> 24) & 0xFF, (info >> 32) & 0xFF, price, qty, stop_price, display_qty,
            expire_time, "new", False, 0, qty, cl, None, session, account_code, source,
            seq, idx, seq, idx,
        )
        self._live[order_id] = state
        self._accepted_here.add(order_id)
        self._touched[order_id] = state  # what _advance does (a new order is not terminal)
        self._executions.append((seq, idx, 0, cmd_seq, order_id, account, instrument, "new",
                                 None, 0, price, qty, 0, qty, None, "new", cl, None, session))

    def _trade(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, exec_id, maker_id, taker_id, maker_account, \
            taker_account, price, qty, maker_fee, taker_fee, maker_leaves, taker_leaves, \
            aggressor_side = v
        self._batch.tables["trades"].append((
            exec_id, seq, idx, cmd_seq, instrument, price, qty, maker_id, taker_id,
            maker_account, taker_account, maker_fee, taker_fee, maker_leaves, taker_leaves,
            aggressor_side,
        ))
        pos = (seq, idx)
        for leg, order_id, account, leaves in ((0, taker_id, taker_account, taker_leaves),
                                               (1, maker_id, maker_account, maker_leaves)):
            state = self._current(order_id, pos)
            if state is not None:
                state.cum_qty_units += qty
                state.leaves_qty_units = leaves
                state.status = "filled" if leaves == 0 else "partially_filled"
                self._advance(state, pos)
            cum, status, cl, session = self._known(state, None, None)
            self._executions.append((
                seq, idx, leg, cmd_seq, order_id, account, instrument, "trade", exec_id, qty,
                price, leaves, cum, None, None, status, cl, None, session,
            ))

    def _gone(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        """OrderCanceled (also partial: an STP decrement) or OrderExpired."""
        kind, _, instrument, cmd_seq, order_id, account, reason, canceled_qty, leaves = v
        exec_type = "canceled" if kind == EvType.CANCELED else "expired"
        pos = (seq, idx)
        state = self._current(order_id, pos)
        prior = state.cl_ord_id if state else None
        if state is not None:
            state.leaves_qty_units = leaves
            if leaves == 0:
                state.status = exec_type
            self._advance(state, pos)
        cl = orig = session = None
        m = metas.get(cmd_seq)
        if kind == EvType.CANCELED and reason == _USER and m is not None:
            # The answer to this order's own cancel request: the request's ClOrdIDs.
            cl, orig = _text(m.cl_ord_id), _text(m.orig_cl_ord_id) or prior
            session = _text(m.session)
        cum, status, cl, session = self._known(state, cl, session)
        self._executions.append((seq, idx, 0, cmd_seq, order_id, account, instrument, exec_type,
                                 None, canceled_qty, 0, leaves, cum, None, reason, status, cl,
                                 orig, session))

    def _replaced(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, order_id, account, price, qty, leaves, _ = v
        pos = (seq, idx)
        state = self._current(order_id, pos)
        m = metas.get(cmd_seq)
        cl = _text(m.cl_ord_id) if m else None
        orig = _text(m.orig_cl_ord_id) if m else None
        if state is not None:
            orig = orig or state.cl_ord_id
            if cl is not None:
                state.orig_cl_ord_id, state.cl_ord_id = orig, cl
            state.price_units, state.qty_units = price, qty
            state.leaves_qty_units = leaves
            self._advance(state, pos)
        cum, status, cl, session = self._known(state, cl, _text(m.session) if m else None)
        self._executions.append((seq, idx, 0, cmd_seq, order_id, account, instrument,
                                 "replaced", None, 0, price, leaves, cum, qty, None, status, cl,
                                 orig, session))

    def _triggered(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, order_id, account, _, last_price = v
        state = self._current(order_id, (seq, idx))
        if state is not None:
            state.triggered = True
            self._advance(state, (seq, idx))
        cum, status, cl, session = self._known(state, None, None)
        self._executions.append((
            seq, idx, 0, cmd_seq, order_id, account, instrument, "triggered", None, 0,
            last_price, state.leaves_qty_units if state else None, cum, None, None, status, cl,
            None, session,
        ))

    # ------------------------------------------------------------------ other events
    def _rejected(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, ref_id, account, code, command = v
        m = metas.get(cmd_seq)
        who: tuple[str | None, ...] = (None, None, None, None, None) if m is None else (
            _text(m.cl_ord_id), _text(m.orig_cl_ord_id), _text(m.session), _text(m.account),
            _text(m.symbol))
        self._batch.tables["rejects"].append(
            (seq, idx, cmd_seq, command, ref_id, account, instrument, code, *who))

    def _deposited(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, _, cmd_seq, account, asset, amount, available = v
        self._batch.tables["balance_movements"].append(
            (seq, idx, cmd_seq, "deposit", account, asset, None, amount, available, None))

    def _withdrawal(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        kind, _, _, cmd_seq, withdrawal_id, account, asset, amount, available, held = v
        self._batch.tables["balance_movements"].append((
            seq, idx, cmd_seq, _WITHDRAWALS[kind], account, asset, withdrawal_id, amount,
            available, held,
        ))

    def _mass_canceled(self, seq: int, idx: int, v: events.Values, metas: Metas) -> None:
        _, _, instrument, cmd_seq, account, side, count = v
        m = metas.get(cmd_seq)
        self._batch.tables["mass_cancels"].append((
            seq, idx, cmd_seq, account, instrument, side, count,
            _text(m.cl_ord_id) if m else None, _text(m.session) if m else None,
        ))


__all__ = ["OrderState", "Projection", "Row", "RowBatch"]
