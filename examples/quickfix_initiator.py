"""A small QuickFIX initiator to point at the venue (needs the ``quickfix`` package).

Against the demo venue (`make run`), as the two demo firms:

    python examples/quickfix_initiator.py --config examples/venue_alpha.cfg \
        --username alpha --password alpha-demo --account ALPHA-1 --side buy --price 60000
    python examples/quickfix_initiator.py --config examples/venue_beta.cfg \
        --username beta --password beta-demo --account BETA-1 --side sell --price 60000

Against the certification profile:

    python -m certification serve --port 9878
    python examples/quickfix_initiator.py --config examples/initiator.cfg --symbol INTC --orders 3

Logs on with the session in the config file, sends ``--orders`` NewOrderSingles, prints every
application message it receives, and logs out after ``--seconds`` (or Ctrl-C). Against the
certification profile each order comes straight back (the echo application).
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from typing import Any

import quickfix as fix


class PrintingApplication(fix.Application):  # type: ignore[misc]
    def __init__(self, username: str = "", password: str = "") -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.session_id: Any = None
        self.username = username
        self.password = password

    def onCreate(self, session_id: Any) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: Any) -> None:
        print(f"logged on: {session_id}", flush=True)
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        print(f"logged out: {session_id}", flush=True)
        self.logged_on.clear()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "A" and self.username:
            message.setField(fix.Username(self.username))
            message.setField(fix.Password(self.password))

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) in ("3", "5"):  # Reject, Logout: worth seeing
            print(f"admin <- {show(message)}", flush=True)

    def toApp(self, message: Any, session_id: Any) -> None:
        print(f"app   -> {show(message)}", flush=True)

    def fromApp(self, message: Any, session_id: Any) -> None:
        print(f"app   <- {show(message)}", flush=True)


def show(message: Any) -> str:
    return str(message.toString()).replace("\x01", "|")


def new_order_single(symbol: str, side: str, quantity: str, price: str | None, account: str = "") -> Any:
    order = fix.Message()
    order.getHeader().setField(fix.MsgType(fix.MsgType_NewOrderSingle))
    order.setField(fix.ClOrdID(uuid.uuid4().hex[:16]))
    if account:
        order.setField(fix.Account(account))
    order.setField(fix.HandlInst("1"))
    order.setField(fix.Symbol(symbol))
    order.setField(fix.Side(side))
    order.setField(fix.TransactTime())
    # Quantities and prices go on the wire as decimal text, never through a float.
    order.setField(fix.StringField(38, quantity))
    if price is None:
        order.setField(fix.OrdType(fix.OrdType_MARKET))
    else:
        order.setField(fix.OrdType(fix.OrdType_LIMIT))
        order.setField(fix.StringField(44, price))
    return order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/initiator.cfg")
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--symbol", default="BTC-USD")
    parser.add_argument("--side", choices=["buy", "sell"], default="buy")
    parser.add_argument("--quantity", default="0.01", help="decimal text, e.g. 0.25")
    parser.add_argument("--account", default="", help="Account(1), e.g. ALPHA-1")
    parser.add_argument("--username", default="", help="Username(553) on Logon")
    parser.add_argument("--password", default="", help="Password(554) on Logon")
    parser.add_argument("--price", default=None, help="limit price (market order if omitted)")
    parser.add_argument("--seconds", type=float, default=5.0, help="stay logged on this long")
    args = parser.parse_args(argv)

    settings = fix.SessionSettings(args.config)
    app = PrintingApplication(args.username, args.password)
    initiator = fix.SocketInitiator(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    initiator.start()
    try:
        if not app.logged_on.wait(15):
            print("no logon within 15 s (is the venue running? CompIDs right?)", flush=True)
            return 1
        side = fix.Side_BUY if args.side == "buy" else fix.Side_SELL
        for _ in range(args.orders):
            order = new_order_single(args.symbol, side, args.quantity, args.price, args.account)
            fix.Session.sendToTarget(order, app.session_id)
        time.sleep(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        initiator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
