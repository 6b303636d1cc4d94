"""Sans-IO FIX session state machine (FIX.4.4 and FIXT.1.1).

Bytes, parsed messages and timer ticks go in; actions (Send, Disconnect, LoggedOn,
LoggedOut) come out, in order. No sockets, no asyncio, no wall clock: the clock is
injected. One module per state, each handler returning the next state:

- ``disconnected``   no connection
- ``awaiting_logon`` first message must be a valid Logon (silent disconnect otherwise)
- ``in_session``     logged on: sequence checks, admin messages, app dispatch, timers
- ``resend``         logged on with an inbound gap (queue) + answering ResendRequests
- ``logout``         our Logout sent, waiting for theirs

``core.Session`` holds config, store, clock, application and the shared send/reject
machinery.
"""

from fix_gateway.session.actions import Action, Disconnect, LoggedOn, LoggedOut, Send
from fix_gateway.session.clock import Clock, TestClock, system_clock
from fix_gateway.session.core import Session

__all__ = [
    "Action",
    "Clock",
    "Disconnect",
    "LoggedOn",
    "LoggedOut",
    "Send",
    "Session",
    "TestClock",
    "system_clock",
]
