"""The core value types: documents, chunks, sentences, retrieved passages and answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# Metadata fields every citation carries; anything else a document declares goes to `extra`.
CITATION_FIELDS = ("authors", "journal", "year", "source")
# What a citation shows about its document (the API's DocumentMetadata has these fields).
CITATION_METADATA = ("doc_id", "title", *CITATION_FIELDS)


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
    page_starts: tuple[int, ...] = ()
    """Where each page begins in `text` (page n at page_starts[n - 1]); empty when not paged."""
    sections: tuple[tuple[int, str], ...] = ()
    """(offset, name) where each named section begins (HTML headings); empty when the text marks its
    own sections with labels such as "RESULTS:"."""

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes (text or metadata)."""
        payload = {
            "title": self.title,
            "text": self.text,
            **{name: getattr(self, name) for name in CITATION_FIELDS},
            "extra": self.extra,
            "page_starts": list(self.page_starts),
            "sections": [list(s) for s in self.sections],
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
    sections: tuple[tuple[int, str | None], ...] = ()
    """(offset in `text`, section name) where each section the chunk touches begins; the first at 0."""
    page_breaks: tuple[tuple[int, int], ...] = ()
    """(offset in `text`, page number) where each page the chunk touches begins; the first at 0."""


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
    sections: tuple[tuple[int, str | None], ...] = ()
    page_breaks: tuple[tuple[int, int], ...] = ()

    def pages(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The first and last page of text[start:end] (None, None when the document has no pages)."""
        return pages_of(self.page_breaks, start, end)

    def section_at(self, offset: int) -> str | None:
        """The section that text[offset] belongs to (None when the document names none)."""
        return next((name for start, name in reversed(self.sections) if start <= offset), None)


def pages_of(page_breaks: tuple[tuple[int, int], ...], start: int, end: int) -> tuple[int | None, int | None]:
    if not page_breaks:
        return None, None
    first = last = page_breaks[0][1]
    for offset, page in page_breaks:
        if offset <= start:
            first = page
        if offset < max(end, start + 1):
            last = page
    return first, last


def page_breaks(page_starts: tuple[int, ...], start: int, end: int) -> tuple[tuple[int, int], ...]:
    """Where the pages of document text[start:end] begin, as (offset from start, page number)."""
    if not page_starts:
        return ()
    first = max((n for n, offset in enumerate(page_starts, start=1) if offset <= start), default=1)
    later = [(offset - start, n) for n, offset in enumerate(page_starts, start=1) if start < offset < end]
    return ((0, first), *later)


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
class Support:
    """How likely an answer is to hold what was asked, by the named support model; and the
    sentence ranker that chose its sentence (None: the hand-set score chose)."""

    probability: float
    model: str
    ranker: str | None = None


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
    resolved_question: str | None = None
    """A follow-up question as read against the conversation (None: read as asked)."""
    support: Support | None = None
    """The support model's probability for an extractive answer (None: abstained or generated)."""


MULTI_RECORD_SUFFIXES = (".jsonl", ".xml", ".nbib", ".medline", ".txt")
# A document's file type (what a `file_types` filter names): its file's suffix, one spelling each.
FILE_TYPES = ("html", "jsonl", "md", "medline", "pdf", "txt", "xml")
FILE_TYPE_OF_SUFFIX = {"htm": "html", "xhtml": "html", "markdown": "md", "nbib": "medline"}


def source_file(origin: str) -> str:
    """The file a document was read from (the origin of one record of a JSONL file or a PubMed
    export ends in `:number`)."""
    head, colon, line = origin.rpartition(":")
    return head if colon and line.isdigit() and head.lower().endswith(MULTI_RECORD_SUFFIXES) else origin


def file_type(origin: str | None) -> str | None:
    """The type of the file a document was read from, by its suffix ("pdf", "html", "md", ...:
    FILE_TYPES); None when it has no file (or no suffix)."""
    if not origin:
        return None
    suffix = PurePath(source_file(origin)).suffix.lower().lstrip(".")
    return FILE_TYPE_OF_SUFFIX.get(suffix, suffix) or None


@dataclass(frozen=True)
class SentenceRecord:
    chunk_row: int
    start: int
    end: int
    section: str | None
    vector: NDArray[np.float32]


@dataclass(frozen=True)
class DocumentSummary:
    doc_id: str
    title: str
    authors: str | None
    journal: str | None
    year: int | None
    source: str | None
    chunks: int


@dataclass(frozen=True)
class DocumentFacts:
    """What filters and facets read of a document: its metadata, never its text."""

    doc_row: int
    """The chunk store's row of the document (its chunks hang off it)."""
    doc_id: str
    year: int | None
    journal: str | None
    authors: str | None
    path: str | None = None
    """Read only when asked for (the file type needs it)."""

    @property
    def file_type(self) -> str | None:
        return file_type(self.path)


MINHASH_BANDS = 32  # 4 rows each: pairs at Jaccard 0.85 become candidates with probability > 0.999


@dataclass(frozen=True)
class Fingerprint:
    doc_id: str
    identifiers: tuple[str, ...]
    """"pmid:<n>" and "doi:<lower-cased DOI>" where the document has them."""
    minhash: tuple[int, ...]
    """The MinHash signature of the text's word 5-grams; empty for a text under 5 words."""

    def to_json(self) -> dict[str, list[str] | list[int]]:
        return {"identifiers": list(self.identifiers), "minhash": list(self.minhash)}

    @classmethod
    def from_json(cls, doc_id: str, data: dict[str, list[object]]) -> Fingerprint:
        return cls(
            doc_id,
            tuple(str(i) for i in data.get("identifiers", [])),
            tuple(int(str(v)) for v in data.get("minhash", [])),
        )

    def bands(self) -> list[tuple[int, tuple[int, ...]]]:
        """The signature cut into MINHASH_BANDS bands: two texts sharing any band are candidates."""
        if not self.minhash:
            return []
        rows = len(self.minhash) // MINHASH_BANDS
        return [(band, self.minhash[band * rows : (band + 1) * rows]) for band in range(MINHASH_BANDS)]

    def lookup_keys(self) -> list[int]:
        """64-bit keys under which the store finds the documents that may be the same article:
        one per identifier and one per signature band (a shared key makes a candidate; the
        signatures then decide)."""
        parts = [f"id:{identifier}" for identifier in self.identifiers]
        parts += [f"band:{band}:{','.join(map(str, rows))}" for band, rows in self.bands()]
        return [
            int.from_bytes(hashlib.blake2b(p.encode(), digest_size=8).digest(), "big", signed=True)
            for p in parts
        ]
