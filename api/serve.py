"""Running the HTTP service: one process, or several worker processes on one listening socket."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from api.logs import log_config
from api.settings import ServerSettings
from api.state import bring_up_to_date
from rag.errors import ConfigurationError
from rag.pipeline import Pipeline


def serve(settings: ServerSettings, *, ingest: bool) -> None:
    """Serve until interrupted. With one worker the model and index load in the background
    (/health answers at once); with several, the index is brought up to date here first and
    each worker loads before it accepts a connection."""
    # uvicorn re-raises the SIGTERM it stopped on once it has shut down: raised as SystemExit
    # here, rather than ending the process at once, it lets the metrics directory be removed.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with metrics_directory():
        _serve(settings, ingest=ingest)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(settings: ServerSettings, *, ingest: bool) -> None:
    import uvicorn

    workers = settings.worker_count
    logs = log_config(settings.log_format)
    if workers == 1:
        from api.app import create_app  # after metrics_directory(): see there

        app = create_app(settings, ingest_on_start=ingest)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", log_config=logs)
        return
    if ingest:  # with every core, before the workers take their share
        print(bring_index_up_to_date(settings), file=sys.stderr)
    print(f"starting {workers} workers", file=sys.stderr)
    if settings.embedding.threads == 0:
        # Divide the cores: a request then runs on its own core and concurrent requests do not
        # fight over threads (bench/results: the same peak throughput, and 1.6x that of a
        # single client at 4 clients, against 1.2x with two threads per worker).
        os.environ["RAG_EMBEDDING__THREADS"] = str(settings.worker_threads)  # read by the workers
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "api.app:create_worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
        log_config=logs,
    )
    Multiprocess(config, sockets=[tcp_listener(settings.host, settings.port)]).run()


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """The directory where every worker process keeps its metrics, named to them (and to
    prometheus-client) in PROMETHEUS_MULTIPROC_DIR, so that a scrape of any worker sums all.
    The operator's, if that variable is set (emptied of an earlier run's files first), else a
    fresh temporary directory, removed when the server stops. prometheus-client reads the
    variable when it is first imported: the app (which imports it) is imported after this."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
        return
    with tempfile.TemporaryDirectory(prefix="rag-metrics-") as made:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # inherited by the workers
        try:
            yield Path(made)
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def bring_index_up_to_date(settings: ServerSettings) -> str:
    """Ingest the corpus once, before the workers start (its model is freed on return); what
    was done, in one line."""
    pipeline = Pipeline.load(settings, require_index=False)
    try:
        return bring_up_to_date(pipeline)
    finally:
        pipeline.close()


def tcp_listener(host: str, port: int) -> socket.socket:
    """The socket the workers share, created as TCP explicitly: uvicorn's own leaves the protocol
    at 0, so asyncio never sets TCP_NODELAY on accepted connections and every keep-alive
    response waits ~40 ms for a delayed ACK (uvicorn issue 3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}", "choose another RAG_PORT") from exc
    sock.set_inheritable(True)
    return sock
