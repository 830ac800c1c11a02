"""One segment of the index: the chunks one write added (or one merge rewrote), with their BM25
postings and their vectors. A segment's files are never changed once written; rows deleted
later are listed in a tombstone, a separate file written by the write that deleted them.

Files, in a generation's `segments/` directory (unchanged ones are hard links to the
previous generation's, so nothing is copied that a write did not change):
    <name>.terms.json, <name>.{offsets,docs,freqs,lengths,rows}.npy
                                    the postings (rag.index.postings), large arrays mapped
    <name>.faiss                    the vectors, FAISS ids = chunk row ids (flat, IVF when large),
                                    mapped into memory
    <name>.dead-<generation>.npy    the sorted row ids deleted as of that generation
A segment read from disk is read-only: its large arrays and its FAISS vectors are views of
the files, verified before they are mapped.
"""

from __future__ import annotations

import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index import layout as vector_layout
from rag.index.postings import Postings, Rows
from rag.index.vectors import FaissVectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rag.settings import VectorSettings


class Segment:
    def __init__(
        self,
        name: str,
        postings: Postings,
        vectors: FaissVectorIndex,
        *,
        dead: NDArray[np.int64] | None = None,
        dead_file: str | None = None,
        source: Path | None = None,
        vectors_source: Path | None = None,
    ) -> None:
        self.name = name
        self.postings = postings
        self.vectors = vectors
        self.row_ids = postings.row_ids
        self.dead = dead if dead is not None else np.zeros(0, dtype=np.int64)
        self.dead_file = dead_file
        self.source = source
        """The directory its postings and tombstone were read from or written to (None: not yet)."""
        self.vectors_source = vectors_source
        """The same for its vector file (None also after its vectors were restructured)."""
        self.alive = np.ones(len(self.row_ids), dtype=bool)
        if len(self.dead):
            self.alive[np.isin(self.row_ids, self.dead)] = False
            self.live_count = int(self.alive.sum())
            self.live_length = int(postings.lengths[self.alive].sum())
        else:  # no tombstone: no need to look rows up
            self.live_count = len(self.row_ids)
            self.live_length = int(postings.lengths.sum())

    @cached_property
    def sorted_row_ids(self) -> NDArray[np.int64]:
        """`row_ids` sorted: what a filter's allowed rows are matched against (`rag.index.ids`)."""
        return np.sort(self.row_ids)

    @classmethod
    def build(cls, name: str, rows: Rows, vectors: FaissVectorIndex) -> Segment:
        """A new segment of `rows` (row id, analysed terms); `vectors` holds the same row ids."""
        if vectors.size != len(rows):
            raise IndexCorruptError(
                f"segment {name}: {len(rows)} chunks but {vectors.size} vectors", REBUILD_HINT
            )
        return cls(name, Postings.build(rows), vectors)

    @classmethod
    def read(cls, directory: Path, name: str, dead_file: str | None, dimension: int) -> Segment:
        postings = Postings.read(directory, name)
        vectors = FaissVectorIndex.read(directory / f"{name}.faiss", dimension)
        dead = None
        if dead_file is not None:
            try:
                dead = np.asarray(np.load(directory / dead_file, allow_pickle=False), dtype=np.int64)
            except (OSError, ValueError) as exc:
                raise IndexCorruptError(
                    f"{directory / dead_file} is unreadable: {exc}", REBUILD_HINT
                ) from exc
        segment = cls(
            name,
            postings,
            vectors,
            dead=dead,
            dead_file=dead_file,
            source=directory,
            vectors_source=directory,
        )
        if vectors.size != len(segment.row_ids):
            raise IndexCorruptError(
                f"segment {directory / name} has {len(segment.row_ids)} chunks but {vectors.size} vectors",
                REBUILD_HINT,
            )
        return segment

    def write(self, directory: Path) -> None:
        """Put this segment's files into `directory`: hard links to files already written, new
        files for what is new."""
        postings_files = Postings.files(self.name)
        linked = [_linked(self.source, file, directory) for file in postings_files]  # each one
        if not all(linked):
            _unlink(directory, *postings_files)  # never write through a link into a shared file
            self.postings.write(directory, self.name)
        if self.dead_file and not _linked(self.source, self.dead_file, directory):
            _unlink(directory, self.dead_file)
            np.save(directory / self.dead_file, self.dead, allow_pickle=False)
        vectors_file = f"{self.name}.faiss"
        if not _linked(self.vectors_source, vectors_file, directory):
            _unlink(directory, vectors_file)
            self.vectors.write(directory / vectors_file)
        self.source = self.vectors_source = directory  # the next generation links to these

    def with_dead(self, rows: NDArray[np.int64], generation: int) -> Segment:
        """This segment with `rows` (those it holds) also marked dead, in a new tombstone file."""
        held = rows[np.isin(rows, self.row_ids)]
        if not len(held) or not len(np.setdiff1d(held, self.dead)):
            return self
        return Segment(
            self.name,
            self.postings,
            self.vectors,
            dead=np.union1d(self.dead, held),
            dead_file=f"{self.name}.dead-{generation:06d}.npy",
            source=self.source,
            vectors_source=self.vectors_source,
        )

    def fitted(self, policy: VectorSettings) -> Segment:
        """This segment with vectors of the structure `policy` wants at its size (flat or IVF)."""
        vectors = self.vectors.fitted(policy)
        if vectors is self.vectors:
            return self
        return Segment(
            self.name,
            self.postings,
            vectors,
            dead=self.dead,
            dead_file=self.dead_file,
            source=self.source,
            vectors_source=None,
        )

    def live_rows(self) -> NDArray[np.int64]:
        return self.row_ids[self.alive]

    def live_vectors(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """(row ids, vectors) of the live rows, in row id order, for a merge."""
        ids, vectors = vector_layout.contents(self.vectors.faiss_index)
        keep = np.isin(ids, self.dead, invert=True)
        order = np.argsort(ids[keep], kind="stable")
        return ids[keep][order], vectors[keep][order]


def _unlink(directory: Path, *files: str) -> None:
    for file in files:
        (directory / file).unlink(missing_ok=True)


def _linked(source: Path | None, file: str, directory: Path) -> bool:
    """Link `file` from `source` into `directory` when it is there; False when it must be written."""
    if source is None or not (source / file).is_file():
        return False
    if source.resolve() == directory.resolve():
        return True
    (directory / file).unlink(missing_ok=True)
    try:
        os.link(source / file, directory / file)
    except OSError:  # a file system without hard links
        shutil.copy2(source / file, directory / file)
    return True
