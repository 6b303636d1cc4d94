"""Entry point of one venue service child process: ``python -m venue.service NAME``.

``venue up`` starts each service this way, passing the resolved bus and database URLs in the
environment (``VENUE_NATS_URL``, ``VENUE_DATABASE_URL``) and a metrics port
(``VENUE_METRICS_PORT``). A service is an async callable taking the config; it runs until
SIGTERM/SIGINT cancels it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from venue.config import Config, ConfigError, load_config
from venue.logs import configure_logging, get_logger
from venue.metrics import serve_metrics
from venue.scheduling import ORDER_PATH_SERVICES, enter_realtime

ServiceMain = Callable[[Config], Coroutine[Any, Any, None]]

# name -> "module:function"; the runtime's SERVICES list decides which of them run.
REGISTRY: dict[str, str] = {
    "engine": "engine.service:run",
    "writer": "persistence.writer:run",
    "gateway": "fix_gateway.order_entry.service:run",
}


def resolve(name: str) -> ServiceMain:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise SystemExit(f"unknown service {name!r}; known: {', '.join(sorted(REGISTRY)) or 'none'}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


async def _run(main: ServiceMain, config: Config) -> None:
    task: asyncio.Task[None] = asyncio.create_task(main(config))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m venue.service")
    parser.add_argument("name")
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.venue.log_level, "json")
    if args.name in ORDER_PATH_SERVICES and config.scheduling.realtime:
        # First, from the main thread (the event loop's): threads started later do not inherit it.
        refused = enter_realtime(config.scheduling.realtime_priority)
        if refused:
            get_logger("venue.service").warning(
                "the order path runs at normal priority: realtime refused", service=args.name, reason=refused
            )
    serve_metrics(config.metrics.host, int(os.environ.get("VENUE_METRICS_PORT", "0")), args.name)
    service = resolve(args.name)
    profile_dir = os.environ.get("VENUE_PROFILE_DIR")
    if profile_dir:
        return _profiled(lambda: _serve(service, config), Path(profile_dir) / f"{args.name}.prof")
    _serve(service, config)
    return 0


def _serve(service: ServiceMain, config: Config) -> None:
    try:
        import uvloop

        uvloop.run(_run(service, config))
    except ImportError:
        asyncio.run(_run(service, config))


def _profiled(serve: Callable[[], None], out: Path) -> int:
    """Run the service under cProfile and write its statistics (pstats) to ``out`` when it
    stops (``VENUE_PROFILE_DIR``: a developer's tool; every Python call then costs more, so
    read call counts and shares, not absolute times)."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        serve()
    finally:
        profiler.disable()
        out.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(out))
        get_logger("venue.service").info("profile written", path=str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
