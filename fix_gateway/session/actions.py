"""What the sans-IO session asks its shell to do, in order."""

from __future__ import annotations

from typing import NamedTuple


class Send(NamedTuple):
    """Write these bytes (one or more whole messages) to the connection."""

    data: bytes


class Disconnect(NamedTuple):
    """Close the connection (after writing everything sent before)."""

    reason: str


class LoggedOn(NamedTuple):
    session_id: str


class LoggedOut(NamedTuple):
    session_id: str
    reason: str


Action = Send | Disconnect | LoggedOn | LoggedOut

__all__ = ["Action", "Disconnect", "LoggedOn", "LoggedOut", "Send"]
