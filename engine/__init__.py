"""Matching engine: C order books + account holds, driven from Python.

Architecture (one path, synchronous and deterministic; the NATS service wraps it)::

    commands (engine.commands) --engine.wire--> 104-byte records --Engine.apply_batch--> events
                                                                  (engine._book, C)
    engine.reference.ReferenceEngine: the same semantics in plain Python (the test oracle)
    engine.canonical: canonical state words = state hash + snapshot format (shared by both)
    venue.rejects: the reject-code table; engine/_rejects.h is generated from it

- ``engine._book.Engine`` (C): ``apply_batch(bytes) -> bytes`` applies a whole batch in one
  call without creating a Python object per command; ``state_hash``, ``snapshot``,
  ``Engine.restore``. Built with ``VENUE_ENGINE_DEBUG=1`` it checks every internal invariant
  after each command.
- ``engine.core.MatchingEngine``: the per-command convenience API (command objects in, event
  objects out) over the C core.
- The engine never reads a clock: time is the max of command timestamps, so replay is exact.
- Semantics of every order type, TIF, STP mode and reject code: docs/engine.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.core import MatchingEngine

__all__ = ["MatchingEngine"]


def __getattr__(name: str) -> Any:
    # lazy: `python -m engine.gen_rejects` and the reference must work before the C build
    if name == "MatchingEngine":
        from engine.core import MatchingEngine

        return MatchingEngine
    raise AttributeError(name)
