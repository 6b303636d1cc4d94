"""Engine snapshots on disk: ``<dir>/engine-<shard>-<seq:020d>.snap``.

Files are written durably by ``venue.snapshot_files`` (the newest ``keep`` stay). Header:
magic, the command-stream sequence the state includes, the state hash, the identity of the
command stream it was taken from (``Bus.stream_id``); then the engine's ``snapshot()``
bytes. ``latest()``
verifies the hash after restoring and falls back to an older file if the newest is damaged;
given a stream identity, it skips snapshots of another stream (a command log deleted and
started again while the snapshots stayed), and files of the first format (no identity).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

from engine.core import MatchingEngine
from venue.snapshot_files import SnapshotFiles

_HEADER = struct.Struct("<8sQQQ")
_MAGIC = b"VENUESN2"


class Snapshot(NamedTuple):
    seq: int  # last command-stream sequence included
    state_hash: int
    engine: MatchingEngine
    stream: int  # the command stream's identity (Bus.stream_id)


class SnapshotStore(SnapshotFiles):
    def __init__(self, directory: Path, shard: str = "0", keep: int = 3) -> None:
        super().__init__(directory, f"engine-{shard}-", keep)
        self.shard = shard

    @staticmethod
    def capture(seq: int, engine: MatchingEngine, stream: int = 0) -> tuple[bytes, bytes]:
        """The file's contents for the engine's state now (in memory; a few ms for a book of
        20,000 resting orders), to ``write`` later while the engine goes on."""
        return _HEADER.pack(_MAGIC, seq, engine.state_hash(), stream), engine.snapshot()

    def write(self, seq: int, contents: tuple[bytes, bytes]) -> Path:
        """Write (and fsync) what ``capture`` took."""
        return self._write(seq, *contents)

    def latest(self, max_seq: int | None = None, stream: int | None = None) -> Snapshot | None:
        """The newest intact snapshot (with seq <= max_seq, and of that stream, when given)."""
        for path in reversed(self._files()):
            try:
                data = path.read_bytes()
                magic, seq, state_hash, of_stream = _HEADER.unpack_from(data)
                if magic != _MAGIC or (max_seq is not None and seq > max_seq):
                    continue
                if stream is not None and of_stream != stream:
                    continue
                engine = MatchingEngine.restore(data[_HEADER.size :])
            except (OSError, ValueError, struct.error):
                continue
            if engine.state_hash() == state_hash:
                return Snapshot(seq, state_hash, engine, of_stream)
        return None
