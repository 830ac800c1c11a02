"""Plain-data views of answers, passages and documents: the shape the HTTP API and `--json` share."""

from __future__ import annotations

from typing import Any

from rag.documents import CITATION_METADATA, Answer, Citation, Document, DocumentSummary, Passage


def metadata_dict(item: Passage | Document | DocumentSummary) -> dict[str, Any]:
    """The fields a citation needs about a document."""
    return {name: getattr(item, name) for name in CITATION_METADATA}


def citation_place(citation: Citation) -> str:
    """Where the quote stands in its paper, as a reader cites it: "Results, p. 2"."""
    passage = citation.passage
    first, last = passage.pages(citation.quote_start, citation.quote_end)
    pages = None if first is None else f"p. {first}" if first == last else f"pp. {first}-{last}"
    return ", ".join(part for part in (passage.section_at(citation.quote_start), pages) if part)


def citation_dict(citation: Citation) -> dict[str, Any]:
    passage = citation.passage
    page_start, page_end = passage.pages(citation.quote_start, citation.quote_end)
    return {
        "marker": citation.marker,
        **metadata_dict(passage),
        "chunk_id": passage.chunk_id,
        "text": passage.text,
        "quote": citation.quote,
        "quote_start": citation.quote_start,
        "quote_end": citation.quote_end,
        "page_start": page_start,
        "page_end": page_end,
        "section": passage.section_at(citation.quote_start),
        "score": citation.score,
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    timings = dict(answer.timings_ms)
    timings.setdefault("total", round(sum(timings.values()), 2))
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "reason": answer.reason,
        "citations": [citation_dict(c) for c in answer.citations],
        "composer": answer.composer,
        "dropped": [{"sentence": d.sentence, "reason": d.reason} for d in answer.dropped],
        "timings_ms": timings,
        "resolved_question": answer.resolved_question,
        "support": (
            {
                "probability": answer.support.probability,
                "model": answer.support.model,
                "ranker": answer.support.ranker,
            }
            if answer.support is not None
            else None
        ),
    }


def passage_dict(passage: Passage) -> dict[str, Any]:
    return {
        "doc_id": passage.doc_id,
        "chunk_id": passage.chunk_id,
        "title": passage.title,
        "text": passage.text,
        "score": passage.score,
    }


def summary_dict(summary: DocumentSummary) -> dict[str, Any]:
    return {**metadata_dict(summary), "chunks": summary.chunks}


def document_dict(document: Document) -> dict[str, Any]:
    return {
        **metadata_dict(document),
        "metadata": document.extra,
        "text": document.text,
        "page_starts": list(document.page_starts),
    }
