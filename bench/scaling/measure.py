"""Measuring helpers: timing, latency sampling, OpenMP and BLAS threads, process memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import faiss

from bench import scaling
from bench.common import percentiles
from bench.scaling.config import LATENCY_BOX_S

# The sampling knobs (WARMUP_QUERIES, ...) are read from the package at call time, not imported,
# so that the tests' `monkeypatch.setattr(scaling, ...)` reaches them.

T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    clock = time.perf_counter()
    value = action()
    return value, time.perf_counter() - clock


def latency(
    search: Callable[[T], object], queries: Sequence[T], box_s: float = LATENCY_BOX_S
) -> dict[str, float]:
    """p50/p95 of one call at a time over the queries, time-boxed for slow searches."""
    for query in queries[: scaling.WARMUP_QUERIES]:
        search(query)
    times_ms: list[float] = []
    deadline = time.perf_counter() + box_s
    for query in queries[: scaling.LATENCY_QUERIES]:
        clock = time.perf_counter()
        search(query)
        now = time.perf_counter()
        times_ms.append((now - clock) * 1000)
        if len(times_ms) >= scaling.MIN_LATENCY_QUERIES and now > deadline:
            break
    summary = percentiles(times_ms)
    return {"p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "queries": len(times_ms)}


@contextmanager
def omp_threads(count: int) -> Iterator[None]:
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def vector_latency(
    search: Callable[[T], object], queries: Sequence[T], box_s: float = LATENCY_BOX_S
) -> dict[str, float]:
    """Latency with FAISS's default OpenMP threads, as the service runs, and with one thread.

    They differ where a single query enters an OpenMP parallel region (`IndexIDMap2` translates
    result labels in one; a large flat index splits its scan): on busy cores the query then waits
    for a second thread to be scheduled, which one thread never does."""
    default = latency(search, queries, box_s)
    with omp_threads(1):
        single = latency(search, queries, box_s)
    return default | {"p50_ms_1t": single["p50_ms"], "p95_ms_1t": single["p95_ms"]}


def depth_latency(search: Callable[[T], object], queries: Sequence[T]) -> dict[str, float]:
    times = vector_latency(search, queries)
    return {"depth_p50_ms": times["p50_ms"], "depth_p50_ms_1t": times["p50_ms_1t"]}


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread: on busy cores its threads turn a 5 ms SVD into a 1 s one.
    threadpoolctl comes with scikit-learn (via sentence-transformers); without it, just wait."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def meminfo_kb(field: str, path: Path = Path("/proc/meminfo")) -> int:
    """A `Name:  123 kB` field of /proc/meminfo or /proc/self/status; 0 where there is none."""
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def rss_bytes() -> int:
    return meminfo_kb("VmRSS", Path("/proc/self/status")) * 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so a later read is the peak of what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    return meminfo_kb("VmHWM", Path("/proc/self/status")) * 1024
