"""The service over MCP (the Model Context Protocol), for agents and editors: the tools `ask`,
`search`, `get_document` and `list_documents`, and every document as a resource
(`document://{doc_id}`).

Each tool calls the HTTP route behind it (`api.routes`) with the request body that route
validates, so its result is the object the route returns: `ask`'s citations are `/ask`'s.
`rag mcp` serves this over stdio (`api.cli`); the running service at `/mcp` (`api.mcp_http`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import Resource, ToolAnnotations
from pydantic import Field, ValidationError

from api.metrics import ServiceMetrics
from api.routes import answers, documents
from api.schemas import (
    AnswerMode,
    AskRequest,
    AskResponse,
    DocId,
    DocumentDetail,
    DocumentList,
    Filters,
    SearchRequest,
    SearchResponse,
)
from api.state import ServiceState
from rag.errors import NotFoundError, RagError
from rag.limits import MAX_ASK_TOP_K, MAX_QUESTION_CHARS, MAX_SEARCH_TOP_K
from rag.pipeline import Pipeline

SERVER_NAME = "cited-rag"
DOCUMENT_URI = "document://{doc_id}"
MAX_LISTED_RESOURCES = 1000  # resources/list names at most this many documents; list_documents pages
DOCUMENT_CHARS = 20_000  # get_document's default slice of the text: a paper's worth of context, not a book
MAX_DOCUMENT_CHARS = 200_000
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
INSTRUCTIONS = (
    "Answers questions from a collection of scientific papers. Every answer quotes the sentences "
    "it comes from: each [n] in `answer` is `citations[n-1]`, whose `quote` is "
    "`text[quote_start:quote_end]` of the cited passage, with its document, title and page. "
    "`abstained` is true when the papers do not support an answer; do not answer from elsewhere then."
)

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="In plain English.")]
Mode = Annotated[
    AnswerMode | None,
    Field(description="extractive (quotes sentences), generative (a local model writes; verified)."),
]
PipelineSource = Callable[[], Pipeline]
"""Gives the pipeline to answer from, or raises RagError saying why there is none yet."""


def scope(filters: Filters | None) -> dict[str, Any]:
    """The request fields `filters` sets: the one place the tools' filters reach the pipeline.
    They are the HTTP API's `filters` object (api.schemas.Filters), validated the same way."""
    return {"filters": filters} if filters is not None else {}


class DocumentPage(DocumentDetail):
    """A document as GET /documents/{doc_id} gives it, its text cut to `max_chars` from `offset`."""

    offset: int = Field(description="Where `text` begins in the document's text.")
    total_chars: int = Field(description="The length of the whole text.")
    next_offset: int | None = Field(description="The offset of the rest of the text (null: none left).")


class LibraryServer(MCPServer):
    """MCPServer whose resources/list also names the indexed documents, as they are now."""

    def __init__(self, pipeline_of: PipelineSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_of = pipeline_of

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        with _reading("the document list"):
            page = await anyio.to_thread.run_sync(
                lambda: documents.list_documents(self.pipeline_of(), MAX_LISTED_RESOURCES, 0)
            )
        return listed + [
            Resource(
                uri=DOCUMENT_URI.format(doc_id=summary.doc_id),
                name=summary.doc_id,
                title=summary.title,
                description=_cited_as(summary.authors, summary.journal, summary.year),
                mime_type="application/json",
            )
            for summary in page.documents
        ]


def build_server(pipeline_of: PipelineSource, metrics: ServiceMetrics) -> LibraryServer:
    """The MCP server over the pipeline `pipeline_of` gives at each call; its answers are
    counted in `metrics` (the app's, over HTTP)."""
    # WARNING: MCPServer configures the root logger when nothing has (rag's commands have).
    server = LibraryServer(
        pipeline_of, name=SERVER_NAME, instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )

    @server.tool(annotations=READ_ONLY)
    def ask(
        question: Question,
        top_k: Annotated[int, Field(ge=1, le=MAX_ASK_TOP_K, description="Passages to retrieve.")] = 5,
        mode: Mode = None,
        filters: Filters | None = None,
    ) -> AskResponse:
        """Answer a question from the documents: the same response as POST /ask. Each [n] in the
        answer is citations[n-1]: the quoted sentence, its offsets in the passage, the document
        id, title and pages. abstained: the documents do not support an answer."""
        with _calling():
            body = AskRequest(question=question, top_k=top_k, mode=mode, **scope(filters))
            return answers.ask(body, pipeline_of(), metrics)

    @server.tool(annotations=READ_ONLY)
    def search(
        query: Question,
        top_k: Annotated[int, Field(ge=1, le=MAX_SEARCH_TOP_K, description="Passages to list.")] = 5,
        filters: Filters | None = None,
    ) -> SearchResponse:
        """The passages retrieved for a query, best first, with their scores: POST /search."""
        with _calling():
            body = SearchRequest(query=query, top_k=top_k, **scope(filters))
            return answers.search(body, pipeline_of())

    @server.tool(annotations=READ_ONLY)
    def list_documents(
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
        offset: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0,
    ) -> DocumentList:
        """The indexed documents with their citation metadata: GET /documents."""
        with _calling():
            return documents.list_documents(pipeline_of(), limit, offset)

    @server.tool(annotations=READ_ONLY)
    def get_document(
        doc_id: DocId,
        offset: Annotated[int, Field(ge=0, description="Where in the text to start.")] = 0,
        max_chars: Annotated[int, Field(ge=1, le=MAX_DOCUMENT_CHARS)] = DOCUMENT_CHARS,
    ) -> DocumentPage:
        """One document: its metadata and up to max_chars of its text from offset (next_offset
        reads on), as GET /documents/{doc_id} gives it."""
        with _calling():
            return page_of(documents.get_document(doc_id, pipeline_of()), offset, max_chars)

    @server.resource(DOCUMENT_URI, name="document", mime_type="application/json")
    def document(doc_id: str) -> str:
        """A document, its metadata and whole text: the JSON of GET /documents/{doc_id}."""
        with _reading(f"document {doc_id!r}"):
            return documents.get_document(doc_id, pipeline_of()).model_dump_json()

    return server


def serve_stdio(load: Callable[[], Pipeline]) -> None:
    """`rag mcp`: load the pipeline, then serve MCP over stdin and stdout until the client
    closes them. Stdout carries the protocol alone: whatever loading writes there goes to
    stderr instead (the SDK diverts it the same way while it serves)."""
    with _stdout_to_stderr():
        pipeline = load()
    try:
        # Counted in this process only (no /metrics to read them over stdio).
        metrics = ServiceMetrics(ServiceState(pipeline=pipeline, phase="ready"))
        build_server(lambda: pipeline, metrics).run("stdio")
    finally:
        pipeline.close()


def page_of(detail: DocumentDetail, offset: int, max_chars: int) -> DocumentPage:
    total = len(detail.text)
    end = min(offset + max_chars, total)
    return DocumentPage(
        **detail.model_dump(exclude={"text"}),
        text=detail.text[offset:end],
        offset=offset,
        total_chars=total,
        next_offset=end if end < total else None,
    )


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile, for Python and native code alike."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def _calling() -> Iterator[None]:
    """A library error or an invalid request is the tool's answer (is_error, with the reason)."""
    try:
        yield
    except RagError as exc:
        raise ToolError(str(exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"invalid request: {problems}") from exc


@contextmanager
def _reading(what: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except RagError as exc:
        raise ResourceError(f"cannot read {what}: {exc}") from exc


def _cited_as(authors: str | None, journal: str | None, year: int | None) -> str | None:
    return ", ".join(str(part) for part in (authors, journal, year) if part) or None
