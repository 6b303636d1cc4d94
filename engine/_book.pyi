"""Typed stub of the C core (engine/_book.c). Formats: engine/wire.py, engine/canonical.py."""

Buffer = bytes | bytearray | memoryview

DEBUG: int  # 1 when built with VENUE_ENGINE_DEBUG=1 (invariants checked after every command)
CMD_SIZE: int  # bytes per command record (104)

class Engine:
    def __init__(self) -> None: ...
    def apply_batch(self, buf: Buffer, /) -> bytes:
        """Apply concatenated command records; return concatenated event records.

        Raises ValueError if len(buf) is not a multiple of CMD_SIZE (nothing applied);
        AssertionError in debug builds when an invariant breaks."""
    def apply_batch_timed(self, buf: Buffer, /) -> tuple[bytes, bytes]:
        """Like apply_batch; also returns a u32 array of nanoseconds per command."""
    def state_hash(self) -> int: ...
    def snapshot(self) -> bytes: ...
    @classmethod
    def restore(cls, data: Buffer, /) -> Engine:
        """Rebuild an engine from snapshot() bytes (either implementation's); ValueError if bad."""
    def check_invariants(self) -> None: ...
    def has_order(self, order_id: int, /) -> bool: ...
    def order_count(self) -> int: ...
    def clock(self) -> int: ...
