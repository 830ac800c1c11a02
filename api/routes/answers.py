"""POST /ask, POST /ask/stream (Server-Sent Events) and POST /search."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import MetricsDep, PipelineDep
from api.schemas import AskRequest, AskResponse, ErrorBody, SearchRequest, SearchResponse, library_filters
from api.streaming import answer_events
from rag.answer.asker import AnswerListener
from rag.answer.followup import Turn
from rag.documents import Answer
from rag.serialize import answer_dict, passage_dict

router = APIRouter(tags=["answers"])
STREAM_EVENTS = (
    "`text/event-stream`, in this order: `citations` (the retrieved passages the answer may cite, as "
    "/search gives them plus each document's authors, journal, year and source); "
    "then the answer as it is written: `sentence` events (extractive) or `token` events (generative, "
    "before verification); then `final`, the complete response exactly as POST /ask returns it, "
    "verified. An `error` event `{detail, status}` replaces `final` if answering fails."
)
# Proxies must pass each event on at once.
NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A generative answer was asked for and no model is configured"},
    404: {"model": ErrorBody, "description": "An unknown doc_id (top level or in filters)"},
    413: {"model": ErrorBody, "description": "The body is larger than the limit"},
    503: {"model": ErrorBody, "description": "The index is not loaded yet"},
}


@router.post("/ask", response_model=AskResponse, responses=ERRORS)
def ask(body: AskRequest, pipeline: PipelineDep, metrics: MetricsDep) -> AskResponse:
    """Answer a question from the documents; every claim carries a [n] citation."""
    answer = pipeline.ask(
        body.question,
        top_k=body.top_k,
        doc_ids=body.doc_ids,
        filters=library_filters(body.filters),
        answer_mode=body.mode,
        history=history_of(body),
    )
    metrics.answered(answer)
    return AskResponse.model_validate(answer_dict(answer))


def history_of(body: AskRequest) -> list[Turn]:
    return [Turn(t.question, t.answer, tuple(t.doc_ids)) for t in body.history]


@router.post(
    "/ask/stream",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": STREAM_EVENTS}},
    response_class=StreamingResponse,
)
async def ask_stream(body: AskRequest, pipeline: PipelineDep, metrics: MetricsDep) -> StreamingResponse:
    """The answer as it is made, as Server-Sent Events (see the 200 response)."""
    # Refusals that need no answering are plain HTTP errors, before the stream starts.
    if (body.mode or pipeline.settings.generation.default_mode) == "generative":
        pipeline.require_llm()
    if body.all_doc_ids():
        await asyncio.to_thread(pipeline.check_documents, body.all_doc_ids())

    def answer(listener: AnswerListener) -> Answer:
        answer = pipeline.ask(
            body.question,
            top_k=body.top_k,
            doc_ids=body.doc_ids,
            filters=library_filters(body.filters),
            answer_mode=body.mode,
            listener=listener,
            history=history_of(body),
        )
        return metrics.answered(answer)

    async def stream() -> AsyncIterator[str]:
        async for event in answer_events(answer):
            data = answer_dict(event.data) if event.kind == "final" else event.data
            yield f"event: {event.kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers=NO_BUFFERING)


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search(body: SearchRequest, pipeline: PipelineDep) -> SearchResponse:
    """The passages retrieved for a query, best first."""
    query = pipeline.read(body.query)
    passages = pipeline.search(
        query, top_k=body.top_k, doc_ids=body.doc_ids, filters=library_filters(body.filters)
    )
    return SearchResponse.model_validate(
        {
            "results": [passage_dict(p) for p in passages],
            "resolved_query": query if query != body.query else None,
        }
    )
