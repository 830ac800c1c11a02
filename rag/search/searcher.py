"""The passages for a query: retrieval over one index generation, optionally limited by metadata
filters (applied inside retrieval: rag/search/filters.py), and for an answer the neighbouring
chunks of the best documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from rag.documents import Passage
from rag.index.store import Index
from rag.search.filters import AllowedRowsCache, Filters
from rag.search.retrieval import HybridRetriever, Mode
from rag.settings import AnswerSettings, RetrievalSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray


class Searcher:
    def __init__(self, retrieval: RetrievalSettings, answer: AnswerSettings, top_k: int) -> None:
        self._retrieval = retrieval
        self._answer = answer
        self._top_k = top_k
        self._allowed = AllowedRowsCache()

    def allowed(self, index: Index, filters: Filters | None) -> NDArray[np.int64] | None:
        """The chunk rows `filters` lets through (sorted), or None when it lets every row through.
        Raises NotFoundError for doc_ids the index does not hold."""
        if filters is None or not filters.restricts:
            return None
        return self._allowed.get(index, filters)

    def search(
        self,
        index: Index,
        vector: NDArray[np.float32],
        query: str,
        top_k: int | None = None,
        *,
        filters: Filters | None = None,
        mode: Mode | None = None,
    ) -> list[Passage]:
        """The `top_k` best passages, ranked, among the chunks `filters` lets through."""
        hits = self._hits(
            index, vector, query, top_k or self._top_k, allowed=self.allowed(index, filters), mode=mode
        )
        return self._passages(index, hits)

    def _hits(
        self,
        index: Index,
        vector: NDArray[np.float32],
        query: str,
        top_k: int,
        *,
        allowed: NDArray[np.int64] | None,
        mode: Mode | None,
    ) -> list[tuple[int, float]]:
        """The `top_k` best chunk rows with their fused scores, best first."""
        if allowed is not None and not len(allowed):
            return []
        retriever = HybridRetriever(index.vectors, index.lexical, self._retrieval)
        return retriever.retrieve(vector, index.analyzer.search_terms(query), top_k, allowed, mode)

    @staticmethod
    def _passages(index: Index, hits: list[tuple[int, float]], first_rank: int = 1) -> list[Passage]:
        records = index.chunks.passages([row for row, _ in hits])
        return [
            dataclasses.replace(records[row], score=round(score, 6), rank=rank)
            for rank, (row, score) in enumerate(hits, start=first_rank)
        ]

    def evidence_passages(
        self,
        index: Index,
        vector: NDArray[np.float32],
        question: str,
        *,
        across_studies: bool,
        top_k: int | None = None,
        filters: Filters | None = None,
        mode: Mode | None = None,
        quotable: Callable[[Passage], bool] | None = None,
    ) -> list[Passage]:
        """The passages an answer may quote from: the best ones, then the other chunks of the
        best documents (those `filters` lets through). A question across studies takes the
        best passage of each of several. `quotable`: whether a passage can hold an answer at
        all; one that cannot (a keyword list, a funding note) neither takes the place of one
        that can nor makes its paper one of the best, and the ranks count only those kept."""
        k = top_k or self._top_k
        allowed = self.allowed(index, filters)
        if across_studies:
            wide = self.search(index, vector, question, k * 4, filters=filters, mode=mode)
            passages = _best_per_document(_ranked(wide, quotable), max(k, self._answer.max_list_sources))
            return self._with_neighbours(index, passages, len(passages), allowed, quotable)
        # One retrieval of the deeper list; its passages past the first k are read only when
        # the first k are all of one paper (a long PDF, a full-text article): the value asked
        # for may sit in a passage of it that scores below its others.
        hits = self._hits(
            index, vector, question, k * self._answer.single_document_depth, allowed=allowed, mode=mode
        )
        passages, read = self._first_quotable(index, hits, k, quotable)
        if len(hits) > read and len({p.doc_id for p in passages}) == 1:
            deeper = _ranked(self._passages(index, hits[read:]), quotable, first_rank=len(passages) + 1)
            passages += [p for p in deeper if p.doc_id == passages[0].doc_id]
        return self._with_neighbours(index, passages, self._answer.expand_documents, allowed, quotable)

    def _first_quotable(
        self,
        index: Index,
        hits: list[tuple[int, float]],
        k: int,
        quotable: Callable[[Passage], bool] | None,
    ) -> tuple[list[Passage], int]:
        """The first `k` quotable passages of `hits`, ranked from 1, and how many hits were read
        for them (the rows are read only as far as needed)."""
        passages: list[Passage] = []
        read = 0
        while len(passages) < k and read < len(hits):
            batch = hits[read : read + k - len(passages)]
            passages += _ranked(self._passages(index, batch), quotable)
            read += len(batch)
        return _ranked(passages, None), read

    def _with_neighbours(
        self,
        index: Index,
        passages: list[Passage],
        documents: int,
        allowed: NDArray[np.int64] | None,
        quotable: Callable[[Passage], bool] | None,
    ) -> list[Passage]:
        """Add the other chunks of the best `documents` (among `allowed`, when given): the
        sentence naming the study and the sentence holding its result are often in different
        chunks of one abstract."""
        best_documents = list(dict.fromkeys(p.doc_id for p in passages))[:documents]
        seen = {p.row_id for p in passages}
        extra_rows: list[int] = []
        for doc_id in best_documents:
            rows = index.chunks.chunk_rows(doc_id)  # (row id, ordinal), in order
            if allowed is not None:
                kept = np.isin(np.asarray([row for row, _ in rows], dtype=np.int64), allowed)
                rows = [r for r, keep in zip(rows, kept, strict=True) if keep]
            hit_ordinals = [ordinal for row, ordinal in rows if row in seen]
            # The lead chunk (an article's abstract) first, then the chunks nearest the hits.
            nearest = sorted(rows, key=lambda r: (r[1] != 0, min(abs(r[1] - o) for o in hit_ordinals)))
            extra_rows += [row for row, _ in nearest if row not in seen][: self._answer.neighbour_chunks]
        records = index.chunks.passages(extra_rows)
        return passages + _ranked(
            [records[row] for row in extra_rows], quotable, first_rank=len(passages) + 1
        )


def _ranked(
    passages: list[Passage], quotable: Callable[[Passage], bool] | None, first_rank: int = 1
) -> list[Passage]:
    """The `quotable` ones of `passages` (all, when None), ranked in order from `first_rank`."""
    kept = [p for p in passages if quotable is None or quotable(p)]
    return [dataclasses.replace(p, rank=rank) for rank, p in enumerate(kept, start=first_rank)]


def _best_per_document(passages: list[Passage], limit: int) -> list[Passage]:
    best: dict[str, Passage] = {}
    for passage in passages:
        best.setdefault(passage.doc_id, passage)
    return list(best.values())[:limit]
