"""FIX gateway: the session layer for FIX.4.4 and FIXT.1.1/FIX.5.0SP2.

Architecture (outside in)::

    TCP/TLS --> acceptor.py (asyncio Protocol, uvloop; routing by Logon, auth, idle
                 |           timeouts, bounded buffers, one timer task)
                 v
            session/ (sans-IO state machine: bytes + timer ticks in, actions out;
                 |    one module per state: awaiting_logon, in_session, resend, logout)
                 |-- codec.py       framing, parse, encode (C: _codec.c; pure-Python fallback)
                 |-- validation.py  dictionary checks -> session Reject (35=3) reasons
                 |-- dictionary.py  specs/*.xml -> tables (cached)
                 |-- store.py       MessageStore seam (stores/memory.py, stores/postgres.py)
                 v
            application.py (Protocol: on_logon / on_logout / on_message -> replies);
            pushes back in with Acceptor.send(session_id, msg_type, fields)

Invariants: the session machine never does I/O, never reads the wall clock (injected
``Clock``) and calls the application synchronously in sequence order; every outgoing
message takes the store's next sender seq exactly once; application messages are stored
(for resend), admin messages are gap-filled. Certification behaviour is documented in
docs/fix.md; the certification profile lives in certification/profile.py.
"""
