"""Numbered snapshot files in one directory: ``<dir>/<prefix><seq:020d>.snap``.

A file is written to a temporary name, fsynced, then renamed, so a crash never leaves a
half-written snapshot under a real name; after each write only the newest ``keep`` stay.
The engine's snapshots (engine/snapshots.py) and the gateway's order books
(fix_gateway/order_entry/book_snapshots.py) both keep their files this way.
"""

from __future__ import annotations

import os
from pathlib import Path


class SnapshotFiles:
    def __init__(self, directory: Path, prefix: str, keep: int) -> None:
        self.directory = directory
        self.prefix = prefix
        self.keep = max(1, keep)

    def _files(self) -> list[Path]:
        """The snapshot files, oldest first."""
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob(f"{self.prefix}*.snap"))

    def _write(self, seq: int, *parts: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}{seq:020d}.snap"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        for old in self._files()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path
