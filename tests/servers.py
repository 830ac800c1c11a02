"""A real `rag serve` process for a test module, whose output must hold no error."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT
from tests.test_api import free_port
from tests.test_load import wait_ready


@contextlib.contextmanager
def running_server(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """`rag serve` with `env` added to this environment: yields its base URL once it is ready;
    afterwards its output is checked for tracebacks and logged errors."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", str(workers)],
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
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]
