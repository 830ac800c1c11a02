"""Index scaling: vector indexes, BM25 and the chunk store at 10k, 100k and 1M chunks.

What is measured, per corpus size N (quick: 10k and 100k; full: also 1M):

* Vector indexes, each driven through the service's own `FaissVectorIndex` wrapper for the
  latency figures (one query at a time, k=10 and the service's retrieval depth; see Threads):
  exact `IndexIDMap2(IndexFlatIP)` (the product's index and the reference), HNSW
  (`IndexHNSWFlat`, M=32, efConstruction=40, inner product, wrapped in `IndexIDMap2` for the
  service's int64 row ids) with an efSearch sweep, and IVF-Flat (nlist = 4*sqrt(N), spherical
  k-means on 32 points per list, ids stored natively) with an nprobe sweep. Recall@10 is
  measured against the exact flat results on 300 queries. Memory per vector is measured two
  ways: the size of the index file (`faiss.write_index`, what `vectors.faiss` holds) divided by
  N, and the resident-memory growth of a fresh Python process reading that file with
  `faiss.read_index`, as the service loads it (this includes `IndexIDMap2`'s reverse map, which
  is rebuilt on reading, not stored). The flat index's single-query latency is also measured on
  a finer grid of N (prefixes of the largest data set) to find where it stops meeting the p50
  target.
  IVF-PQ is left out on purpose: IVF-Flat already fits the 2 KB per vector budget, and a PQ
  index needs a refine step over the full vectors to reach 0.95 recall, which brings the memory
  back unless the refine reads vectors from the chunk store.
* BM25 (`LexicalIndex.build`, the service's analyzer) over synthetic chunk text, and the latency of
  `LexicalIndex.search` for 5-10-word queries at the service's retrieval depth.
* The chunk store (`ChunkStore.add_document`, a temporary SQLite file): the latency of
  `passages()` and `sentences()` for 10 random row ids, and the number of SQLite VM
  instructions each lookup executes, which stays flat as N grows when a lookup reads only the
  rows it needs (B-tree seeks) and would grow with N if it scanned.

Threads. Every vector latency is measured twice: with FAISS's default OpenMP thread count, as
the service runs, and with one thread. They differ when a single query enters an OpenMP
parallel region: `IndexIDMap2` (the service's wrapper, also needed to give HNSW row ids)
translates result labels in one, and a large flat index splits its scan. When the cores are
busy (other requests, the embedding model, another process), the query then waits for the
second thread to be scheduled, ~8 ms or more, whatever the index. One thread measures the
search itself; the recommendation assumes it and shows the default-thread variant beside it.

Synthetic vectors. Uniform noise on the sphere has no neighbourhood structure, so no ANN index
works on it and the exercise would be meaningless. Real sentence embeddings are clustered by
topic, share a common direction (all-MiniLM vectors are far from centred) and have a quickly
decaying spectrum. The generator imitates that: a shared mean direction, 3,000 topic centres
with log-normal topic sizes, drawn with a power-law spectrum (variance of component j ~
j^-1.2; no random rotation, which would change no inner product), and within-topic variation in
a 128-dimensional subspace with the same spectrum; everything normalised. Queries are
paraphrase-like: a random data point plus within-topic noise, so a query's nearest chunk has
cosine ~0.87. Measured once on the service's own index (115 chunks on one topic): random-pair
cosine 0.50 +- 0.15, nearest-chunk cosine 0.87, 50/80/90 % of variance in 7/25/41 principal
components; the generator gives 0.17 +- 0.21 (a 1M-chunk corpus spans many topics, not one),
0.86-0.87, and 6/25/44 components on 115 vectors. The statistics of every generated set
are reported with the results. Recall on real embeddings should still be re-checked before
switching the service over.

Synthetic text: ~150 words per chunk in 4 sentences (the service corpus has 3.9 sentences per
chunk), drawn from a 50,000-word Zipf vocabulary (exponent 1) whose most frequent words are the
Lucene stop words, as in English. Everything is seeded.

The full run aims at 12 minutes on 2 cores. A real BM25 build at 1M takes longer than what is
left of that (~5 minutes: tokenizing is single-threaded Python), so unless it is predicted to
fit, the 1M BM25 figures come from a 10x tiling of the largest built index: the postings of every term
are repeated for 10 copies of the corpus, so every score, the average document length and the
term statistics stay those of the built index while every posting list and the score vector
are 10x longer; its search latency is measured, its build time and memory are extrapolated
linearly from the largest real build (tokenizing and indexing are both linear in N).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from bench.common import machine
from bench.scaling.config import (
    DIMENSION,
    FULL_RUN_BUDGET_S,
    FULL_SIZES,
    LOOKUP_ROWS,
    QUICK_RUN_BUDGET_S,
    QUICK_SIZES,
    SENTENCES_PER_CHUNK,
    TARGET_BYTES_PER_VECTOR,
    TARGET_P50_MS,
    TARGET_RECALL,
    K,
    Plan,
)
from bench.scaling.data import TextModel
from bench.scaling.indexes import memory_per_vector
from bench.scaling.lexical import lexical_benchmark, tiled_index
from bench.scaling.measure import meminfo_kb, omp_threads
from bench.scaling.report import to_markdown
from bench.scaling.store import store_benchmark
from bench.scaling.vectors import recommend, vector_benchmark

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = [
    "DIMENSION",
    "LATENCY_QUERIES",
    "LOOKUP_ROWS",
    "MIN_LATENCY_QUERIES",
    "RESIDENT_MEMORY",
    "SENTENCES_PER_CHUNK",
    "WARMUP_QUERIES",
    "Plan",
    "TextModel",
    "memory_per_vector",
    "omp_threads",
    "run",
    "run_plan",
    "tiled_index",
    "to_markdown",
]

# The modules of this package read these from the package at call time, so that tests can turn
# them down with `monkeypatch.setattr(scaling, ...)`; the other constants are in `config`.

# Latency sampling: a few untimed queries first (page faults, lazy allocations), then up to
# LATENCY_QUERIES timed ones, stopping early past the time box once MIN_LATENCY_QUERIES are in.
WARMUP_QUERIES = 3
LATENCY_QUERIES = 100
MIN_LATENCY_QUERIES = 20
RESIDENT_MEMORY = True  # the unit tests switch the fresh-process probe off, to stay fast


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    plan = Plan(
        vector_sizes=sizes,
        store_sizes=sizes,
        lexical_sizes=QUICK_SIZES,
        lexical_target=None if quick else FULL_SIZES[-1],
        budget_s=QUICK_RUN_BUDGET_S if quick else FULL_RUN_BUDGET_S,
        depth=max(K, settings.retrieval.candidates),
    )
    return run_plan(plan)


def run_plan(plan: Plan) -> dict[str, Any]:
    started = time.perf_counter()
    host = environment()
    vectors = timed_section(lambda: vector_benchmark(plan.vector_sizes, plan.depth))
    store = timed_section(lambda: store_benchmark(plan.store_sizes))
    lexical = timed_section(lambda: lexical_benchmark(plan, deadline=started + plan.budget_s))
    host["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    return {
        "machine": host,
        "targets": {
            "p50_ms": TARGET_P50_MS,
            "recall_at_10": TARGET_RECALL,
            "bytes_per_vector": TARGET_BYTES_PER_VECTOR,
        },
        "plan": {
            "vector_sizes": list(plan.vector_sizes),
            "store_sizes": list(plan.store_sizes),
            "lexical_sizes": list(plan.lexical_sizes),
            "lexical_target": plan.lexical_target,
            "budget_s": plan.budget_s,
            "depth": plan.depth,
        },
        "vectors": vectors,
        "recommendation": recommend(vectors),
        "chunk_store": store,
        "lexical": lexical,
        "duration_s": round(time.perf_counter() - started, 1),
    }


def environment() -> dict[str, Any]:
    return {
        **machine(),
        "mem_available_gib": round(meminfo_kb("MemAvailable") / 1024 / 1024, 1),
        "faiss": faiss.__version__,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "numpy": np.__version__,
        # Other work on the machine skews every latency; the load average says how much there was.
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }


def timed_section(section: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    clock = time.perf_counter()
    result = section()
    result["duration_s"] = round(time.perf_counter() - clock, 1)
    return result
