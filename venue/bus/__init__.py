"""The bus: durable, ordered streams of batches (the command log and the event log).

Subjects: ``<prefix>.cmd.<shard>`` in stream ``VENUE_CMD`` (the engine's input log, the
sequencer) and ``<prefix>.evt.<shard>`` in ``VENUE_EVT``. One bus message carries a batch:
an :class:`~venue.bus.envelope.Envelope` whose body is the batch payload. The stream sequence
number is the order; a producer-chosen ``msg_id`` de-duplicates re-sent batches.

Two implementations of the :class:`~venue.bus.protocol.Bus` seam, one contract suite
(``tests/contract/test_bus.py``): JetStream (the real one) and memory.
"""

from venue.bus.envelope import Envelope, decode_envelope, encode_envelope
from venue.bus.protocol import Bus, Record, StreamKind

__all__ = ["Bus", "Envelope", "Record", "StreamKind", "decode_envelope", "encode_envelope"]
