"""Serving with several worker processes: one TCP listener, every worker ready before it accepts,
and a write through one worker seen by the others."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.serve import tcp_listener
from rag.errors import ConfigurationError
from tests.conftest import CORPUS, ROOT


def test_the_shared_listener_is_tcp_so_responses_are_not_delayed() -> None:
    """asyncio sets TCP_NODELAY only on connections of a listener whose protocol is TCP; without
    it a keep-alive response waits for the client's delayed ACK (~40 ms)."""
    listener = tcp_listener("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    port = listener.getsockname()[1]
    nodelay: list[int] = []

    async def scenario() -> None:
        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nodelay.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if nodelay:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(scenario())
    assert nodelay == [1]


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigurationError, match=r"cannot listen on 127\.0\.0\.1:\d+.*RAG_PORT"):
            tcp_listener("127.0.0.1", taken.getsockname()[1])


@pytest.mark.integration
def start_two_workers(corpus_index: Path, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, set[int]]:
    """`rag serve --workers 2` on a copy of the index: the server, its address and the pids of
    its two workers, once both are ready."""
    index = tmp_path / "index"
    shutil.copytree(corpus_index, index)
    listener = tcp_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    listener.close()
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(index),
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_UPLOADS_DIR": str(tmp_path / "uploads"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    # A fresh connection per probe: every ready worker takes some of them.
    while len(workers) < 2 and time.monotonic() < deadline and server.poll() is None:
        try:
            response = httpx.get(f"{base}/ready", timeout=5)
            assert response.status_code == 200  # a worker accepts only once it has loaded
            workers.add(response.json()["pid"])
        except httpx.TransportError:
            time.sleep(0.1)
    return server, base, workers


def test_two_workers_answer_and_see_each_others_writes(corpus_index: Path, tmp_path: Path) -> None:
    server, base, workers = start_two_workers(corpus_index, tmp_path)
    try:
        assert len(workers) == 2 and server.pid not in workers
        note = {
            "doc_id": "ward-note",
            "title": "Ward note",
            "text": "Sorafenib was stopped after grade 3 rash.",
        }
        assert httpx.post(f"{base}/documents", json=note, timeout=30).status_code == 200
        # Every worker knows the new document. One connection is served by one worker, so a
        # client per probe asks the worker that named itself.
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 60
        while set(seen) != workers and time.monotonic() < deadline:
            with httpx.Client(base_url=base, timeout=5) as client:
                pid = client.get("/ready").json()["pid"]
                seen[pid] = client.get("/documents/ward-note").status_code
        assert seen == dict.fromkeys(workers, 200)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output


def running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie waiting to be reaped has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_workers_stop_when_their_server_is_killed_outright(corpus_index: Path, tmp_path: Path) -> None:
    server, base, workers = start_two_workers(corpus_index, tmp_path)
    try:
        assert len(workers) == 2
        server.kill()  # SIGKILL: the server cannot tell its workers anything
        server.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(running(pid) for pid in workers)
        with pytest.raises(httpx.TransportError):  # nothing holds the port any more
            httpx.get(f"{base}/health", timeout=5)
    finally:
        for pid in workers:
            if running(pid):
                os.kill(pid, 9)
        if server.poll() is None:
            server.kill()
        server.communicate(timeout=30)
