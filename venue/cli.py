"""The ``venue`` command line: up, doctor, migrate, instrument, account, certification."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from venue.config import AccountConfig, Config, ConfigError, InstrumentConfig, load_config
from venue.db import DatabaseUnavailable, connect, migrate
from venue.embedded import EmbeddedError, EmbeddedPostgres
from venue.logs import configure_logging
from venue.runtime import StartupError, Venue, pid_alive, read_runtime, run_venue


class CliError(Exception):
    pass


def _run(coro: Awaitable[Any]) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def database(config: Config) -> AsyncIterator[Any]:
    """A connection to the venue's database: the configured URL, else the running venue's,
    else the embedded server started just for this command."""
    url = config.database.url
    embedded = None
    if not url:
        info = read_runtime(config.data_dir)
        if info and pid_alive(info.get("pid")):
            url = str(info["database_url"])
    if not url:
        embedded = EmbeddedPostgres(config.data_dir)
        await asyncio.get_running_loop().run_in_executor(None, embedded.start)
        url = embedded.url
    try:
        conn = await connect(url, config.database.connect_timeout_s)
        try:
            await migrate(conn)
            yield conn
        finally:
            await conn.close()
    finally:
        if embedded:
            await asyncio.get_running_loop().run_in_executor(None, embedded.stop)


def cmd_up(args: argparse.Namespace, config: Config) -> int:
    def ready(venue: Venue) -> None:
        print(f"venue is up (data directory {venue.data_dir})", flush=True)
        for name, url in venue.endpoints().items():
            print(f"  {name:<12} {url}", flush=True)
        print("  stop with Ctrl-C; check with `venue doctor`", flush=True)

    _run(run_venue(config, args.config, ready))
    print("venue stopped", flush=True)
    return 0


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from venue.doctor import run_checks

    checks = _run(run_checks(config, config.data_dir))
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for c in checks:
            print(f"{'ok  ' if c.healthy else 'FAIL'} {c.component:<14} {c.detail}")
    return 0 if checks and all(c.healthy for c in checks) else 1


def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    async def go() -> None:
        async with database(config) as conn:
            applied = await migrate(conn)
            from venue.db import migration_files

            print(f"schema up to date ({len(migration_files())} migrations, {len(applied)} applied now)")

    _run(go())
    return 0


def _print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("(none)")
        return
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))


def _validate_instrument(inst: InstrumentConfig) -> None:
    from venue.fixedpoint import NotANumber, parse_decimal

    for what, value in (("tick-size", inst.tick_size), ("lot-size", inst.lot_size),
                        ("price-band-pct", inst.price_band_pct)):
        try:
            ok = parse_decimal(value) > 0
        except NotANumber:
            ok = False
        if not ok:
            raise CliError(f"--{what} {value!r} must be a positive decimal number")


def cmd_instrument(args: argparse.Namespace, config: Config) -> int:
    from venue import registry

    async def go() -> None:
        async with database(config) as conn:
            if args.action == "add":
                inst = InstrumentConfig(
                    symbol=args.symbol,
                    base=args.base,
                    quote=args.quote,
                    tick_size=args.tick_size,
                    lot_size=args.lot_size,
                    min_qty=args.min_qty,
                    max_qty=args.max_qty,
                    price_band_pct=args.price_band_pct,
                    reference_price=args.reference_price,
                )
                _validate_instrument(inst)
                created = await registry.upsert_instrument(conn, inst)
                print(f"instrument {created.symbol} (id {created.instrument_id}) saved")
            else:
                rows = await registry.list_instruments(conn)
                _print_rows([
                    {"id": i.instrument_id, "symbol": i.symbol, "base": i.base, "quote": i.quote,
                     "tick": i.tick_size, "lot": i.lot_size, "band%": i.price_band_pct, "state": i.trading_state}
                    for i in rows
                ])

    _run(go())
    return 0


def cmd_account(args: argparse.Namespace, config: Config) -> int:
    from venue import registry
    from venue.config import FirmConfig

    async def go() -> None:
        async with database(config) as conn:
            if args.action == "add":
                await registry.upsert_firm(conn, FirmConfig(id=args.firm, name=args.firm))
                acct = await registry.upsert_account(
                    conn,
                    AccountConfig(
                        id=args.account, firm=args.firm, stp_group=args.stp_group,
                        maker_fee_bps=args.maker_fee_bps, taker_fee_bps=args.taker_fee_bps,
                    ),
                )
                print(f"account {acct.account_code} (id {acct.account_id}) of firm {acct.firm_id} saved")
            else:
                rows = await registry.list_accounts(conn)
                _print_rows([
                    {"id": a.account_id, "account": a.account_code, "firm": a.firm_id,
                     "stp_group": a.stp_group, "maker_bps": a.maker_fee_bps, "taker_bps": a.taker_fee_bps}
                    for a in rows
                ])

    _run(go())
    return 0


def cmd_certification(args: argparse.Namespace, config: Config) -> int:
    if args.action == "serve":
        from certification.profile import serve

        print(f"certification profile listening on {args.host}:{args.port} (SenderCompID ISLD; "
              "TW44 on FIX.4.4, TW50SP2 on FIXT.1.1/FIX.5.0SP2); Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _run(serve(args.host, args.port))
        return 0
    from certification.runner import main as run_main

    argv = ["--host", args.host, "--port", str(args.port), *args.files]
    return int(run_main(argv))


def _running_nats_url(config: Config) -> str:
    """The NATS of the running venue (or the configured external one)."""
    info = read_runtime(config.data_dir)
    nats_url = config.bus.url or (str(info["nats_url"]) if info and pid_alive(info.get("pid")) else "")
    if not nats_url:
        raise CliError("no running venue found (start it with `venue up`, or set VENUE_NATS_URL)")
    return nats_url


def cmd_kill_switch(args: argparse.Namespace, config: Config) -> int:
    from venue.killswitch import kill_switch

    async def go() -> None:
        nats_url = _running_nats_url(config)
        async with database(config) as conn:
            try:
                result = await kill_switch(conn, nats_url, config, args.firm, release=args.release)
            except ValueError as exc:
                raise CliError(str(exc)) from None
        print(result)

    _run(go())
    return 0


def cmd_end_of_session(args: argparse.Namespace, config: Config) -> int:
    from venue.end_of_session import end_of_session

    async def go() -> None:
        nats_url = _running_nats_url(config)
        async with database(config) as conn:
            try:
                result = await end_of_session(conn, nats_url, config, args.symbol)
            except ValueError as exc:
                raise CliError(str(exc)) from None
        print(result)

    _run(go())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="venue", description="Run and operate the trading venue.")
    p.add_argument("--config", help="the venue's TOML config file (default: built-in defaults)")
    # --config is accepted after the subcommand too (`venue up --config FILE`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="the venue's TOML config file")
    sub = p.add_subparsers(dest="command", required=True)
    _add_parser = sub.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return _add_parser(name, parents=[common], **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    up = sub.add_parser("up", help="start every component of the venue; Ctrl-C stops")
    up.set_defaults(func=cmd_up)
    doc = sub.add_parser("doctor", help="check the running venue's health (exit 0 when healthy)")
    doc.add_argument("--json", action="store_true")
    doc.set_defaults(func=cmd_doctor)
    mig = sub.add_parser("migrate", help="apply pending database migrations")
    mig.set_defaults(func=cmd_migrate)

    inst = sub.add_parser("instrument", help="add or list instruments")
    inst_sub = inst.add_subparsers(dest="action", required=True)
    inst_sub.add_parser("list")
    add = inst_sub.add_parser("add")
    add.add_argument("symbol")
    add.add_argument("--base", required=True)
    add.add_argument("--quote", required=True)
    add.add_argument("--tick-size", required=True)
    add.add_argument("--lot-size", required=True)
    add.add_argument("--min-qty", default="0")
    add.add_argument("--max-qty", default="1000000")
    add.add_argument("--price-band-pct", default="10")
    add.add_argument("--reference-price", default="0")
    inst.set_defaults(func=cmd_instrument)

    acct = sub.add_parser("account", help="add or list trading accounts")
    acct_sub = acct.add_subparsers(dest="action", required=True)
    acct_sub.add_parser("list")
    aadd = acct_sub.add_parser("add")
    aadd.add_argument("account")
    aadd.add_argument("--firm", required=True)
    aadd.add_argument("--stp-group", default="")
    aadd.add_argument("--maker-fee-bps", type=int, default=0)
    aadd.add_argument("--taker-fee-bps", type=int, default=0)
    acct.set_defaults(func=cmd_account)

    kill = sub.add_parser("kill-switch", help="stop a firm trading: cancel its orders, refuse new ones")
    kill.add_argument("firm")
    kill.add_argument("--release", action="store_true", help="allow the firm to trade again")
    kill.set_defaults(func=cmd_kill_switch)

    eos = sub.add_parser(
        "end-of-session", help="end the trading day now (DAY orders expire), or one instrument's session"
    )
    eos.add_argument("symbol", nargs="?", help="only this instrument's DAY orders expire (the day goes on)")
    eos.set_defaults(func=cmd_end_of_session)
    cert = sub.add_parser("certification", help="FIX conformance: serve the profile or run scripts")
    cert_sub = cert.add_subparsers(dest="action", required=True)
    serve = cert_sub.add_parser("serve", help="acceptor with the conformance profile (no NATS/PostgreSQL)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9880)
    run = cert_sub.add_parser("run", help="run .def conformance scripts against an acceptor")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=9880)
    run.add_argument("files", nargs="+")
    cert.set_defaults(func=cmd_certification)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        configure_logging(config.venue.log_level, config.venue.log_format)
        handler: Callable[[argparse.Namespace, Config], int] = args.func
        return handler(args, config)
    except (ConfigError, StartupError, EmbeddedError, DatabaseUnavailable, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConnectionError as exc:  # BusUnavailable and friends
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
