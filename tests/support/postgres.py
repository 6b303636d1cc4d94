"""An embedded PostgreSQL for a test (started, stopped and removed)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from venue.embedded import EmbeddedPostgres


@contextmanager
def embedded_postgres(prefix: str = "venue-pg") -> Iterator[EmbeddedPostgres]:
    # A short path: PostgreSQL's unix socket path must stay under 107 bytes.
    base = Path("/tmp") / f"{prefix}-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(base)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
