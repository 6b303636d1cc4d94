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


class LoadHeld(NamedTuple):
    """A ResendRequest reaches below what the message store holds in memory: read stored
    messages ``begin``..``end`` back (``MessageStore.load_held``), then call
    ``Session.resume`` (the session processes nothing meanwhile)."""

    session_id: str
    begin: int
    end: int


Action = Send | Disconnect | LoggedOn | LoggedOut | LoadHeld

__all__ = ["Action", "Disconnect", "LoadHeld", "LoggedOn", "LoggedOut", "Send"]
