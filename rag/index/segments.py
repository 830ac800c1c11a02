"""The segments of one generation: which are live, in order, with their tombstones; how a write
changes them (one new segment, tombstones) and how they are merged.

`segments.json` in the generation's `segments/` directory lists them:
    {"segments": [{"name": "seg-000001", "dead": "seg-000001.dead-000007.npy"}, ...]}
A segment is named after the generation that wrote it (`seg-000005`); one made by a merge in
generation 6 is `seg-000006-1` (`-2`, ... when one commit makes several). Row ids only grow
(SQLite `AUTOINCREMENT`), so the chunks a write added are those above the highest row id
any segment holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index import layout as vector_layout
from rag.index.merge_policy import SegmentSize, merge_plan
from rag.index.postings import Rows
from rag.index.segment import Segment
from rag.index.vectors import FaissVectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rag.settings import VectorSettings

LISTING_FILE = "segments.json"


def segment_name(generation: int, part: int = 0) -> str:
    return f"seg-{generation:06d}" + (f"-{part}" if part else "")


class Segments:
    def __init__(self, segments: list[Segment]) -> None:
        self.list = segments

    @classmethod
    def read(cls, directory: Path, dimension: int) -> Segments:
        listing = directory / LISTING_FILE
        try:
            entries = json.loads(listing.read_text(encoding="utf-8"))["segments"]
            named = [(str(e["name"]), e.get("dead")) for e in entries]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(f"{listing} is not a readable segment list: {exc}", REBUILD_HINT) from exc
        return cls([Segment.read(directory, name, dead, dimension) for name, dead in named])

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for segment in self.list:
            segment.write(directory)
        listing = [{"name": s.name, "dead": s.dead_file} for s in self.list]
        (directory / LISTING_FILE).write_text(json.dumps({"segments": listing}, indent=1), encoding="utf-8")

    @property
    def live(self) -> int:
        return sum(s.live_count for s in self.list)

    @property
    def max_row_id(self) -> int:
        """The highest row id any segment holds, dead or alive (0 when empty)."""
        return max((int(s.row_ids.max()) for s in self.list if len(s.row_ids)), default=0)

    def describe(self) -> dict[str, int]:
        """Segments, live rows, rows deleted but not yet merged away."""
        rows = sum(len(s.row_ids) for s in self.list)
        return {"segments": len(self.list), "live": self.live, "dead": rows - self.live}

    def changed(
        self, name: str, added: Rows, vectors: FaissVectorIndex, removed: Collection[int], generation: int
    ) -> Segments:
        """These segments with `removed` rows tombstoned and `added` (with their `vectors`) as a
        new segment called `name`."""
        dead = np.unique(np.fromiter(removed, dtype=np.int64, count=len(removed)))
        segments = [s.with_dead(dead, generation) if len(dead) else s for s in self.list]
        if added:
            segments.append(Segment.build(name, added, vectors))
        return Segments(segments)

    def merged(
        self,
        generation: int,
        analyse: Callable[[NDArray[np.int64]], Rows],
        policy: VectorSettings,
        *,
        force: bool = False,
    ) -> Segments:
        """These segments after the merges the tiered policy (`force`: one segment) asks for.
        The live rows of each merged group are analysed again by `analyse` (row ids -> rows)
        and their vectors gathered into an index of the structure `policy` wants at its size."""
        sizes = [SegmentSize(s.name, len(s.row_ids), s.live_count) for s in self.list]
        groups = merge_plan(sizes, force=force)
        if not groups:
            return self
        by_name = {s.name: s for s in self.list}
        merged_names = {name for group in groups for name in group}
        kept = [s for s in self.list if s.name not in merged_names]
        for part, group in enumerate(groups, start=1):
            pieces = [by_name[name].live_vectors() for name in group]
            ids = np.concatenate([i for i, _ in pieces])
            if not len(ids):
                continue  # nothing live: the group is dropped
            order = np.argsort(ids, kind="stable")
            ids, vectors = ids[order], np.concatenate([v for _, v in pieces])[order]
            index = FaissVectorIndex(vector_layout.build(ids, vectors, policy))
            kept.append(Segment.build(segment_name(generation, part), analyse(ids), index))
        kept.sort(key=lambda s: int(s.row_ids.min()) if len(s.row_ids) else 0)
        return Segments(kept)

    def fits(self, policy: VectorSettings) -> bool:
        return all(s.vectors.fits(policy) for s in self.list)

    def fitted(self, policy: VectorSettings) -> Segments:
        return Segments([s.fitted(policy) for s in self.list])
