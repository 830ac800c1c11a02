"""One lexical segment: the BM25 postings of the chunks one write added, never changed after.

A segment holds, for each term, the chunks (local positions) that contain it and how often,
and each chunk's length in terms and row id. Nothing corpus-wide is baked in (no idf, no
average length, unlike bm25s's precomputed score matrix), so segments written at different
times are scored together with statistics summed at query time (`rag.index.lexical`).
Rows deleted later are marked in a tombstone (the dead row ids), a separate file written by
the write that deleted them; the segment's own files are never rewritten.

Files (JSON and .npy, no pickle): `<name>.terms.json` (the terms, sorted), `<name>.npz`
(offsets into the postings per term, posting chunk positions, term frequencies, chunk lengths,
row ids), and `<name>.dead-<generation>.npy` (sorted dead row ids).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

ARRAYS = ("offsets", "docs", "freqs", "lengths", "row_ids")


class Segment:
    def __init__(
        self,
        name: str,
        terms: list[str],
        arrays: dict[str, NDArray[np.int64]],
        *,
        dead: NDArray[np.int64] | None = None,
        dead_file: str | None = None,
        source: Path | None = None,
    ) -> None:
        self.name = name
        self.terms = terms
        self._term_ids = {t: i for i, t in enumerate(terms)}
        self.offsets, self.docs, self.freqs = arrays["offsets"], arrays["docs"], arrays["freqs"]
        self.lengths, self.row_ids = arrays["lengths"], arrays["row_ids"]
        self.dead = dead if dead is not None else np.zeros(0, dtype=np.int64)
        self.dead_file = dead_file
        self.source = source
        """The directory its files were read from (None: built in this process, not yet written)."""
        self.alive = np.ones(len(self.row_ids), dtype=bool)
        if len(self.dead):
            self.alive[np.isin(self.row_ids, self.dead)] = False
        self.live_count = int(self.alive.sum())
        self.live_length = int(self.lengths[self.alive].sum())

    @classmethod
    def build(cls, name: str, rows: Sequence[tuple[int, Sequence[str]]]) -> Segment:
        """The postings of `rows`: (row id, analysed terms) in row id order."""
        counts = [Counter(terms) for _, terms in rows]
        terms = sorted(set().union(*counts))
        term_ids = {t: i for i, t in enumerate(terms)}
        sizes = [len(c) for c in counts]
        term_col = np.fromiter((term_ids[t] for c in counts for t in c), dtype=np.int64, count=sum(sizes))
        freq_col = np.fromiter((n for c in counts for n in c.values()), dtype=np.int64, count=sum(sizes))
        doc_col = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
        order = np.lexsort((doc_col, term_col))  # by term, then by chunk
        arrays = {
            "offsets": np.searchsorted(term_col[order], np.arange(len(terms) + 1)).astype(np.int64),
            "docs": doc_col[order],
            "freqs": freq_col[order],
            "lengths": np.array([len(terms_) for _, terms_ in rows], dtype=np.int64),
            "row_ids": np.array([row for row, _ in rows], dtype=np.int64),
        }
        return cls(name, terms, arrays)

    @classmethod
    def read(cls, directory: Path, name: str, dead_file: str | None) -> Segment:
        try:
            terms = json.loads((directory / f"{name}.terms.json").read_text(encoding="utf-8"))
            with np.load(directory / f"{name}.npz", allow_pickle=False) as stored:
                arrays = {key: np.asarray(stored[key], dtype=np.int64) for key in ARRAYS}
            dead = None
            if dead_file is not None:
                dead = np.asarray(np.load(directory / dead_file, allow_pickle=False), dtype=np.int64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"lexical segment {directory / name} is unreadable: {exc}", REBUILD_HINT
            ) from exc
        if not isinstance(terms, list) or len(arrays["offsets"]) != len(terms) + 1:
            raise IndexCorruptError(f"lexical segment {directory / name} is inconsistent", REBUILD_HINT)
        return cls(name, terms, arrays, dead=dead, dead_file=dead_file, source=directory)

    def files(self) -> list[str]:
        names = [f"{self.name}.terms.json", f"{self.name}.npz"]
        return names + ([self.dead_file] if self.dead_file else [])

    def write(self, directory: Path) -> None:
        """Put this segment's files into `directory`: hard links to files already written
        (nothing is copied that did not change), new files for what is new."""
        for file in self.files():
            if self.source is not None and (self.source / file).is_file():
                _link_or_copy(self.source / file, directory / file)
            elif file == self.dead_file:
                np.save(directory / file, self.dead, allow_pickle=False)
            elif file.endswith(".npz"):
                arrays = {
                    "offsets": self.offsets,
                    "docs": self.docs,
                    "freqs": self.freqs,
                    "lengths": self.lengths,
                    "row_ids": self.row_ids,
                }
                np.savez(directory / file, **arrays)  # type: ignore[arg-type]
            else:
                (directory / file).write_text(json.dumps(self.terms), encoding="utf-8")
        self.source = directory  # the next generation links to these

    def with_dead(self, rows: NDArray[np.int64], generation: int) -> Segment:
        """This segment with `rows` (those it holds) also marked dead, in a new tombstone file."""
        held = rows[np.isin(rows, self.row_ids)]
        if not len(held):
            return self
        dead = np.union1d(self.dead, held)
        arrays = {"offsets": self.offsets, "docs": self.docs, "freqs": self.freqs}
        arrays |= {"lengths": self.lengths, "row_ids": self.row_ids}
        dead_file = f"{self.name}.dead-{generation:06d}.npy"
        return Segment(self.name, self.terms, arrays, dead=dead, dead_file=dead_file, source=self.source)

    def postings(self, term: str) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
        """(local chunk positions, term frequencies) of the live chunks holding `term`."""
        term_id = self._term_ids.get(term)
        if term_id is None:
            return None
        start, end = int(self.offsets[term_id]), int(self.offsets[term_id + 1])
        docs, freqs = self.docs[start:end], self.freqs[start:end]
        if self.live_count < len(self.row_ids):
            keep = self.alive[docs]
            docs, freqs = docs[keep], freqs[keep]
        return docs, freqs

    def live_rows(self) -> NDArray[np.int64]:
        return self.row_ids[self.alive]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)
