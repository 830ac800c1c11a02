"""The BM25 postings of one segment's chunks.

For each term, the chunks (local positions) that contain it and how often, and each chunk's
length in terms and row id. Nothing corpus-wide is baked in (no idf, no average length,
unlike bm25s's precomputed score matrix), so segments written at different times are scored
together with statistics summed at query time (`rag.index.lexical`).

Files (JSON and .npy, no pickle): `<name>.terms.json` (the terms, sorted) and `<name>.npz`
(offsets into the postings per term, chunk positions, term frequencies, chunk lengths, row ids).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

ARRAYS = ("offsets", "docs", "freqs", "lengths", "row_ids")

Rows = Sequence[tuple[int, Sequence[str]]]
"""(chunk row id, analysed terms) in row id order."""


class Postings:
    def __init__(self, terms: list[str], arrays: dict[str, NDArray[np.int64]]) -> None:
        self.terms = terms
        self._term_ids = {t: i for i, t in enumerate(terms)}
        self.arrays = arrays
        self.offsets, self.docs, self.freqs = arrays["offsets"], arrays["docs"], arrays["freqs"]
        self.lengths, self.row_ids = arrays["lengths"], arrays["row_ids"]

    @classmethod
    def build(cls, rows: Rows) -> Postings:
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
        return cls(terms, arrays)

    @staticmethod
    def files(name: str) -> tuple[str, str]:
        return f"{name}.terms.json", f"{name}.npz"

    @classmethod
    def read(cls, directory: Path, name: str) -> Postings:
        terms_file, arrays_file = cls.files(name)
        try:
            terms = json.loads((directory / terms_file).read_text(encoding="utf-8"))
            with np.load(directory / arrays_file, allow_pickle=False) as stored:
                arrays = {key: np.asarray(stored[key], dtype=np.int64) for key in ARRAYS}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"postings of {directory / name} are unreadable: {exc}", REBUILD_HINT
            ) from exc
        if not isinstance(terms, list) or len(arrays["offsets"]) != len(terms) + 1:
            raise IndexCorruptError(f"postings of {directory / name} are inconsistent", REBUILD_HINT)
        return cls(terms, arrays)

    def write(self, directory: Path, name: str) -> None:
        terms_file, arrays_file = self.files(name)
        (directory / terms_file).write_text(json.dumps(self.terms), encoding="utf-8")
        np.savez(directory / arrays_file, **self.arrays)  # type: ignore[arg-type]

    def of(self, term: str) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
        """(local chunk positions, term frequencies) of the chunks holding `term`, dead or alive."""
        term_id = self._term_ids.get(term)
        if term_id is None:
            return None
        start, end = int(self.offsets[term_id]), int(self.offsets[term_id + 1])
        return self.docs[start:end], self.freqs[start:end]
