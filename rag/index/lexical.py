"""BM25 over chunks (bm25s), saved as JSON + .npy files: no pickle anywhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

ROW_IDS_FILE = "row_ids.json"
# Recorded in the manifest: a change to the analyzer needs a rebuild.
ANALYZER = {
    "library": "bm25s",
    "method": "lucene",
    "k1": 1.5,
    "b": 0.75,
    "stopwords": "lucene-en",
    "stemmer": "snowball-en",
    "abbreviations": "expanded",
}


class BM25Index:
    def __init__(self, retriever: bm25s.BM25 | None, row_ids: NDArray[np.int64]) -> None:
        self._retriever = retriever
        self._row_ids = row_ids
        self._position = {int(r): i for i, r in enumerate(row_ids.tolist())}

    @classmethod
    def build(cls, rows: list[tuple[int, list[str]]]) -> BM25Index:
        """BM25 over each row's terms (`rag.text.analyzer.Analyzer.terms`)."""
        row_ids = np.array([r for r, _ in rows], dtype=np.int64)
        if not rows:
            return cls(None, row_ids)
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        retriever = bm25s.BM25(method=ANALYZER["method"], k1=ANALYZER["k1"], b=ANALYZER["b"])
        retriever.index([terms for _, terms in rows], show_progress=False)
        return cls(retriever, row_ids)

    @classmethod
    def read(cls, directory: Path) -> BM25Index:
        ids_file = directory / ROW_IDS_FILE
        try:
            row_ids = np.array(json.loads(ids_file.read_text(encoding="utf-8")), dtype=np.int64)
            if len(row_ids) == 0:
                return cls(None, row_ids)
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            retriever = bm25s.BM25.load(str(directory), allow_pickle=False, show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"{directory} is not a readable BM25 index: {exc}", REBUILD_HINT) from exc
        return cls(retriever, row_ids)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._retriever is not None:
            self._retriever.save(str(directory), allow_pickle=False, show_progress=False)
        (directory / ROW_IDS_FILE).write_text(json.dumps(self._row_ids.tolist()), encoding="utf-8")

    @property
    def size(self) -> int:
        return len(self._row_ids)

    def search(
        self, query: Sequence[str], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Chunks ranked by BM25 score for the query's terms; chunks that match none are left out."""
        if self._retriever is None or k <= 0:
            return []
        query_terms = [t for t in query if t in self._retriever.vocab_dict]
        if not query_terms:
            return []
        scores = np.asarray(self._retriever.get_scores(query_terms), dtype=np.float32)
        if allowed is not None:
            mask = np.zeros_like(scores)
            for row_id in allowed:
                position = self._position.get(int(row_id))
                if position is not None:
                    mask[position] = 1.0
            scores = scores * mask
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(int(self._row_ids[i]), float(scores[i])) for i in ranked if scores[i] > 0]
