"""Request and response bodies of the HTTP API (the edge: pydantic, separate from rag's types)."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rag.documents import FILE_TYPES
from rag.limits import MAX_ASK_TOP_K, MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, MAX_SEARCH_TOP_K
from rag.search.filters import Filters as LibraryFilters
from rag.search.filters import file_type_key

DocId = Annotated[str, Field(min_length=1, max_length=200)]
Year = Annotated[int, Field(ge=1000, le=2999)]
FilterValue = Annotated[str, Field(min_length=1, max_length=500)]
MAX_FILTER_VALUES = 100


class Filters(BaseModel):
    """Which documents (and sections) to search and answer from, applied inside retrieval. Every
    field is optional; a list matches any of its values; the fields together must all match."""

    model_config = ConfigDict(extra="forbid")

    year_from: Year | None = Field(default=None, description="Published in this year or later.")
    year_to: Year | None = Field(
        default=None,
        description="Published in this year or earlier (a document without a year matches no range).",
    )
    journals: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Journal names as GET /facets lists them; case, periods and spacing are ignored.",
    )
    authors: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description='Each names one author: "Bruix", "Bruix J" or "Jordi Bruix" (whole words, any case; '
        "one of them the family name).",
    )
    sections: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description='Section names ("Results", "METHODS"; any case): passages of those sections, and answers '
        "quoting only their sentences.",
    )
    file_types: list[FilterValue] = Field(
        default_factory=list,
        max_length=len(FILE_TYPES) * 2,
        description=f"The type of the file a document was read from: {', '.join(FILE_TYPES)}.",
    )
    doc_ids: list[DocId] = Field(
        default_factory=list, max_length=1000, description="Only these documents (an unknown id is a 404)."
    )

    @field_validator("file_types")
    @classmethod
    def _known_file_types(cls, value: list[str]) -> list[str]:
        unknown = sorted({t for t in value if file_type_key(t) not in FILE_TYPES})
        if unknown:
            raise ValueError(
                f"unknown file type {', '.join(map(repr, unknown))}; use {', '.join(FILE_TYPES)}"
            )
        return value

    @model_validator(mode="after")
    def _ordered_years(self) -> Filters:
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError(f"year_from ({self.year_from}) is after year_to ({self.year_to})")
        return self

    def library(self) -> LibraryFilters:
        """As the library takes them (an empty doc_ids list: no limit)."""
        return LibraryFilters(
            year_from=self.year_from,
            year_to=self.year_to,
            journals=tuple(self.journals),
            authors=tuple(self.authors),
            sections=tuple(self.sections),
            file_types=tuple(self.file_types),
            doc_ids=tuple(self.doc_ids) or None,
        )


def library_filters(filters: Filters | None) -> LibraryFilters | None:
    return None if filters is None else filters.library()


FILTERS_DESCRIPTION = (
    "Metadata filters (docs/api.md). With doc_ids here and at the top level, the ids in both are used."
)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("question", "query", check_fields=False)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain more than whitespace")
        return value


AnswerMode = Literal["extractive", "generative"]


class Turn(Request):
    """An earlier turn of the conversation."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(default=None, max_length=20_000, description="The answer it was given.")
    doc_ids: list[DocId] = Field(
        default_factory=list,
        max_length=50,
        description="The documents its answer cited (citations[].doc_id).",
    )


class AskRequest(Request):
    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain English."
    )
    top_k: int = Field(default=5, ge=1, le=MAX_ASK_TOP_K, description="Passages to retrieve.")
    doc_ids: list[DocId] | None = Field(
        default=None, max_length=1000, description="Only answer from these documents (empty or absent: all)."
    )
    mode: AnswerMode | None = Field(
        default=None,
        description="extractive (quotes the best sentences) or generative (a local model writes the answer; "
        "every sentence is verified against the passages it cites). Absent: RAG_GENERATION__DEFAULT_MODE.",
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="Earlier turns of the conversation, oldest first. A follow-up that refers back "
        '("What about its side effects?", "And in liver cancer?") is read against them; one '
        "that names its own topic is read as asked.",
    )
    filters: Filters | None = Field(default=None, description=FILTERS_DESCRIPTION)

    def all_doc_ids(self) -> list[str]:
        """The doc ids of both lists, each to be checked against the index."""
        return [*(self.doc_ids or []), *(self.filters.doc_ids if self.filters else [])]


class SearchRequest(Request):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    top_k: int = Field(default=5, ge=1, le=MAX_SEARCH_TOP_K)
    doc_ids: list[DocId] | None = Field(default=None, max_length=1000)
    filters: Filters | None = Field(default=None, description=FILTERS_DESCRIPTION)


class DocumentMetadata(BaseModel):
    """What a citation needs about a document (`rag.documents.CITATION_METADATA`)."""

    doc_id: str = Field(description="The document's id: its file's path as a slug, a PMID, or as given.")
    title: str
    authors: str | None = Field(description="As the document gives them.")
    journal: str | None
    year: int | None = Field(description="Year of publication.")
    source: str | None = Field(description="Where it came from: a link (PubMed, DOI, the page) or a note.")


class Citation(DocumentMetadata):
    marker: int = Field(description="The n of [n] in the answer.")
    chunk_id: str
    text: str = Field(description="The whole cited passage.")
    quote: str = Field(description="The quoted sentence: text[quote_start:quote_end].")
    quote_start: int
    quote_end: int
    page_start: int | None = Field(description="The page the quote starts on (paged documents: PDF).")
    page_end: int | None = Field(description="The page it ends on.")
    section: str | None = Field(description="The section of the passage (RESULTS, Methods, ...), when known.")
    score: float


class DroppedSentence(BaseModel):
    sentence: str = Field(description="A generated sentence, as the model wrote it.")
    reason: str = Field(description="Why verification removed it.")


class SupportEstimate(BaseModel):
    probability: float = Field(
        description="How likely the answer is to hold what was asked (calibrated on the development suites)."
    )
    model: str = Field(description="The support model that estimated it: version@digest.")
    ranker: str | None = Field(
        default=None,
        description="The sentence ranker that chose the answer's sentence: version@digest; null when "
        "the hand-set score chose (a list, a question of several parts, or ranking turned off).",
    )


class AskResponse(BaseModel):
    answer: str
    abstained: bool = Field(description="True when the documents do not support an answer.")
    reason: str | None = Field(default=None, description="Why the service abstained, when it did.")
    citations: list[Citation]
    composer: Literal["extractive", "generative", "extractive-fallback"] = Field(
        description="Who wrote the answer; extractive-fallback: no generated sentence survived verification."
    )
    dropped: list[DroppedSentence] = Field(description="Generated sentences that verification removed.")
    timings_ms: dict[str, float]
    resolved_question: str | None = Field(
        default=None,
        description="The question as it was read, when not as typed: a follow-up resolved against the "
        "history, a word the corpus lacks read as the corpus word one typing slip away ('bacteial' as "
        "'bacterial'), or a lay phrase read as the clinical term the corpus uses ('side effects' as "
        "'adverse events').",
    )
    support: SupportEstimate | None = Field(
        default=None, description="For an extractive answer: how likely it holds what was asked."
    )


class SearchResult(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]
    resolved_query: str | None = Field(
        default=None,
        description="The query as it was searched for, when not as typed: read as /ask reads a question "
        "(a misspelling as the corpus word one typing slip away, a lay phrase as the clinical term the "
        "corpus uses).",
    )


class DocumentSummary(DocumentMetadata):
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int


class YearCount(BaseModel):
    value: int | None = Field(description="The year (null: documents without one).")
    count: int


class NameCount(BaseModel):
    value: str | None = Field(description="The journal or file type (null: documents without one).")
    count: int


class Facets(BaseModel):
    """How many documents have each value of the fields filters select on."""

    documents: int = Field(description="Documents in all.")
    years: list[YearCount] = Field(description="Newest first.")
    journals: list[NameCount] = Field(
        description="Most documents first; spellings differing in case are one."
    )
    file_types: list[NameCount] = Field(description="Most documents first.")


class DocumentDetail(DocumentMetadata):
    metadata: dict[str, Any]
    text: str
    page_starts: list[int] = Field(description="Where each page begins in text (empty when not paged).")


class Status(BaseModel):
    status: str
    detail: str | None = None
    pid: int = Field(
        default_factory=os.getpid,
        description="The server process that answered (one of several with RAG_WORKERS > 1).",
    )


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `top_k` or `metadata.pmid`.")
    message: str


class ErrorBody(BaseModel):
    """Every error response: `detail` says what is wrong and, where there is one, the fix."""

    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="For 422: each invalid field.")


DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
MetadataValue = (
    Annotated[str, Field(max_length=2000)] | bool | int | Annotated[float, Field(allow_inf_nan=False)]
)


class DocumentIn(BaseModel):
    """A document given as fields. It is stored as a Markdown file in the upload directory."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str | None = Field(
        default=None,
        pattern=DOC_ID_PATTERN,
        description="Stable id; absent: derived from the title and text, so posting again is a no-op.",
    )
    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=2_000_000, description="The answerable text.")
    authors: str | None = Field(default=None, max_length=2000)
    journal: str | None = Field(default=None, max_length=500)
    year: int | None = Field(default=None, ge=1000, le=2999)
    source: str | None = Field(default=None, max_length=2000, description="A link to the original.")
    metadata: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")], MetadataValue | None] = (
        Field(default_factory=dict, max_length=50, description="Any other fields, kept with the document.")
    )

    @field_validator("title", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain more than whitespace")
        return value

    @field_validator("metadata")
    @classmethod
    def _no_reserved_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"doc_id", "title", "text", "authors", "journal", "year", "source"}
        clashes = sorted(reserved & set(value))
        if clashes:
            raise ValueError(f"{', '.join(clashes)} must be given as top-level fields, not metadata")
        return value

    def record(self) -> dict[str, Any]:
        fields = self.model_dump(exclude={"metadata"}, exclude_none=True)
        return {**self.metadata, **fields}


class WriteResult(BaseModel):
    """What a write did to the index."""

    added: list[str] = Field(description="Documents that were not in the index.")
    updated: list[str] = Field(description="Documents whose old chunks were replaced.")
    removed: list[str]
    unchanged: int = Field(description="Documents that were already indexed as given (a no-op).")
    chunks_added: int
    chunks_removed: int
    generation: int | None = Field(description="The index generation that holds the result.")


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list,
        max_length=100,
        description="Files or directories inside the corpus roots (relative paths: to the first "
        "root). Empty: the whole corpus.",
    )
    prune: bool | None = Field(
        default=None,
        description="Remove indexed documents not found under the paths. Default: only when "
        "ingesting the whole corpus.",
    )


class SkippedFile(BaseModel):
    path: str
    reason: str


class FileOutcome(BaseModel):
    path: str
    status: Literal["loaded", "skipped", "failed"]
    reason: str | None = Field(None, description="Why the file was skipped or failed.")
    documents: int = Field(0, description="Documents loaded from the file.")
    format: str | None = Field(
        None, description="The loader that read it: text, jsonl, pdf, html, pubmed-xml, medline."
    )


class IngestResponse(WriteResult):
    documents_seen: int
    skipped: list[SkippedFile] = Field(description="Files (or records in them) not loaded, with the reason.")
    files: list[FileOutcome] = Field(description="What happened to each file.")
