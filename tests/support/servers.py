"""A real `rag serve` process for a test module, whose output must hold no error."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import ROOT


@contextlib.contextmanager
def running_server(env: dict[str, str], log: Path, workers: int | None = 1) -> Iterator[str]:
    """`rag serve` with `env` added to this environment (`workers`: None for the default, one per
    core): yields its base URL once it is ready; afterwards its output is checked for
    tracebacks, logged errors and 500 responses."""
    port = free_port()
    chosen = [] if workers is None else ["--workers", str(workers)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *chosen],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert not (problem := first_problem(text)), problem


def first_problem(log_text: str) -> str:
    """The log around its first traceback, logged error or 500 response ("" when there is none),
    so that a failure shows the cause rather than the log's tail."""
    found = [at for at in (log_text.find(m) for m in ("Traceback", "ERROR", " 500 ")) if at >= 0]
    if not found:
        return ""
    start = log_text.rfind("\n", 0, max(0, min(found) - 200)) + 1
    return log_text[start : min(found) + 4000]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")
