"""Persistence writer: the engine's event stream (VENUE_EVT) into PostgreSQL tables.

Architecture (a synchronous, deterministic core in an async shell, like engine/)::

    VENUE_EVT --Bus.read--> writer.Writer (async: queue, batching, retry, one transaction
                            per batch)
                               |  records (Envelope: answers, body, meta)
                               v
                            projection.Projection (pure: events -> rows, live orders in
                            memory, per-source watermark; events.walk reads the engine's
                            event records from their bytes)
                               |  rows.RowBatch
                               v
                            store (SQL: COPY of new rows, one UPDATE of changed orders with
                            the progress rows; on a replay, INSERT ... ON CONFLICT instead)

- Tables (venue/migrations/003_trading.sql, 006): ``orders`` (one row per order, latest state),
  ``executions`` (one row per order event and order), ``trades``, ``rejects``,
  ``balance_movements``, ``mass_cancels``, ``writer_progress``; NUMERIC views
  ``orders_view``, ``trades_view``, ``balance_movements_view``.
- Idempotent on replay: insert-only rows are keyed by event position
  (``Envelope.answers``, index in the batch), so a batch whose COPY meets stored keys is
  rolled back and merged ON CONFLICT DO NOTHING; order rows carry absolute state and only
  move forward; a re-published batch (answers at or below the source's watermark) is
  skipped whole.
- PostgreSQL down: the writer keeps its committed position, retries with back-off, and
  catches up from JetStream when the database returns (docs/architecture.md, Persistence).
- Service: ``persistence.writer:run`` (``python -m venue.service writer`` once registered);
  tests and tools use ``Writer(bus, dsn, WriterSettings(...))``.
"""

from persistence.projection import Projection
from persistence.rows import OrderState, RowBatch
from persistence.writer import Writer, WriterSettings, run

__all__ = ["OrderState", "Projection", "RowBatch", "Writer", "WriterSettings", "run"]
