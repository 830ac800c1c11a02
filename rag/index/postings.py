"""The BM25 postings of one segment's chunks.

For each term, the chunks (local positions) that contain it and how often, and each chunk's
length in terms and row id. Nothing corpus-wide is baked in (no idf, no average length,
unlike bm25s's precomputed score matrix), so segments written at different times are scored
together with statistics summed at query time (`rag.index.lexical`).

Files (JSON and plain .npy, no pickle): `<name>.terms.json` (the terms, sorted) and one
`<name>.<array>.npy` per array: `offsets` (into the postings, per term), `docs` (chunk
positions) and `freqs` (term frequencies), the two longest, as int32; `lengths` (chunk lengths)
and `rows` (row ids). Reading maps the arrays into memory (`np.load(mmap_mode="r")`) instead of
copying them: opening a segment costs the same at any size, and a query touches only the pages
of its terms' postings. Files under MAP_BYTES are read instead (as fast, and a mapping holds a
file descriptor while its generation is open: an index has many small segments). The files
are immutable once written (a write links or replaces them, never writes into them), and
their checksums are verified before they are read (`rag.index.checksums`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

ARRAYS = ("offsets", "docs", "freqs", "lengths", "row_ids")
MAP_BYTES = 1 << 20
FILE_OF = {"offsets": "offsets", "docs": "docs", "freqs": "freqs", "lengths": "lengths", "row_ids": "rows"}
# Chunk positions are local to a segment and a term's frequency in one chunk is small: int32
# halves the largest arrays (what is read, hashed and cached); the rest stay int64.
DTYPES: dict[str, type[np.signedinteger[Any]]] = {
    "offsets": np.int64,
    "docs": np.int32,
    "freqs": np.int32,
    "lengths": np.int64,
    "row_ids": np.int64,
}

Rows = Sequence[tuple[int, Sequence[str]]]
"""(chunk row id, analysed terms) in row id order."""


class Postings:
    def __init__(self, terms: list[str], arrays: dict[str, NDArray[Any]]) -> None:
        self.terms = terms
        self._term_ids = {t: i for i, t in enumerate(terms)}
        self.arrays = arrays
        self.offsets: NDArray[np.int64] = arrays["offsets"]
        self.docs: NDArray[np.int32] = arrays["docs"]
        self.freqs: NDArray[np.int32] = arrays["freqs"]
        self.lengths: NDArray[np.int64] = arrays["lengths"]
        self.row_ids: NDArray[np.int64] = arrays["row_ids"]

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
        arrays: dict[str, NDArray[Any]] = {
            "offsets": np.searchsorted(term_col[order], np.arange(len(terms) + 1)).astype(np.int64),
            "docs": doc_col[order].astype(np.int32),
            "freqs": freq_col[order].astype(np.int32),
            "lengths": np.array([len(terms_) for _, terms_ in rows], dtype=np.int64),
            "row_ids": np.array([row for row, _ in rows], dtype=np.int64),
        }
        return cls(terms, arrays)

    @staticmethod
    def files(name: str) -> tuple[str, ...]:
        """The terms file, then one file per array (in ARRAYS' order)."""
        return f"{name}.terms.json", *(f"{name}.{FILE_OF[key]}.npy" for key in ARRAYS)

    @classmethod
    def read(cls, directory: Path, name: str) -> Postings:
        """The postings of segment `name`, the large arrays mapped read-only (verify the files first)."""
        terms_file, *array_files = cls.files(name)
        arrays: dict[str, NDArray[Any]] = {}
        try:
            terms = json.loads((directory / terms_file).read_text(encoding="utf-8"))
            for key, file in zip(ARRAYS, array_files, strict=True):
                path = directory / file
                mapped = path.stat().st_size >= MAP_BYTES
                arrays[key] = np.load(path, mmap_mode="r" if mapped else None, allow_pickle=False)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"postings of {directory / name} are unreadable: {exc}", REBUILD_HINT
            ) from exc
        if not _consistent(terms, arrays):
            raise IndexCorruptError(f"postings of {directory / name} are inconsistent", REBUILD_HINT)
        return cls(terms, arrays)

    def write(self, directory: Path, name: str) -> None:
        terms_file, *array_files = self.files(name)
        (directory / terms_file).write_text(json.dumps(self.terms), encoding="utf-8")
        for key, file in zip(ARRAYS, array_files, strict=True):
            np.save(directory / file, np.asarray(self.arrays[key], dtype=DTYPES[key]), allow_pickle=False)

    def of(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.int32]] | None:
        """(local chunk positions, term frequencies) of the chunks holding `term`, dead or alive."""
        term_id = self._term_ids.get(term)
        if term_id is None:
            return None
        start, end = int(self.offsets[term_id]), int(self.offsets[term_id + 1])
        return self.docs[start:end], self.freqs[start:end]


def _consistent(terms: object, arrays: dict[str, NDArray[Any]]) -> bool:
    """Whether the arrays have the shapes and types these terms need."""
    if not isinstance(terms, list) or any(a.ndim != 1 for a in arrays.values()):
        return False
    if any(arrays[key].dtype != DTYPES[key] for key in ARRAYS):
        return False
    offsets = arrays["offsets"]
    postings = int(offsets[-1]) if len(offsets) else -1
    return (
        len(offsets) == len(terms) + 1
        and len(arrays["docs"]) == len(arrays["freqs"]) == postings
        and len(arrays["lengths"]) == len(arrays["row_ids"])
    )
