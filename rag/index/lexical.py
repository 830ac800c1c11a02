"""BM25 over chunks, kept as immutable segments (`rag.index.postings`) searched together.

Scores are Lucene's BM25 (k1 1.5, b 0.75, as bm25s's "lucene" method that this replaced)
with the number of chunks, each term's document frequency and the average length summed over
the live rows of every segment at query time. So a chunk added or deleted later changes the
scores exactly as a fresh build would, and a write costs the size of the change: it adds one
segment and tombstones, never re-reads the other chunks. (Lucene instead counts deleted rows
in its statistics until a merge.) What a fresh build would do differently: a chunk's terms
are analysed when its segment is written, with the short forms the corpus defined then; a
merge analyses its chunks again.

Files, in the generation's `lexical/` directory: `segments.json` (the live segments in order
and each one's tombstone file) and each segment's files, hard links to the earlier
generation's when the segment did not change.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index.merge_policy import SegmentSize, merge_plan
from rag.index.postings import Segment

if TYPE_CHECKING:
    from numpy.typing import NDArray

SEGMENTS_FILE = "segments.json"
K1, B = 1.5, 0.75
# Recorded in the manifest: a change to the analyzer or the format needs a rebuild.
ANALYZER = {
    "library": "rag-postings",
    "method": "lucene",
    "k1": K1,
    "b": B,
    "stopwords": "lucene-en",
    "stemmer": "snowball-en",
    "abbreviations": "expanded when written",
}

Rows = Sequence[tuple[int, Sequence[str]]]
"""(chunk row id, analysed terms) in row id order."""


def segment_name(generation: int, part: int = 0) -> str:
    return f"seg-{generation:06d}" + (f"-{part}" if part else "")


class LexicalIndex:
    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = list(segments)
        self._bases = np.cumsum([0, *(len(s.row_ids) for s in self.segments)])
        self._row_ids = (
            np.concatenate([s.row_ids for s in self.segments])
            if self.segments
            else np.zeros(0, dtype=np.int64)
        )
        self._live = sum(s.live_count for s in self.segments)
        self._length = sum(s.live_length for s in self.segments)

    @classmethod
    def build(cls, rows: Rows, name: str = "seg-000000") -> LexicalIndex:
        """One segment holding `rows` (an empty index when there are none)."""
        return cls([Segment.build(name, rows)] if rows else [])

    @classmethod
    def read(cls, directory: Path) -> LexicalIndex:
        listing = directory / SEGMENTS_FILE
        try:
            entries = json.loads(listing.read_text(encoding="utf-8"))["segments"]
            named = [(str(e["name"]), e.get("dead")) for e in entries]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(f"{listing} is not a readable segment list: {exc}", REBUILD_HINT) from exc
        return cls([Segment.read(directory, name, dead) for name, dead in named])

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            segment.write(directory)
        listing = [{"name": s.name, "dead": s.dead_file} for s in self.segments]
        (directory / SEGMENTS_FILE).write_text(json.dumps({"segments": listing}, indent=1), encoding="utf-8")

    @property
    def size(self) -> int:
        """Live chunks."""
        return self._live

    @property
    def max_row_id(self) -> int:
        """The highest row id any segment holds, dead or alive (0 when empty): row ids only grow,
        so the chunks above it are the ones not indexed yet."""
        return int(self._row_ids.max()) if len(self._row_ids) else 0

    def describe(self) -> dict[str, int]:
        """What `rag stats` reports: segments, live rows, rows deleted but not yet merged away."""
        rows = sum(len(s.row_ids) for s in self.segments)
        return {"segments": len(self.segments), "live": self._live, "dead": rows - self._live}

    def live_rows(self) -> NDArray[np.int64]:
        parts = [s.live_rows() for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def changed(self, name: str, added: Rows, removed: Collection[int], generation: int) -> LexicalIndex:
        """This index with `removed` rows tombstoned and `added` as a new segment called `name`."""
        dead = np.unique(np.fromiter(removed, dtype=np.int64, count=len(removed)))
        segments = [s.with_dead(dead, generation) if len(dead) else s for s in self.segments]
        if added:
            segments.append(Segment.build(name, added))
        return LexicalIndex(segments)

    def merged(
        self, generation: int, analyse: Callable[[NDArray[np.int64]], Rows], *, force: bool = False
    ) -> LexicalIndex:
        """This index after the merges the tiered policy (`force`: one segment) asks for; the rows
        of each merged group are analysed again by `analyse` (live row ids -> rows)."""
        sizes = [SegmentSize(s.name, len(s.row_ids), s.live_count) for s in self.segments]
        groups = merge_plan(sizes, force=force)
        if not groups:
            return self
        by_name = {s.name: s for s in self.segments}
        merged_names = {name for group in groups for name in group}
        kept = [s for s in self.segments if s.name not in merged_names]
        for part, group in enumerate(groups, start=1):
            rows = np.sort(np.concatenate([by_name[name].live_rows() for name in group]))
            if len(rows):
                kept.append(Segment.build(segment_name(generation, part), analyse(rows)))
        kept.sort(key=lambda s: int(s.row_ids.min()) if len(s.row_ids) else 0)
        return LexicalIndex(kept)

    def search(
        self, query: Sequence[str], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Chunks ranked by BM25 score for the query's terms (a repeated term counts again);
        chunks that match none are left out. `allowed` restricts the chunks ranked, not the
        statistics."""
        if k <= 0 or self._live == 0:
            return []
        allowed_ids = None if allowed is None else np.fromiter(allowed, dtype=np.int64, count=len(allowed))
        average_length = self._length / self._live
        positions: list[NDArray[np.int64]] = []
        scores: list[NDArray[np.float64]] = []
        for term, weight in Counter(query).items():
            found = [
                (base, s, p)
                for base, s in zip(self._bases, self.segments, strict=False)
                if (p := s.postings(term))
            ]
            frequency = sum(len(docs) for _, _, (docs, _) in found)
            if not frequency:
                continue
            idf = math.log(1.0 + (self._live - frequency + 0.5) / (frequency + 0.5))
            for base, segment, (all_docs, all_freqs) in found:
                docs, freqs = all_docs, all_freqs
                if allowed_ids is not None:
                    keep = np.isin(segment.row_ids[all_docs], allowed_ids)
                    docs, freqs = all_docs[keep], all_freqs[keep]
                norm = K1 * (1.0 - B + B * segment.lengths[docs] / average_length)
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
