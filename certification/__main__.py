"""``python -m certification serve --port P``: run the certification acceptor."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certification")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser(
        "serve", help="run the certification FIX acceptor (ISLD; TW44, TW50SP2)"
    )
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=9878)
    sub.add_parser("run", help="run .def scripts (certification.runner)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        from certification import runner

        return int(runner.main(rest))
    if args.command == "serve":
        from certification.profile import serve
        from fix_gateway.acceptor import install_uvloop

        install_uvloop()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.host, args.port))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
