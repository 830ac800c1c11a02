"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused into one.

The fusion functions are pure: they take ranked (id, score) lists and return one ranked list.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.index.lexical import BM25Parameters, LexicalIndex
from rag.index.vectors import VectorIndex
from rag.settings import RetrievalMode, RetrievalSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

Ranking = Sequence[tuple[int, float]]
Mode = RetrievalMode


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Sum over rankings of weight / (k + rank), rank starting at 1."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def min_max(ranking: Ranking) -> dict[int, float]:
    """Scores rescaled to [0, 1] within the ranking (all 1.0 when they are equal)."""
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    low, high = min(scores), max(scores)
    span = high - low
    return {item: (score - low) / span if span > 0 else 1.0 for item, score in ranking}


def weighted_fusion(dense: Ranking, lexical: Ranking, dense_weight: float) -> list[tuple[int, float]]:
    """Convex combination of min-max normalized scores; a missing score counts as 0."""
    dense_norm, lexical_norm = min_max(dense), min_max(lexical)
    items = set(dense_norm) | set(lexical_norm)
    fused = {
        item: dense_weight * dense_norm.get(item, 0.0) + (1.0 - dense_weight) * lexical_norm.get(item, 0.0)
        for item in items
    }
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


class HybridRetriever:
    def __init__(
        self, vectors: VectorIndex, lexical: LexicalIndex, settings: RetrievalSettings | None = None
    ) -> None:
        self._vectors = vectors
        self._lexical = lexical
        self.config = settings or RetrievalSettings()
        self._bm25 = BM25Parameters(k1=self.config.bm25_k1, b=self.config.bm25_b)

    def retrieve(
        self,
        query_vector: NDArray[np.float32],
        query_terms: Sequence[str],
        k: int,
        allowed: Collection[int] | None = None,
        mode: Mode | None = None,
    ) -> list[tuple[int, float]]:
        """The k best chunk row ids with their fused scores, best first."""
        mode = mode or self.config.mode
        depth = max(k, self.config.candidates)
        dense = self._vectors.search(query_vector, depth, allowed) if mode != "bm25" else []
        lexical = []
        if mode != "dense":
            lexical = self._lexical.search(query_terms, depth, allowed, parameters=self._bm25)
        if mode == "dense":
            return dense[:k]
        if mode == "bm25":
            return lexical[:k]
        if self.config.fusion == "rrf":
            return reciprocal_rank_fusion([dense, lexical], self.config.rrf_k)[:k]
        return weighted_fusion(dense, lexical, self.config.dense_weight)[:k]
