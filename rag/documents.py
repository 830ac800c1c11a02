"""The core value types: documents, chunks, sentences, retrieved passages and answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Metadata fields every citation carries; anything else a document declares goes to `extra`.
CITATION_FIELDS = ("authors", "journal", "year", "source")


@dataclass(frozen=True)
class Document:
    """One publication: its answerable text and the metadata a citation needs."""

    doc_id: str
    title: str
    text: str
    authors: str | None = None
    journal: str | None = None
    year: int | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: str | None = None

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes (text or metadata)."""
        payload = {
            "title": self.title,
            "text": self.text,
            **{name: getattr(self, name) for name in CITATION_FIELDS},
            "extra": self.extra,
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Span:
    """A sentence inside a chunk: offsets into the chunk's text, plus its section label."""

    start: int
    end: int
    section: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; `text == document.text[start:end]`."""

    chunk_id: str
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    embed_text: str
    sentences: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with what a citation needs about its document."""

    row_id: int
    chunk_id: str
    doc_id: str
    text: str
    title: str
    authors: str | None
    journal: str | None
    year: int | None
    source: str | None
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    marker: int
    passage: Passage
    quote: str
    quote_start: int
    quote_end: int
    score: float


@dataclass(frozen=True)
class Dropped:
    """A generated sentence that verification removed, and why."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    timings_ms: dict[str, float]
    reason: str | None = None
    composer: str = "extractive"
    dropped: tuple[Dropped, ...] = ()
