"""Conformance runner: executes QuickFIX-style ``.def`` scripts against a FIX acceptor.

    python -m certification.runner --host H --port P FILES_OR_DIRS...

prints one ``PASS name`` / ``FAIL name: line N: reason`` line per script and a last line
``N passed, M failed``; the exit code is 1 when any script failed. ``main(argv)`` is the
entry point ``venue certification run`` wraps.

Every read has a deadline (``--timeout``, 10 s by default) so a hanging venue fails the
script instead of hanging the runner. Scripts run one after the other: they share the
acceptor's sessions. ``iDISCONNECT`` half-closes the socket and waits (briefly) for the
venue to close its side, so the next script never races the venue's session clean-up.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from certification.defscript import (
    SOH,
    Connect,
    Disconnect,
    Expect,
    ExpectDisconnect,
    ScriptError,
    Send,
    compare,
    finalize,
    frame_error,
    load_script,
    show,
    substitute_time,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_CLOSE_WAIT = 2.0


@dataclass(frozen=True, slots=True)
class Failure:
    line: int
    reason: str
    expected: str = ""
    received: str = ""

    def __str__(self) -> str:
        text = f"line {self.line}: {self.reason}"
        if self.expected or self.received:
            text += f"; expected {self.expected or '-'}; received {self.received or '-'}"
        return text


@dataclass(slots=True)
class ScriptResult:
    name: str
    path: str
    failure: Failure | None = None
    duration: float = 0.0
    exchanged: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None


class _Closed(Exception):
    pass


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = b""

    async def read_message(self, timeout: float) -> bytes:
        """Next complete message; raises TimeoutError or _Closed."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._take()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            try:
                chunk = await asyncio.wait_for(self.reader.read(65536), remaining)
            except TimeoutError:  # (a subclass of OSError: must come first)
                raise
            except (ConnectionError, OSError) as exc:
                raise _Closed(self.buffer) from exc
            if not chunk:
                raise _Closed(self.buffer)
            self.buffer += chunk

    def _take(self) -> bytes | None:
        buf = self.buffer
        if not buf:
            return None
        first = buf.find(SOH)
        if first < 0:
            return None
        second = buf.find(SOH, first + 1)
        if second < 0:
            return None
        start = second + 1
        length_field = buf[first + 1 : second]
        end = -1
        if length_field.startswith(b"9=") and length_field[2:].isdigit():
            candidate = start + int(length_field[2:])
            if buf[candidate : candidate + 3] == b"10=":
                end = buf.find(SOH, candidate)
                if end < 0:
                    return None
        if end < 0:  # malformed framing from the venue: cut at the next CheckSum field
            marker = buf.find(SOH + b"10=", first)
            if marker < 0:
                return None
            end = buf.find(SOH, marker + 1)
            if end < 0:
                return None
        self.buffer = buf[end + 1 :]
        return buf[: end + 1]

    async def expect_close(self, timeout: float) -> bytes | None:
        """Wait for EOF; returns unexpected bytes received first (None when closed cleanly)."""
        if self.buffer:
            return self.buffer
        try:
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
        except TimeoutError:
            return b""
        except (ConnectionError, OSError):
            return None
        return chunk or None

    async def close(self, wait: float) -> None:
        """Half-close, give the venue ``wait`` seconds to close its side, then close."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            deadline = time.monotonic() + wait
            while (remaining := deadline - time.monotonic()) > 0:
                chunk = await asyncio.wait_for(self.reader.read(65536), remaining)
                if not chunk:
                    break
        except (TimeoutError, ConnectionError, OSError):
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def run_script(
    path: str | Path,
    host: str,
    port: int,
    *,
    strict: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    close_wait: float = DEFAULT_CLOSE_WAIT,
) -> ScriptResult:
    """Run one ``.def`` script against the acceptor at host:port."""
    path = Path(path)
    result = ScriptResult(name=path.stem, path=str(path))
    started = time.monotonic()
    connections: dict[int, _Connection] = {}
    try:
        actions = load_script(path)
    except (OSError, ScriptError) as exc:
        result.failure = Failure(0, f"cannot load script: {exc}")
        return result
    try:
        for action in actions:
            failure = await _perform(
                action, connections, host, port, strict, timeout, close_wait, result
            )
            if failure is not None:
                result.failure = failure
                break
    finally:
        for conn in connections.values():
            await conn.close(0.0 if result.failure else close_wait)
        result.duration = time.monotonic() - started
    return result


async def _perform(
    action: object,
    connections: dict[int, _Connection],
    host: str,
    port: int,
    strict: bool,
    timeout: float,
    close_wait: float,
    result: ScriptResult,
) -> Failure | None:
    if isinstance(action, Connect):
        if action.conn in connections:
            return Failure(action.line, f"connection {action.conn} is already open")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            return Failure(action.line, f"cannot connect to {host}:{port}: {exc!r}")
        connections[action.conn] = _Connection(reader, writer)
        return None
    if not isinstance(action, Connect | Disconnect | Send | Expect | ExpectDisconnect):
        raise TypeError(action)
    conn = connections.get(action.conn)
    if conn is None:
        return Failure(action.line, f"connection {action.conn} is not open")
    if isinstance(action, Disconnect):
        del connections[action.conn]
        await conn.close(close_wait)
        return None
    if isinstance(action, Send):
        message = finalize(substitute_time(action.template))
        result.exchanged.append(f"{action.line} > {show(message)}")
        try:
            conn.writer.write(message)
            await conn.writer.drain()
        except (ConnectionError, OSError) as exc:
            return Failure(action.line, f"venue closed the connection before the send ({exc!r})")
        return None
    if isinstance(action, Expect):
        expected = substitute_time(action.template)
        try:
            received = await conn.read_message(timeout)
        except TimeoutError:
            return Failure(action.line, f"no message within {timeout:g} s", show(expected))
        except _Closed as closed:
            left = closed.args[0] if closed.args else b""
            reason = "venue closed the connection"
            if left:
                reason += f" after an incomplete message {show(left)!r}"
            return Failure(action.line, reason, show(expected))
        result.exchanged.append(f"{action.line} < {show(received)}")
        problem = frame_error(received) or compare(expected, received, strict=strict)
        if problem is not None:
            return Failure(action.line, problem, show(expected), show(received))
        return None
    assert isinstance(action, ExpectDisconnect)
    leftover = await conn.expect_close(timeout)
    if leftover is None:
        del connections[action.conn]
        conn.writer.close()
        return None
    if leftover == b"":
        return Failure(action.line, f"venue did not disconnect within {timeout:g} s")
    return Failure(
        action.line, "expected a disconnect, venue sent more", "DISCONNECT", show(leftover)
    )


def collect_scripts(items: Sequence[str]) -> list[Path]:
    """Expand directories to their ``*.def`` files (sorted); keep files as given."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(path.glob("*.def")))
        else:
            paths.append(path)
    return paths


async def run_scripts(
    paths: Sequence[Path],
    host: str,
    port: int,
    *,
    strict: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    close_wait: float = DEFAULT_CLOSE_WAIT,
    out: TextIO | None = None,
) -> list[ScriptResult]:
    """Run scripts one after the other; print a result line per script to ``out``."""
    results: list[ScriptResult] = []
    for path in paths:
        res = await run_script(
            path, host, port, strict=strict, timeout=timeout, close_wait=close_wait
        )
        results.append(res)
        if out is not None:
            print(format_result(res), file=out, flush=True)
    return results


def format_result(res: ScriptResult) -> str:
    if res.passed:
        return f"PASS {res.name}"
    return f"FAIL {res.name}: {res.failure}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m certification.runner",
        description="Run QuickFIX-style .def conformance scripts against a FIX acceptor.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="compare fields per tag, ignoring field order and the text of 58 (default: strict)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds per expectation (default 10)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print the exchange of failing scripts"
    )
    parser.add_argument("files", nargs="+", help=".def files or directories of them")
    args = parser.parse_args(argv)
    paths = collect_scripts(args.files)
    results = asyncio.run(_run_and_print(paths, args))
    failed = sum(1 for r in results if not r.passed)
    print(f"{len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed or not results else 0


async def _run_and_print(paths: Sequence[Path], args: argparse.Namespace) -> list[ScriptResult]:
    results: list[ScriptResult] = []
    for path in paths:
        res = await run_script(
            path, args.host, args.port, strict=not args.lenient, timeout=args.timeout
        )
        results.append(res)
        print(format_result(res), flush=True)
        if args.verbose and not res.passed:
            for line in res.exchanged:
                print(f"    {line}", flush=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
