"""The vector indexes measured at one size: exact flat, HNSW and IVF-Flat, each with its recall,
latency and memory per vector."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from bench import scaling
from bench.scaling.config import (
    DIMENSION,
    EF_SEARCH,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    IVF_KMEANS_ITERATIONS,
    IVF_LISTS_PER_SQRT_N,
    IVF_TRAINING_POINTS_PER_LIST,
    LATENCY_BOX_S,
    NPROBE,
    TARGET_BYTES_PER_VECTOR,
    TARGET_P50_MS,
    TARGET_RECALL,
    THREADS,
    K,
)
from bench.scaling.measure import depth_latency, timed, vector_latency
from rag.index.vectors import FaissVectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

# The sampling knobs (WARMUP_QUERIES, ...) are read from the package at call time, not imported,
# so that the tests' `monkeypatch.setattr(scaling, ...)` reaches them.

# Run in a fresh interpreter: prints how much resident memory reading the index file added.
RESIDENT_PROBE = """
import sys
from pathlib import Path

import faiss

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

before = rss()
index = faiss.read_index(sys.argv[1])
print(rss() - before)
"""


def flat_benchmark(
    data: NDArray[np.float32], ids: NDArray[np.int64], queries: NDArray[np.float32], depth: int
) -> tuple[dict[str, Any], NDArray[np.int64], NDArray[np.float32]]:
    """The service's index, exactly as `FaissVectorIndex.empty` makes it; also the ground truth."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
    _, build_s = timed(lambda: index.add_with_ids(data, ids))
    truth_scores, truth = index.search(queries, K)
    service = FaissVectorIndex(index)
    setting = {
        "param": None,
        "value": None,
        "recall_at_10": 1.0,
        **vector_latency(lambda q: service.search(q, K), list(queries)),
        **depth_latency(lambda q: service.search(q, depth), list(queries)),
    }
    entry = index_entry(
        "flat", "IDMap2,Flat", index, n=len(data), build_s=build_s, train_s=0.0, settings=[setting], build={}
    )
    return entry, truth, truth_scores


def hnsw_benchmark(
    data: NDArray[np.float32],
    ids: NDArray[np.int64],
    queries: NDArray[np.float32],
    truth: NDArray[np.int64],
    depth: int,
) -> dict[str, Any]:
    graph = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index = faiss.IndexIDMap2(graph)  # HNSW cannot store ids itself
    _, build_s = timed(lambda: index.add_with_ids(data, ids))

    def configure(ef: int) -> None:
        graph.hnsw.efSearch = ef

    settings = sweep(index, "efSearch", EF_SEARCH, configure, queries=queries, truth=truth, depth=depth)
    build = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    factory = f"IDMap2,HNSW{HNSW_M},Flat"
    n = len(data)
    return index_entry(
        "hnsw", factory, index, n=n, build_s=build_s, train_s=0.0, settings=settings, build=build
    )


def ivf_lists(n: int) -> int:
    return max(1, round(IVF_LISTS_PER_SQRT_N * math.sqrt(n)))


def ivf_benchmark(
    data: NDArray[np.float32],
    ids: NDArray[np.int64],
    queries: NDArray[np.float32],
    truth: NDArray[np.int64],
    *,
    depth: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    nlist = ivf_lists(len(data))
    index = new_ivf(nlist)
    sample_size = min(len(data), IVF_TRAINING_POINTS_PER_LIST * nlist)
    training = data[np.sort(rng.choice(len(data), size=sample_size, replace=False))]
    _, train_s = timed(lambda: index.train(training))
    _, add_s = timed(lambda: index.add_with_ids(data, ids))

    def configure(nprobe: int) -> None:
        index.nprobe = nprobe

    probes = [p for p in NPROBE if p <= nlist]
    settings = sweep(index, "nprobe", probes, configure, queries=queries, truth=truth, depth=depth)
    build = {
        "nlist": nlist,
        "training_points": sample_size,
        "kmeans": f"spherical, {IVF_KMEANS_ITERATIONS} iterations",
    }
    build_s = train_s + add_s
    n = len(data)
    return index_entry(
        "ivf",
        f"IVF{nlist},Flat",
        index,
        n=n,
        build_s=build_s,
        train_s=train_s,
        settings=settings,
        build=build,
    )


def new_ivf(nlist: int) -> Any:
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIMENSION), DIMENSION, nlist, faiss.METRIC_INNER_PRODUCT)
    # Centroids on the unit sphere suit cosine similarity; fewer points per list than FAISS's
    # preferred 39 keep training affordable at 1M, so its warning about that is silenced.
    index.cp.spherical = True
    index.cp.niter = IVF_KMEANS_ITERATIONS
    index.cp.min_points_per_centroid = 1
    return index


def sweep(
    index: Any,
    param: str,
    values: Sequence[int],
    configure: Callable[[int], None],
    *,
    queries: NDArray[np.float32],
    truth: NDArray[np.int64],
    depth: int,
) -> list[dict[str, Any]]:
    service = FaissVectorIndex(index)
    settings = []
    for value in values:
        configure(value)
        _, found = index.search(queries, K)
        times = vector_latency(lambda q: service.search(q, K), list(queries))
        settings.append({"param": param, "value": value, "recall_at_10": recall(found, truth), **times})
    best = best_setting(settings)
    if best is not None:
        configure(int(best["value"]))
        best |= depth_latency(lambda q: service.search(q, depth), list(queries))
    return settings


def recall(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    hits = [
        len(set(row.tolist()) & set(expected.tolist())) for row, expected in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits) / truth.shape[1])


def best_setting(settings: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The cheapest setting that reaches the recall target (settings run cheapest first)."""
    return next((s for s in settings if s["recall_at_10"] >= TARGET_RECALL), None)


def index_entry(
    kind: str,
    factory: str,
    index: Any,
    *,
    n: int,
    build_s: float,
    train_s: float,
    settings: list[dict[str, Any]],
    build: dict[str, Any],
) -> dict[str, Any]:
    stored, resident = memory_per_vector(index, n)
    for setting in settings:
        for threads in THREADS:
            setting[f"meets_targets{threads}"] = bool(
                setting["recall_at_10"] >= TARGET_RECALL
                and setting[f"p50_ms{threads}"] <= TARGET_P50_MS
                and stored <= TARGET_BYTES_PER_VECTOR
            )
    best = best_setting(settings)
    return {
        "kind": kind,
        "factory": factory,
        "build": build,
        "build_s": round(build_s, 2),
        "train_s": round(train_s, 2),
        "bytes_per_vector": stored,
        "loaded_rss_bytes_per_vector": resident,
        "settings": settings,
        "best": None if best is None else {"param": best["param"], "value": best["value"]},
    }


def memory_per_vector(index: Any, n: int) -> tuple[float, float | None]:
    """The index file's size per vector, and the resident memory per vector of a fresh process
    that reads it (as the service loads `vectors.faiss`; a fresh heap, so no freed memory of this
    process is reused and hides the growth)."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-index-") as folder:
        path = Path(folder) / "vectors.faiss"
        faiss.write_index(index, str(path))
        size = path.stat().st_size
        if not scaling.RESIDENT_MEMORY:
            return round(size / n, 1), None
        probe = subprocess.run(
            [sys.executable, "-c", RESIDENT_PROBE, str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    return round(size / n, 1), round(int(probe.stdout.split()[-1]) / n, 1)


def flat_latency(data: NDArray[np.float32], queries: NDArray[np.float32]) -> dict[str, float]:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
    index.add_with_ids(data, np.arange(len(data), dtype=np.int64))
    service = FaissVectorIndex(index)
    return vector_latency(lambda q: service.search(q, K), list(queries), box_s=LATENCY_BOX_S / 2)
