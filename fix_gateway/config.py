"""Typed, frozen configuration of FIX sessions and the acceptor (documented in docs/fix.md)."""

from __future__ import annotations

import msgspec

FIX44 = "FIX.4.4"
FIXT11 = "FIXT.1.1"
SUPPORTED_BEGIN_STRINGS = (FIX44, FIXT11)

# ApplVerID (1128/1137) codes
APPL_VER_IDS = {"FIX.4.4": "6", "FIX.5.0": "7", "FIX.5.0SP1": "8", "FIX.5.0SP2": "9"}


class SessionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One FIX session the acceptor accepts; identified by (begin_string, sender, target)."""

    begin_string: str
    """FIX.4.4 or FIXT.1.1."""
    sender_comp_id: str
    """Our CompID (SenderCompID on what we send; TargetCompID on what we receive)."""
    target_comp_id: str
    """The counterparty's CompID."""
    default_appl_ver_id: str = "9"
    """FIXT only: DefaultApplVerID (1137) we expect/answer; 9 = FIX.5.0SP2."""
    heartbeat_min: int = 1
    """Smallest HeartBtInt (108) accepted on Logon, seconds. 0 is always allowed (no heartbeats)."""
    heartbeat_max: int = 300
    """Largest HeartBtInt accepted on Logon, seconds."""
    transport_dictionary: str = ""
    """Session (transport) dictionary; default FIX44 or FIXT11 from specs/."""
    app_dictionary: str = ""
    """Application dictionary; default FIX44 (FIX.4.4) or FIX50SP2 (FIXT.1.1)."""
    reset_on_logon: bool = False
    """Reset both sequence numbers on every Logon (as if 141=Y were sent)."""
    validate: bool = True
    """Validate incoming messages against the dictionaries (session Reject 35=3 on failure)."""
    max_msgs_per_sec: int = 0
    """Application messages per second per session (token bucket, burst = rate); 0 = off.
    Excess messages are answered with BusinessMessageReject 380=8 (FIXT) / 380=0 (FIX.4.4)
    text "Throttle limit exceeded" and not delivered."""
    logon_timeout: float = 10.0
    """Seconds a new connection may take to send a valid Logon before it is closed."""
    logout_timeout: float = 2.0
    """Seconds to wait for the counterparty's Logout after we sent ours."""
    max_latency: int = 120
    """Accepted |SendingTime - now| in seconds (Reject 373=10 beyond it; silent disconnect on Logon)."""
    cancel_on_disconnect: bool = False
    """Ask the order-entry application to cancel the session's orders on disconnect."""
    username_required: bool = False
    """Logon must carry Username (553) accepted by the authenticator."""
    password_required: bool = False
    """Logon must carry Password (554) accepted by the authenticator."""
    user_defined_fields: tuple[int, ...] = ()
    """Extra tags accepted in any application message (values unchecked), e.g. the venue's
    7928 SelfTradePreventionMode; other tags missing from the dictionaries are rejected."""
    max_message_size: int = 65536
    """Largest accepted message in bytes; bigger frames are dropped as garbled."""

    @property
    def session_id(self) -> str:
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"

    @property
    def key(self) -> tuple[str, str, str]:
        """Routing key: (BeginString, our CompID, their CompID)."""
        return (self.begin_string, self.sender_comp_id, self.target_comp_id)

    @property
    def is_fixt(self) -> bool:
        return self.begin_string == FIXT11

    def dictionaries(self) -> tuple[str, str]:
        if self.is_fixt:
            return (self.transport_dictionary or "FIXT11", self.app_dictionary or "FIX50SP2")
        return (self.transport_dictionary or "FIX44", self.app_dictionary or "FIX44")


class AcceptorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "0.0.0.0"
    port: int = 9878
    sessions: tuple[SessionConfig, ...] = ()
    idle_timeout: float = 10.0
    """Seconds an unauthenticated connection may stay without completing a Logon."""
    max_connections: int = 10000
    """Connections beyond this are closed on accept."""
    timer_interval: float = 0.2
    """Seconds between heartbeat/test-request timer ticks of all sessions."""
    flush_interval: float = 0.2
    """Seconds between MessageStore.flush() calls (all sessions, concurrently)."""


__all__ = ["APPL_VER_IDS", "FIX44", "FIXT11", "AcceptorConfig", "SessionConfig"]
