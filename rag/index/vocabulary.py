"""The corpus vocabulary: how often each word occurs and which corpus word a new word resembles."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rag.text import stem, stem_distinct
from rag.text.analyzer import is_acronym
from rag.text.typos import one_slip, slip_key, slip_keys

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from numpy.typing import NDArray

    # A base's word vectors (one row per word, in order), or what reads them when first needed.
    Vectors: TypeAlias = NDArray[np.float32] | Callable[[], NDArray[np.float32]]

COMPACT_FRACTION = 0.05  # fold the changes into a new base once they reach this share of it
COMPACT_MINIMUM = 2_000


class _Base:
    """An immutable vocabulary that several lexicons share (never changed once built). Its
    vectors may come from a loader, called once, when a word is first compared
    (`Lexicon.nearest`) or a write needs them (`Lexicon.load_vectors`): most questions never
    compare a word, and opening an index then does not read every word's vector."""

    def __init__(self, words_: list[str], dfs: list[int], vectors: Vectors) -> None:
        self.words = words_
        self.df = dict(zip(words_, dfs, strict=True))
        self.stem_df: Counter[str] = Counter()
        for stemmed, df in zip(stem_distinct(words_), dfs, strict=True):
            self.stem_df[stemmed] += df
        self._vectors = vectors if not callable(vectors) else None
        self._load = vectors if callable(vectors) else None
        self._lock = threading.Lock()

    @cached_property
    def position(self) -> dict[str, int]:
        """Each word's row (what a write or a comparison needs; a question alone does not)."""
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def slip_keys(self) -> dict[tuple[str, int], list[int]]:
        """Rows by where a typing slip of a word is sought (`slip_key`): built on the first
        misspelled question, not when the index opens."""
        rows: dict[tuple[str, int], list[int]] = {}
        for row, word in enumerate(self.words):
            for key in slip_keys(word):
                rows.setdefault(key, []).append(row)
        return rows

    @property
    def vectors(self) -> NDArray[np.float32]:
        with self._lock:
            if self._vectors is None and self._load is not None:
                self._vectors, self._load = self._load(), None
            if self._vectors is None:
                raise AssertionError("a vocabulary base without vectors")
            return self._vectors


class Lexicon:
    """The words of one generation: a shared base plus the changes of the writes since it was
    built, so a write costs its own words, not the vocabulary (folded into a new base when the
    changes reach COMPACT_FRACTION of it)."""

    def __init__(self, words_: list[str], dfs: NDArray[np.int64], vectors: Vectors, chunk_count: int) -> None:
        self._base = _Base(words_, dfs.tolist(), vectors)
        self._alive = np.ones(len(words_), dtype=bool)
        self._changed: dict[str, tuple[int, NDArray[np.float32] | None]] = {}
        """Words changed since the base: (df, vector); df 0 is a dropped word."""
        self._stem_delta: Counter[str] = Counter()
        self._chunks = max(chunk_count, 1)

    def updated(
        self, changes: Sequence[tuple[str, int, NDArray[np.float32] | None]], chunk_count: int
    ) -> Lexicon:
        """This lexicon with the words a write touched as the store now has them: (word, document
        frequency, vector); a frequency of 0 drops the word, a new word comes with its vector.
        What a reload of the whole vocabulary would give, for the cost of the change."""
        lexicon = Lexicon.__new__(Lexicon)
        lexicon._base, lexicon._chunks = self._base, max(chunk_count, 1)
        changed, stem_delta, alive = dict(self._changed), Counter(self._stem_delta), self._alive.copy()
        for (word, stored, vector), stemmed in zip(changes, stem([w for w, _, _ in changes]), strict=True):
            count = stored if vector is not None else 0  # a word not embedded yet is not known yet
            stem_delta[stemmed] += count - self._df(word)
            position = self._base.position.get(word)
            if position is not None:
                alive[position] = count > 0
            if position is not None and count == self._base.df[word]:
                changed.pop(word, None)  # back to what the base says
            else:
                known = vector if vector is not None else changed.get(word, (0, None))[1]
                changed[word] = (max(count, 0), known)
        lexicon._changed, lexicon._stem_delta, lexicon._alive = changed, stem_delta, alive
        if len(changed) > max(COMPACT_MINIMUM, COMPACT_FRACTION * len(self._base.words)):
            return lexicon._compacted()
        return lexicon

    def load_vectors(self) -> None:
        """Read the base's vectors now if they are read lazily (a writer does, before the store
        rows they come from can be purged by later writes)."""
        _ = self._base.vectors

    def _compacted(self) -> Lexicon:
        base = self._base
        kept = [i for i, w in enumerate(base.words) if self._alive[i] and w not in self._changed]
        added = sorted(w for w, (df, vector) in self._changed.items() if df > 0 and vector is not None)
        words_ = [base.words[i] for i in kept] + added
        dfs = [base.df[base.words[i]] for i in kept] + [self._changed[w][0] for w in added]
        rows = [v for w in added if (v := self._changed[w][1]) is not None]
        new_rows = np.array(rows, dtype=np.float32).reshape(-1, base.vectors.shape[1])
        vectors = np.concatenate([base.vectors[kept], new_rows])
        return Lexicon(words_, np.array(dfs, dtype=np.int64), vectors, self._chunks)

    def _df(self, word: str) -> int:
        if word in self._changed:
            return self._changed[word][0]
        return self._base.df.get(word, 0)

    @property
    def size(self) -> int:
        dropped = int((~self._alive).sum())
        added = sum(1 for w, (df, _) in self._changed.items() if df > 0 and w not in self._base.df)
        return len(self._base.words) - dropped + added

    def contains(self, word: str) -> bool:
        """Whether the corpus uses this word (acronyms case-sensitively, other words by stem)."""
        if is_acronym(word):
            return self._df(word) > 0
        return self._df(word.lower()) > 0 or self._stem(stem([word.lower()])[0]) > 0

    def contains_in_any_case(self, word: str) -> bool:
        """Whether the corpus uses this word written in any capitals: "nCOV" when it writes
        "nCoV" (a name typed otherwise, not a word the corpus lacks)."""
        return self.contains(word) or self.contains(word.lower())

    def slip_of(self, word: str) -> str | None:
        """The corpus word that `word` is one typing slip from (rag/text/typos.py), the most
        frequent when several are: "CEACAM1" for "CEAMCAM1", "bacterial" for "bacteial"."""
        base, key = self._base, slip_key(word)
        known = [base.words[r] for r in base.slip_keys.get(key, []) if self._alive[r]]
        known += [w for w, (df, _) in self._changed.items() if df > 0 and key in slip_keys(w)]
        slips = [w for w in known if one_slip(word, w)]
        # The form written like `word` first (an acronym as an acronym), then the most frequent.
        return max(slips, key=lambda w: (is_acronym(w) == is_acronym(word), self._df(w), w), default=None)

    def _stem(self, stemmed: str) -> int:
        return self._base.stem_df.get(stemmed, 0) + self._stem_delta.get(stemmed, 0)

    def idf(self, stemmed: str) -> float:
        """BM25-style inverse document frequency of a stemmed term; unseen terms get the maximum."""
        df = max(self._stem(stemmed), 0)
        return math.log(1.0 + (self._chunks - df + 0.5) / (df + 0.5))

    def nearest(self, vectors: NDArray[np.float32]) -> list[tuple[str, float]]:
        """For each vector, the most similar corpus word and its cosine similarity."""
        base = self._base
        extra = [
            (w, v) for w, (df, v) in self._changed.items() if df > 0 and v is not None and w not in base.df
        ]
        if not len(vectors) or (not self._alive.any() and not extra):
            return [("", 0.0)] * len(vectors)
        similarities = vectors @ base.vectors.T
        similarities[:, ~self._alive] = -np.inf
        words_ = list(base.words)
        if extra:
            words_ += [w for w, _ in extra]
            similarities = np.concatenate([similarities, vectors @ np.stack([v for _, v in extra]).T], axis=1)
        best = similarities.argmax(axis=1)
        return [(words_[int(j)], float(similarities[i, j])) for i, j in enumerate(best)]
