"""A QuickFIX acceptor with the certification profile: an independent reference for the
conformance scripts in certification/scripts.

    python examples/quickfix_echo_acceptor.py --port 9880

Sessions: ISLD <- TW44 (FIX.4.4) and ISLD <- TW50SP2 (FIXT.1.1, DefaultApplVerID 9) with
QuickFIX's standard data dictionaries, ResetOnLogon=Y, and the echo application the
certification profile describes (NewOrderSingle, SecurityDefinition and Email echoed; a
PossResend NewOrderSingle with a ClOrdID seen since logon is dropped; anything else gets a
BusinessMessageReject "Unsupported Message Type"). Needs the ``quickfix`` package.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

import quickfix as fix

ECHOED = {"D", "d", "C"}
_HEADER_TAGS_DROPPED = (34, 43, 52, 97, 122, 49, 56, 50, 57, 115, 116, 128, 129, 144, 145)


def dictionaries() -> Path:
    """QuickFIX's dictionaries as installed by the wheel (share/quickfix)."""
    return Path(sys.prefix) / "share" / "quickfix"


def settings_text(port: int, store: Path) -> str:
    spec = dictionaries()
    return f"""[DEFAULT]
ConnectionType=acceptor
SocketAcceptPort={port}
SocketReuseAddress=Y
SenderCompID=ISLD
ResetOnLogon=Y
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
FileStorePath={store}
ValidateUserDefinedFields=Y

[SESSION]
BeginString=FIX.4.4
TargetCompID=TW44
DataDictionary={spec / "FIX44.xml"}

[SESSION]
BeginString=FIXT.1.1
TargetCompID=TW50SP2
DefaultApplVerID=FIX.5.0SP2
TransportDataDictionary={spec / "FIXT11.xml"}
AppDataDictionary={spec / "FIX50SP2.xml"}
"""


class EchoApplication(fix.Application):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def onCreate(self, session_id: fix.SessionID) -> None:
        pass

    def onLogon(self, session_id: fix.SessionID) -> None:
        with self._lock:
            self._seen[session_id.toString()] = set()

    def onLogout(self, session_id: fix.SessionID) -> None:
        pass

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        header = message.getHeader()
        msg_type = header.getField(35)
        if msg_type not in ECHOED:
            raise fix.UnsupportedMessageType()
        if msg_type == "D":
            cl_ord_id = message.getField(11)
            poss_resend = header.isSetField(97) and header.getField(97) == "Y"
            with self._lock:
                seen = self._seen.setdefault(session_id.toString(), set())
                if poss_resend and cl_ord_id in seen:
                    return
                seen.add(cl_ord_id)
        echo = fix.Message(message)
        echo_header = echo.getHeader()
        for tag in _HEADER_TAGS_DROPPED:
            echo_header.removeField(tag)
        fix.Session.sendToTarget(echo, session_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9880)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "acceptor.cfg"
        cfg.write_text(settings_text(args.port, Path(tmp) / "store"))
        settings = fix.SessionSettings(str(cfg))
        app = EchoApplication()
        acceptor = fix.SocketAcceptor(
            app, fix.MemoryStoreFactory(), settings, fix.ScreenLogFactory(False, False, False)
        )
        acceptor.start()
        print(f"QuickFIX certification acceptor listening on {args.port}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            acceptor.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
