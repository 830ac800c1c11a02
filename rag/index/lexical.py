"""BM25 over chunks kept in segments (`rag.index.segment`), searched together.

Scores are Lucene's BM25 formula (bm25s's "lucene" method, which this replaced) with k1 and b
given per query (`BM25Parameters`; the service takes them from its retrieval settings) and the
number of chunks, each term's document frequency and the average length summed over
the live rows of every segment at query time. So a chunk added or deleted later changes the
scores exactly as a fresh build would, and a write costs the size of the change: it adds one
segment and tombstones, never re-reads the other chunks. (Lucene instead counts deleted rows
in its statistics until a merge.) What a fresh build would do differently: a chunk's terms
are analysed when its segment is written, with the short forms the corpus defined then; a
merge analyses its chunks again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.index.ids import members, sorted_ids
from rag.index.postings import Postings, Rows

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class BM25Parameters:
    """BM25's term-frequency saturation (k1) and length normalization (b). Applied at query
    time, so changing them needs no rebuild."""

    k1: float
    b: float


# bm25s's "lucene" method with its defaults, which this replaced: the reference that the tests
# and benchmarks compare scores and rankings with. The service's own come from its settings.
BM25S_LUCENE = BM25Parameters(k1=1.5, b=0.75)


# Recorded in the manifest: a change to the analyzer or the format needs a rebuild. k1 and b
# are not recorded: they are query-time settings (an index written when they were recorded
# still opens: `rag.index.manifest.QUERY_TIME_KEYS`).
ANALYZER = {
    "library": "rag-postings",
    "method": "lucene",
    "stopwords": "lucene-en",
    "stemmer": "snowball-en",
    "abbreviations": "expanded when written",
    # Since ligatures are folded ("ﬂ" -> "fl") and hard-wrapped lines rejoined: an index built
    # before reads those documents differently and is rebuilt (`rag serve --ingest` does it).
    "text": "ligatures folded, hard-wrapped lines joined",
    # Since a word and the single letter or digit after it are also one term ("hepatitisc").
    "designators": "word and single character joined",
}


class LexicalPart(Protocol):
    """What BM25 needs of a segment (`rag.index.segment.Segment` is one)."""

    postings: Postings
    row_ids: NDArray[np.int64]
    alive: NDArray[np.bool_]
    live_count: int
    live_length: int


class PostingsPart:
    """Postings alone, every row alive: BM25 without vectors (benchmarks, tests)."""

    def __init__(self, postings: Postings) -> None:
        self.postings = postings
        self.row_ids = postings.row_ids
        self.alive = np.ones(len(self.row_ids), dtype=bool)
        self.live_count = len(self.row_ids)
        self.live_length = int(postings.lengths.sum())


class LexicalIndex:
    def __init__(self, parts: Sequence[LexicalPart]) -> None:
        self.parts = list(parts)
        self._bases = np.cumsum([0, *(len(p.row_ids) for p in self.parts)])
        self._row_ids = (
            np.concatenate([p.row_ids for p in self.parts]) if self.parts else np.zeros(0, dtype=np.int64)
        )
        self._live = sum(p.live_count for p in self.parts)
        self._length = sum(p.live_length for p in self.parts)

    @classmethod
    def build(cls, rows: Rows) -> LexicalIndex:
        """BM25 over `rows` alone (no vectors, nothing written)."""
        return cls([PostingsPart(Postings.build(rows))] if rows else [])

    @property
    def size(self) -> int:
        """Live chunks."""
        return self._live

    def search(
        self,
        query: Sequence[str],
        k: int,
        allowed: Collection[int] | None = None,
        *,
        parameters: BM25Parameters,
    ) -> list[tuple[int, float]]:
        """Chunks ranked by BM25 score for the query's terms (a repeated term counts again);
        chunks that match none are left out. `allowed` restricts the chunks ranked, not the
        statistics."""
        k1, b = parameters.k1, parameters.b
        if k <= 0 or self._live == 0:
            return []
        allowed_ids = None if allowed is None else sorted_ids(allowed)
        average_length = self._length / self._live
        positions: list[NDArray[np.int64]] = []
        scores: list[NDArray[np.float64]] = []
        for term, weight in Counter(query).items():
            found = [
                (base, part, _live(part, stored))
                for base, part in zip(self._bases, self.parts, strict=False)
                if (stored := part.postings.of(term)) is not None
            ]
            frequency = sum(len(docs) for _, _, (docs, _) in found)
            if not frequency:
                continue
            idf = math.log(1.0 + (self._live - frequency + 0.5) / (frequency + 0.5))
            for base, part, (all_docs, all_freqs) in found:
                docs, freqs = all_docs, all_freqs
                if allowed_ids is not None:
                    keep = members(part.row_ids[all_docs], allowed_ids)
                    docs, freqs = all_docs[keep], all_freqs[keep]
                norm = k1 * (1.0 - b + b * part.postings.lengths[docs] / average_length)
                positions.append(base + docs)
                scores.append(weight * idf * freqs / (norm + freqs))
        if not positions:
            return []
        # Summing into an array over every chunk position is cheaper than sorting the postings
        # (np.unique) and takes 8 bytes per chunk while the query runs.
        totals = np.bincount(np.concatenate(positions), weights=np.concatenate(scores))
        hit = np.flatnonzero(totals)
        hit_scores = totals[hit]
        if len(hit) > k:  # everything tied with the k-th score stays, so ties break by row id
            threshold = np.partition(hit_scores, len(hit) - k)[len(hit) - k]
            keep = hit_scores >= threshold
            hit, hit_scores = hit[keep], hit_scores[keep]
        rows = self._row_ids[hit]
        order = np.lexsort((rows, -hit_scores))[:k]
        return [(int(rows[i]), float(hit_scores[i])) for i in order]


Postings_ = tuple["NDArray[np.int32]", "NDArray[np.int32]"]


def _live(part: LexicalPart, stored: Postings_) -> Postings_:
    """The postings of the live rows."""
    docs, freqs = stored
    if part.live_count == len(part.row_ids):
        return docs, freqs
    keep = part.alive[docs]
    return docs[keep], freqs[keep]
