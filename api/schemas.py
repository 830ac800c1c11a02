"""Request and response bodies of the HTTP API (the edge: pydantic, separate from rag's types)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("question", "query", check_fields=False)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain more than whitespace")
        return value


class AskRequest(Request):
    question: str = Field(min_length=1, max_length=2000, description="The question, in plain English.")
    top_k: int = Field(default=5, ge=1, le=20, description="Passages to retrieve.")
    doc_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Only answer from these documents (empty or absent: all)."
    )


class SearchRequest(Request):
    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=50)
    doc_ids: list[str] | None = Field(default=None, max_length=1000)


class DocumentMetadata(BaseModel):
    """What a citation needs about a document."""

    doc_id: str
    title: str
    authors: str | None
    journal: str | None
    year: int | None
    source: str | None


class Citation(DocumentMetadata):
    marker: int = Field(description="The n of [n] in the answer.")
    chunk_id: str
    text: str = Field(description="The whole cited passage.")
    quote: str = Field(description="The quoted sentence: text[quote_start:quote_end].")
    quote_start: int
    quote_end: int
    score: float


class AskResponse(BaseModel):
    answer: str
    abstained: bool = Field(description="True when the documents do not support an answer.")
    reason: str | None = Field(default=None, description="Why the service abstained, when it did.")
    citations: list[Citation]
    timings_ms: dict[str, float]


class SearchResult(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]


class DocumentSummary(DocumentMetadata):
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int


class DocumentDetail(DocumentMetadata):
    metadata: dict[str, Any]
    text: str


class Status(BaseModel):
    status: str
    detail: str | None = None


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None
