"""The corpus vocabulary: how often each word occurs and which corpus word a new word resembles."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from rag.text import stem
from rag.text.analyzer import is_acronym

if TYPE_CHECKING:
    from numpy.typing import NDArray


class Lexicon:
    def __init__(
        self, words_: list[str], dfs: NDArray[np.int64], vectors: NDArray[np.float32], chunk_count: int
    ) -> None:
        self._words = words_
        self._df = dict(zip(words_, dfs.tolist(), strict=True))
        self._vectors = vectors
        self._chunks = max(chunk_count, 1)
        stem_df: Counter[str] = Counter()
        for stemmed, df in zip(stem(words_), dfs.tolist(), strict=True):
            stem_df[stemmed] += df
        self._stem_df = stem_df

    @property
    def size(self) -> int:
        return len(self._words)

    def contains(self, word: str) -> bool:
        """Whether the corpus uses this word (acronyms case-sensitively, other words by stem)."""
        if is_acronym(word):
            return word in self._df
        return word.lower() in self._df or self._stem_df.get(stem([word.lower()])[0], 0) > 0

    def idf(self, stemmed: str) -> float:
        """BM25-style inverse document frequency of a stemmed term; unseen terms get the maximum."""
        df = self._stem_df.get(stemmed, 0)
        return math.log(1.0 + (self._chunks - df + 0.5) / (df + 0.5))

    def nearest(self, vectors: NDArray[np.float32]) -> list[tuple[str, float]]:
        """For each vector, the most similar corpus word and its cosine similarity."""
        if not len(self._words) or not len(vectors):
            return [("", 0.0)] * len(vectors)
        similarities = vectors @ self._vectors.T
        best = similarities.argmax(axis=1)
        return [(self._words[int(j)], float(similarities[i, j])) for i, j in enumerate(best)]
