"""The chunk vectors of every segment, searched together: each segment's FAISS index (flat, or
IVF once a merge makes it large) skips its tombstoned rows, and the hits are merged by score.
The vectors a write adds wait in a flat `pending` index until the write turns them into a
segment (`rag.index.store.Index.write_files`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index.ids import members, sorted_ids
from rag.index.segment import Segment
from rag.index.vectors import FaissVectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rag.settings import VectorSettings


class SegmentVectors:
    def __init__(self, segments: Sequence[Segment], dimension: int) -> None:
        self.segments = list(segments)
        self.pending = FaissVectorIndex.empty(dimension)
        self._removed = 0

    @property
    def size(self) -> int:
        return sum(s.live_count for s in self.segments) - self._removed + self.pending.size

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        self.pending.add(ids, vectors)

    def merge(self, shards: Sequence[tuple[NDArray[np.int64], NDArray[np.float32]]]) -> None:
        """Vectors computed in parts (a distributed ingest's batches), added to `pending`."""
        self.pending.merge(shards)

    def remove(self, ids: Collection[int]) -> None:
        """Rows of this write's own `pending` go at once; rows of segments are tombstoned by the
        write (from the chunk store's removed rows), counted here until then."""
        wanted = np.fromiter(ids, dtype=np.int64, count=len(ids))
        held = np.concatenate([s.live_rows() for s in self.segments]) if self.segments else wanted[:0]
        in_segments = np.isin(wanted, held)
        self._removed += int(in_segments.sum())
        self.pending.remove(set(wanted[~in_segments].tolist()))

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        allowed_ids = None if allowed is None else sorted_ids(allowed)
        hits: list[tuple[int, float]] = []
        for segment in self.segments:
            if not segment.live_count:
                continue
            if allowed_ids is None:
                hits += segment.vectors.search(query, k, excluded=segment.dead if len(segment.dead) else None)
                continue
            wanted = allowed_ids[members(allowed_ids, segment.sorted_row_ids)]
            wanted = wanted[~members(wanted, segment.dead)] if len(segment.dead) else wanted
            if len(wanted):
                hits += segment.vectors.search(query, k, wanted)
        if self.pending.size:
            hits += self.pending.search(query, k, allowed)
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]

    def fits(self, policy: VectorSettings) -> bool:
        return all(s.vectors.fits(policy) for s in self.segments)

    def describe(self) -> dict[str, Any]:
        """What the manifest and `rag stats` say of the vectors: one segment's structure as it
        is; several, each one's and the live total."""
        live = sum(s.live_count for s in self.segments)
        if len(self.segments) == 1:
            return self.segments[0].vectors.describe() | {"vectors": live}
        if not self.segments:
            return self.pending.describe()
        parts = [s.vectors.describe() | {"segment": s.name} for s in self.segments]
        structures = {part["structure"] for part in parts}
        structure = structures.pop() if len(structures) == 1 else "mixed"
        return {"structure": structure, "segments": len(parts), "vectors": live, "parts": parts}
