"""Prometheus metrics: GET /metrics, and what it counts.

Requests by route template (`/documents/{doc_id}`, never the raw path), method and status,
with their latency; answers, abstentions, the time of each answer stage and the sentences
verification dropped; index writes and their duration; the index's size, read at each scrape.

Under `rag serve` the values live in files (prometheus-client's multiprocess mode, in the
directory `api.serve` makes and names in PROMETHEUS_MULTIPROC_DIR), so a scrape answered by
any worker reports the totals of all of them. Without that variable (one app in a test, a Ray
Serve replica) they live in a registry of this app's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.jobs import process_alive
from api.state import ServiceState
from rag.documents import Answer
from rag.errors import RagError

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNROUTED = "unrouted"  # the route label of a path that no route serves
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds. A cached page takes milliseconds, an answer tens to hundreds, a generated one seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
WRITE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class ServiceMetrics:
    """The service's metrics, recorded by the HTTP middleware, the answering routes and the writes."""

    def __init__(self, state: ServiceState) -> None:
        directory = os.environ.get(MULTIPROCESS_DIR)
        self.directory = Path(directory) if directory else None
        # Multiprocess: values go to files and a registry is built per scrape; else one per app.
        self._registry = None if self.directory else CollectorRegistry()
        registry = self._registry
        self.requests = Counter(
            "rag_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Time from a request's arrival to the last byte of its response.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "rag_http_requests_in_progress",
            "Requests being handled now.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.answers = Counter("rag_answers", "Answers given.", ["composer"], registry=registry)
        self.abstained = Counter(
            "rag_answers_abstained", "Answers that declined to answer.", ["composer"], registry=registry
        )
        self.dropped = Counter(
            "rag_answer_sentences_dropped",
            "Generated sentences removed because their citations did not support them.",
            registry=registry,
        )
        self.stages = Histogram(
            "rag_answer_stage_seconds",
            "Time of each stage of an answer: embed, retrieve, compose, generate.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )
        self.writes = Counter(
            "rag_index_writes", "Index writes through the API.", ["kind", "outcome"], registry=registry
        )
        self.write_seconds = Histogram(
            "rag_index_write_duration_seconds",
            "Time of an index write through the API, done or failed.",
            ["kind"],
            buckets=WRITE_BUCKETS,
            registry=registry,
        )
        for series in (self.answers, self.abstained):  # 0 from the start, so a rate has both terms
            series.labels("extractive")
        self._index = IndexCollector(state)
        if registry is not None:
            registry.register(self._index)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in METHODS else "other", route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def answered(self, answer: Answer) -> Answer:
        """Count `answer` (returned as it is, to be written around the call that made it)."""
        self.answers.labels(answer.composer).inc()
        if answer.abstained:
            self.abstained.labels(answer.composer).inc()
        if answer.dropped:
            self.dropped.inc(len(answer.dropped))
        for stage, milliseconds in answer.timings_ms.items():
            self.stages.labels(stage).observe(milliseconds / 1000.0)
        return answer

    @contextmanager
    def write(self, kind: str) -> Iterator[None]:
        """Count and time the write done inside: `done`, or `failed` if it raises."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            yield
            outcome = "done"
        finally:
            self.writes.labels(kind, outcome).inc()
            self.write_seconds.labels(kind).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format: in multiprocess mode, every worker's summed."""
        if self._registry is not None:
            return generate_latest(self._registry)
        assert self.directory is not None
        forget_dead_workers(self.directory)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(self.directory))  # type: ignore[no-untyped-call]
        registry.register(self._index)
        return generate_latest(registry)

    def close(self) -> None:
        """This process stops: its requests in progress no longer count."""
        if self.directory is not None:
            mark_process_dead(os.getpid(), str(self.directory))  # type: ignore[no-untyped-call]


def forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges of worker processes that died without closing (killed, crashed):
    their requests in progress ended with them."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            mark_process_dead(int(pid), str(directory))  # type: ignore[no-untyped-call]


class IndexCollector:
    """The index's size, read from the current generation at each scrape (every worker reads
    the same index, so whichever answers reports the same figures)."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        pipeline = self._state.pipeline
        if pipeline is None:
            return
        try:
            index = pipeline.index
            documents, chunks, _ = index.chunks.counts()
        except RagError:  # a damaged index: /ready says why
            return
        yield GaugeMetricFamily("rag_index_documents", "Documents in the index.", value=documents)
        yield GaugeMetricFamily("rag_index_chunks", "Chunks (passages) in the index.", value=chunks)
        yield GaugeMetricFamily(
            "rag_index_generation",
            "The index generation being read (one more per write).",
            value=index.generation,
        )


class HttpMetrics:
    """ASGI middleware: count and time every request by its route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(self._routes, scope)  # here: a request refused before routing has one too
        status = 500  # unless a response starts: an exception answered by the outermost handler

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        self._metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._metrics.in_progress.dec()
            self._metrics.request(scope["method"], route, status, time.perf_counter() - started)


def route_table(app: FastAPI, routers: Iterable[APIRouter]) -> list[BaseRoute]:
    """Every route of `app` with its full path: its own (/docs, /openapi.json, mounts) and those
    of the routers it includes (without a prefix), as the router would try them."""
    return [
        *(route for route in app.router.routes if getattr(route, "path", None)),
        *(route for router in routers for route in router.routes),
    ]


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The path template of the route that serves `scope` (as the router picks it: the first
    full match, else the first match by path alone, answered 405), or UNROUTED."""
    partial: BaseRoute | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", UNROUTED))
        if match is Match.PARTIAL and partial is None:
            partial = route
    return UNROUTED if partial is None else str(getattr(partial, "path", UNROUTED))


router = APIRouter(tags=["status"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics, summed over the server's worker processes (docs/operations.md).
    Needs the API key when one is configured."""
    service_metrics: ServiceMetrics = request.app.state.metrics
    return Response(service_metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
