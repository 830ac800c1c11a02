"""Reading the collection: one document, a page of the list, example questions."""

from __future__ import annotations

from rag.documents import Document, DocumentSummary
from rag.errors import NotFoundError
from rag.index.handle import IndexHandle


class Library:
    def __init__(self, handle: IndexHandle) -> None:
        self._handle = handle

    def document(self, doc_id: str) -> Document:
        doc = self._handle.current().chunks.document(doc_id)
        if doc is None:
            raise NotFoundError(f"no document with doc_id {doc_id!r}", "GET /documents lists the known ids")
        return doc

    def page(self, limit: int, offset: int = 0) -> tuple[list[DocumentSummary], int]:
        """Up to `limit` documents from `offset`, in id order, and how many there are in all."""
        summaries = self._handle.current().chunks.list_documents()
        return summaries[offset : offset + limit], len(summaries)

    def example_questions(self, limit: int = 4) -> list[str]:
        """Questions the corpus can answer, one per document spread over the collection."""
        documents = self._handle.current().chunks.list_documents()
        picked = documents[:: max(1, len(documents) // max(limit, 1))][:limit]
        return [f"What did the study “{_shortened(d.title)}” find?" for d in picked]


def _shortened(title: str, limit: int = 60) -> str:
    title = title.strip().rstrip(".")
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
