"""The corpus vocabulary: how often each word occurs and which corpus word a new word resembles."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
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

    def updated(
        self, changes: Sequence[tuple[str, int, NDArray[np.float32] | None]], chunk_count: int
    ) -> Lexicon:
        """This lexicon with the words a write touched as the store now has them: (word, document
        frequency, vector); a frequency of 0 drops the word, a new word comes with its vector.
        What a reload of the whole vocabulary would give, for the cost of the change."""
        position = {word: i for i, word in enumerate(self._words)}
        df, stem_df = dict(self._df), Counter(self._stem_df)
        dropped: list[int] = []
        added_words: list[str] = []
        added_vectors: list[NDArray[np.float32]] = []
        for (word, stored, vector), stemmed in zip(changes, stem([w for w, _, _ in changes]), strict=True):
            count = stored if vector is not None else 0  # a word not embedded yet is not known yet
            stem_df[stemmed] += count - df.get(word, 0)
            if count <= 0:
                if word in position:
                    dropped.append(position[word])
                df.pop(word, None)
                continue
            if word not in position and vector is not None:
                added_words.append(word)
                added_vectors.append(vector)
            df[word] = count
        keep = np.ones(len(self._words), dtype=bool)
        keep[dropped] = False
        words_ = [w for w, kept in zip(self._words, keep.tolist(), strict=True) if kept] + added_words
        new_rows = np.array(added_vectors, dtype=np.float32).reshape(-1, self._vectors.shape[1])
        vectors = np.concatenate([self._vectors[keep], new_rows])
        lexicon = Lexicon.__new__(Lexicon)
        lexicon._words, lexicon._df, lexicon._vectors = words_, df, vectors
        lexicon._chunks = max(chunk_count, 1)
        lexicon._stem_df = Counter({k: v for k, v in stem_df.items() if v > 0})
        return lexicon

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
