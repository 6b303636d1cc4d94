"""The certification profile: serve() and the CLI entry point."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

from test_fix_acceptor import Client, msg

from certification.profile import serve

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_runs_both_certification_sessions_until_stopped() -> None:
    port = _free_port()
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve("127.0.0.1", port, ready=ready, stop=stop))
    await asyncio.wait_for(ready.wait(), 10)
    c44 = await Client.connect(port)
    assert (await c44.logon()) is not None
    c50 = await Client.connect(port)
    reply = await c50.logon(sender="TW50SP2", begin="FIXT.1.1")
    assert reply is not None and reply.get(1137) == b"9"
    await c50.send(
        msg(
            "C",
            2,
            [(164, "E1"), (94, "0"), (147, "hi"), (33, 1), (58, "x")],
            sender="TW50SP2",
            begin="FIXT.1.1",
        )
    )
    echo = await c50.recv()
    assert echo is not None and echo.msg_type == b"C"
    stop.set()
    await asyncio.wait_for(task, 10)


def test_cli_serve() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "certification", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                    s.sendall(msg("A", 1, [(98, 0), (108, 30)]))
                    assert b"35=A\x01" in s.recv(4096)
                    return
            except ConnectionRefusedError:
                time.sleep(0.2)
        raise AssertionError("certification serve did not start")
    finally:
        proc.terminate()
        proc.wait(10)
