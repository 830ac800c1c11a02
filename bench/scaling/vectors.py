"""The vector section: every index at every size, the flat latency curve, which operations of
the service's wrapper each index type supports, and the switch-over recommendation."""

from __future__ import annotations

import itertools
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from bench.scaling.config import (
    DIMENSION,
    FLAT_CURVE,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    IVF_KMEANS_ITERATIONS,
    IVF_LISTS_PER_SQRT_N,
    IVF_TRAINING_POINTS_PER_LIST,
    RECALL_QUERIES,
    SEED,
    TARGET_P50_MS,
    K,
)
from bench.scaling.data import EmbeddingModel, data_statistics
from bench.scaling.indexes import (
    flat_benchmark,
    flat_latency,
    hnsw_benchmark,
    ivf_benchmark,
    ivf_lists,
    new_ivf,
    recall,
)
from bench.scaling.measure import vector_latency
from rag.index import layout as vector_layout
from rag.index.vectors import FaissVectorIndex
from rag.settings import VectorSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray


def vector_benchmark(sizes: Sequence[int], depth: int) -> dict[str, Any]:
    model = EmbeddingModel.create(np.random.default_rng(SEED))
    largest = max(sizes)
    extra_points = tuple(n for n in FLAT_CURVE if n < largest and n not in sizes)
    results = [vector_size_benchmark(model, n, depth, extra_points if n == largest else ()) for n in sizes]
    points = [point for result in results for point in result.pop("flat_curve")]
    points += [{"n": r["n"], **shown_setting(flat_entry(r))} for r in results]
    curve = sorted(points, key=lambda point: int(point["n"]))
    keys = ("n", "p50_ms", "p95_ms", "p50_ms_1t", "p95_ms_1t", "queries")
    return {
        "k": K,
        "depth": depth,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "sizes": results,
        "flat_curve": [{key: p[key] for key in keys} for p in curve],
        "compatibility": service_compatibility(model),
    }


def vector_size_benchmark(
    model: EmbeddingModel, n: int, depth: int, curve_points: Sequence[int] = ()
) -> dict[str, Any]:
    rng = np.random.default_rng([SEED, n])
    data = model.sample(n, rng)
    queries = model.queries(data, RECALL_QUERIES, rng)
    ids = np.arange(n, dtype=np.int64)
    flat, truth, truth_scores = flat_benchmark(data, ids, queries, depth)
    indexes = [flat, hnsw_benchmark(data, ids, queries, truth, depth)]
    indexes.append(ivf_benchmark(data, ids, queries, truth, depth=depth, rng=rng))
    return {
        "n": n,
        "data": data_statistics(data, truth_scores),
        "indexes": indexes,
        "service": service_policy_benchmark(data, ids, queries, truth),
        "flat_curve": [{"n": m, **flat_latency(data[:m], queries)} for m in curve_points],
    }


def service_policy_benchmark(
    data: NDArray[np.float32], ids: NDArray[np.int64], queries: NDArray[np.float32], truth: NDArray[np.int64]
) -> dict[str, Any]:
    """The index the service itself builds at this size (`rag.index.layout`, default settings):
    which structure it chooses, and its recall and latency through the service's search."""
    clock = time.perf_counter()
    service = FaissVectorIndex(vector_layout.build(ids, data, VectorSettings()))
    build_s = time.perf_counter() - clock
    found = np.array([[i for i, _ in service.search(q, K)] for q in queries])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.faiss"
        service.write(path)
        size = path.stat().st_size
    return {
        **service.describe(),
        "build_s": build_s,
        "recall_at_10": recall(found, truth),
        "bytes_per_vector": size / len(ids),
        **vector_latency(lambda q: service.search(q, K), list(queries)),
    }


def flat_entry(size_result: dict[str, Any]) -> dict[str, Any]:
    return next(entry for entry in size_result["indexes"] if entry["kind"] == "flat")


def shown_setting(entry: dict[str, Any]) -> dict[str, Any]:
    """The setting a table shows for an index: its best one, else the one with the best recall."""
    if entry["best"] is not None:
        return next(s for s in entry["settings"] if s["value"] == entry["best"]["value"])
    return max(entry["settings"], key=lambda s: float(s["recall_at_10"]))


def service_compatibility(model: EmbeddingModel) -> dict[str, dict[str, str]]:
    """Which of `FaissVectorIndex`'s operations work, unchanged, on each index type."""
    rng = np.random.default_rng([SEED, 1])
    data = model.sample(2000, rng)
    ids = np.arange(len(data), dtype=np.int64)
    makers: dict[str, Callable[[], Any]] = {
        "flat": lambda: faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION)),
        "hnsw": lambda: faiss.IndexIDMap2(faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)),
        "ivf": lambda: trained_ivf(data),
    }
    return {kind: operations(FaissVectorIndex(make()), ids, data) for kind, make in makers.items()}


def operations(
    service: FaissVectorIndex, ids: NDArray[np.int64], data: NDArray[np.float32]
) -> dict[str, str]:
    allowed = set(range(0, len(data), 2))
    return {
        "add": attempt(lambda: service.add(ids, data)),
        "search": attempt(lambda: service.search(data[0], K)),
        "filtered_search": attempt(lambda: service.search(data[0], K, allowed=allowed)),
        "remove": attempt(lambda: service.remove({0, 1})),
    }


def trained_ivf(data: NDArray[np.float32]) -> Any:
    index = new_ivf(ivf_lists(len(data)))
    index.train(data)
    return index


def attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except RuntimeError as exc:
        # FAISS errors read "Error in <signature> at <file>:<line>: <message>".
        first = str(exc).strip().splitlines()[0]
        found = re.search(r" at \S+:\d+: (.*)", first)
        return "error: " + (found.group(1) if found else first)
    return "ok"


def recommend(vectors: dict[str, Any]) -> dict[str, Any]:
    """The switch-over the measurements support, for FAISS searching with one OpenMP thread (what
    single queries need, see `vector_latency`), with the same for the default threads beside it."""
    largest = vectors["sizes"][-1]
    return {
        **switch_over(vectors, "_1t"),
        "search_threads": 1,
        "measured_at_n": largest["n"],
        "with_default_threads": {"omp_threads": vectors["faiss_omp_threads"], **switch_over(vectors, "")},
    }


def switch_over(vectors: dict[str, Any], threads: str) -> dict[str, Any]:
    """Exact search up to the last N whose flat p50 meets the target, then the ANN setting that
    meets every target at the largest N, preferring index types that support removal, then speed."""
    p50 = f"p50_ms{threads}"
    curve = vectors["flat_curve"]
    flat_up_to = 0
    for point in curve:
        if point[p50] > TARGET_P50_MS:
            break
        flat_up_to = point["n"]
    candidates = []
    for entry in vectors["sizes"][-1]["indexes"]:
        if entry["kind"] == "flat" or entry["best"] is None:
            continue
        setting = shown_setting(entry)
        if setting[f"meets_targets{threads}"]:
            removable = vectors["compatibility"][entry["kind"]]["remove"] == "ok"
            candidates.append((not removable, setting[p50], entry, setting))
    result: dict[str, Any] = {"flat_up_to": flat_up_to, "flat_p50_reaches_target_near": crossing(curve, p50)}
    if not candidates:
        result["above"] = "none of the measured settings meets every target"
        return result
    _, _, entry, setting = min(candidates, key=lambda c: (c[0], c[1]))
    result["above"] = describe(entry, setting)
    result["at_measured_n"] = {
        "recall_at_10": setting["recall_at_10"],
        "p50_ms": setting[p50],
        "p95_ms": setting[f"p95_ms{threads}"],
        "bytes_per_vector": entry["bytes_per_vector"],
        "loaded_rss_bytes_per_vector": entry["loaded_rss_bytes_per_vector"],
        "build_s": entry["build_s"],
    }
    return result


def describe(entry: dict[str, Any], setting: dict[str, Any]) -> str:
    if entry["kind"] == "ivf":
        return (
            f"{entry['factory']} with nprobe={setting['value']} (METRIC_INNER_PRODUCT; nlist = "
            f"round({IVF_LISTS_PER_SQRT_N}*sqrt(N)); spherical k-means, {IVF_KMEANS_ITERATIONS} "
            f"iterations on {IVF_TRAINING_POINTS_PER_LIST} points per list)"
        )
    return (
        f"{entry['factory']} with efSearch={setting['value']} "
        f"(METRIC_INNER_PRODUCT; efConstruction={HNSW_EF_CONSTRUCTION})"
    )


def crossing(curve: Sequence[dict[str, Any]], p50: str) -> int | None:
    """Where the flat latency reaches the p50 target, interpolated between the two grid points
    around it; None when the measured range does not cross it."""
    for below, above in itertools.pairwise(curve):
        if below[p50] <= TARGET_P50_MS < above[p50]:
            share = (TARGET_P50_MS - below[p50]) / (above[p50] - below[p50])
            return int(below["n"] + share * (above["n"] - below["n"]))
    return None
