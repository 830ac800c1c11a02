"""BM25: build time, peak memory and search latency; the largest size is tiled when a real build
would not fit the run's budget."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.scaling.config import (
    BUILD_TIME_MARGIN,
    LEXICAL_QUERIES,
    MEMORY_SHARE,
    QUERY_WORDS,
    SEED,
    VOCABULARY,
    WORDS_PER_CHUNK,
    ZIPF_EXPONENT,
    Plan,
)
from bench.scaling.data import TextModel
from bench.scaling.measure import (
    latency,
    meminfo_kb,
    peak_rss_bytes,
    reset_peak_rss,
    rss_bytes,
    timed,
)
from rag.index.lexical import BM25S_LUCENE, LexicalIndex, PostingsPart
from rag.index.postings import Postings
from rag.text.analyzer import Analyzer

if TYPE_CHECKING:
    pass


def lexical_benchmark(plan: Plan, *, deadline: float) -> dict[str, Any]:
    text = TextModel.create(np.random.default_rng([SEED, 2]))
    queries = text.queries(LEXICAL_QUERIES, np.random.default_rng([SEED, 4]))
    sizes: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-bm25-") as folder:
        last: LexicalIndex | None = None
        for n in plan.lexical_sizes:
            entry, last = lexical_build(text, n, queries, plan.depth)
            sizes.append(entry)
        if plan.lexical_target is not None and last is not None:
            target = lexical_target(
                plan, text, queries, built=sizes[-1], index=last, folder=Path(folder), deadline=deadline
            )
            sizes.append(target)
    return {
        "vocabulary": VOCABULARY,
        "zipf_exponent": ZIPF_EXPONENT,
        "words_per_chunk": WORDS_PER_CHUNK,
        "query_words": list(QUERY_WORDS),
        "depth": plan.depth,
        "sizes": sizes,
    }


def lexical_build(
    text: TextModel, n: int, queries: Sequence[str], depth: int
) -> tuple[dict[str, Any], LexicalIndex]:
    texts, generate_s = timed(lambda: text.chunks(n, np.random.default_rng([SEED, 5, n])))
    rows = list(enumerate(texts, start=1))
    texts.clear()
    before = rss_bytes()
    tracked = reset_peak_rss()
    analyzer = Analyzer()  # as the service's: terms are made inside the timed build and searches
    index, build_s = timed(lambda: LexicalIndex.build([(row, analyzer.terms(chunk)) for row, chunk in rows]))
    peak = peak_rss_bytes() - before if tracked else None
    rows.clear()  # the texts are not needed for searching
    times = latency(lambda q: index.search(analyzer.terms(q), depth, parameters=BM25S_LUCENE), queries)
    entry = {
        "n": n,
        "method": "LexicalIndex.build",
        "generate_s": round(generate_s, 1),
        "build_s": round(build_s, 1),
        "peak_rss_mb": None if peak is None else round(peak / 1e6),
        **{f"search_{key}": value for key, value in times.items()},
    }
    return entry, index


def lexical_target(
    plan: Plan,
    text: TextModel,
    queries: Sequence[str],
    *,
    built: dict[str, Any],
    index: LexicalIndex,
    folder: Path,
    deadline: float,
) -> dict[str, Any]:
    """The target size by a real build if it is predicted to fit, else by tiling `index`."""
    target = int(plan.lexical_target or built["n"])
    factor = target / built["n"]
    predicted_s = (built["build_s"] + built["generate_s"]) * factor * BUILD_TIME_MARGIN
    predicted_mb = None if built["peak_rss_mb"] is None else built["peak_rss_mb"] * factor
    left_s = deadline - time.perf_counter()
    available_mb = meminfo_kb("MemAvailable") * 1024 / 1e6
    prediction = {
        "build_s_extrapolated": round(built["build_s"] * factor),
        "peak_rss_mb_extrapolated": None if predicted_mb is None else round(predicted_mb),
    }
    if predicted_s <= left_s and (predicted_mb is None or predicted_mb <= MEMORY_SHARE * available_mb):
        entry, _ = lexical_build(text, target, queries, plan.depth)
        return entry | prediction
    if predicted_s > left_s:
        reason = (
            f"a real build was predicted to take {predicted_s:.0f} s (linear from {built['n']:,} "
            f"chunks, with a {BUILD_TIME_MARGIN:.1f}x margin) with {max(left_s, 0):.0f} s left of the "
            f"{plan.budget_s:.0f} s run budget"
        )
    else:
        reason = (
            f"a real build was predicted to need {predicted_mb:.0f} MB with {available_mb:.0f} MB available"
        )
    copies = math.ceil(factor)
    tiled = tiled_index(index, folder, copies)
    analyzer = Analyzer()
    times = latency(lambda q: tiled.search(analyzer.terms(q), plan.depth, parameters=BM25S_LUCENE), queries)
    return {
        "n": built["n"] * copies,
        "method": f"tiled {copies}x from {built['n']:,}",
        "reason": reason,
        **prediction,
        **{f"search_{key}": value for key, value in times.items()},
    }


def tiled_index(index: LexicalIndex, folder: Path, copies: int) -> LexicalIndex:
    """A BM25 index over `copies` copies of `index`'s corpus: one part per copy (the same
    postings, row ids shifted), written and read back through the service's reader."""
    (source,) = index.parts
    stored = source.postings
    n = int(stored.row_ids.max())
    parts = []
    for copy in range(copies):
        name = f"seg-{copy + 1:06d}"
        Postings(stored.terms, stored.arrays | {"row_ids": stored.row_ids + copy * n}).write(folder, name)
        parts.append(PostingsPart(Postings.read(folder, name)))
    return LexicalIndex(parts)
