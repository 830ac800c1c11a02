"""An OpenAI-compatible face: POST /v1/chat/completions and GET /v1/models.

Chat front-ends and agent tools that speak the chat-completions protocol can use the service
unchanged. The last user message is answered with the service's cited answer; the model name
picks the composer (`cited-rag`: the configured default, `cited-rag-extractive`,
`cited-rag-generative`). The structured citations travel in an extra `citations` field of the
message (and of the last streamed delta); an extra `filters` field of the request takes the
metadata filters of POST /ask. A streamed answer is sent sentence by sentence once
it is verified: a chat client cannot take back text it has shown, so unverified tokens are
never sent here (POST /ask/stream streams them, with the verified answer as its last event).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import MetricsDep, PipelineDep
from api.errors import status_of
from api.schemas import ErrorBody, Filters, library_filters
from api.streaming import answer_events
from rag.answer.asker import AnswerListener, AnswerMode
from rag.answer.followup import Turn
from rag.documents import Answer
from rag.errors import RagError
from rag.limits import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS
from rag.serialize import citation_dict
from rag.text import split_sentences

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODELS: dict[str, AnswerMode | None] = {
    "cited-rag": None,
    "cited-rag-extractive": "extractive",
    "cited-rag-generative": "generative",
}
CREATED = 1_764_460_800  # when these model names were introduced (2025-11-30), as OpenAI lists it


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=50)
    content: str | list[dict[str, Any]] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Clients send many optional fields (temperature, n, stream_options, ...): they are accepted
    # and ignored, since the answer is made by retrieval and verification, not sampling.
    model_config = ConfigDict(extra="allow")
    model: str = Field(default="cited-rag", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    filters: Filters | None = Field(
        default=None, description="An extra field: the metadata filters of POST /ask (docs/api.md)."
    )


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIErrorDetail | None = Field(
        default=None,
        description="OpenAI's error shape; absent when the body could not even be parsed (then only detail).",
    )
    detail: str


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "text/event-stream": {}},
        "description": "A chat.completion object, or with `stream` chat.completion.chunk events ending in "
        "`data: [DONE]`; the message (and the last delta) carries `citations`, `abstained` and `composer`.",
    },
    400: {"model": OpenAIErrorBody, "description": "No user question, or generative without a model"},
    404: {"model": OpenAIErrorBody, "description": "An unknown model name"},
    503: {"model": ErrorBody, "description": "The index is not loaded yet"},
}


def openai_error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    """The error shape OpenAI clients read (`error.message`), plus this API's usual `detail`."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}, "detail": message}
    return JSONResponse(status_code=status, content=body)


@router.get("/models")
def models(pipeline: PipelineDep) -> dict[str, Any]:
    """The model names /v1/chat/completions accepts now: the generative one only with a local
    generative model configured."""
    generative = pipeline.llm is not None
    names = [name for name, mode in MODELS.items() if mode != "generative" or generative]
    data = [{"id": name, "object": "model", "created": CREATED, "owned_by": "cited-rag"} for name in names]
    return {"object": "list", "data": data}


@router.post("/chat/completions", response_model=None, responses=RESPONSES)
async def chat_completions(
    body: ChatRequest, pipeline: PipelineDep, metrics: MetricsDep
) -> JSONResponse | StreamingResponse:
    """Answer the last user message with a cited answer (OpenAI chat-completions protocol)."""
    if body.model not in MODELS:
        message = f"unknown model {body.model!r}; GET /v1/models lists them"
        return openai_error(404, message, "not_found_error")
    questions = [m.text.strip() for m in body.messages if m.role == "user" and m.text.strip()]
    if not questions:
        return openai_error(400, "messages hold no user message with text to answer")
    question = questions[-1]
    if len(question) > MAX_QUESTION_CHARS:
        return openai_error(400, f"the last user message is longer than {MAX_QUESTION_CHARS} characters")
    mode = MODELS[body.model]
    history = conversation(body.messages)
    filters = library_filters(body.filters)
    try:
        if (mode or pipeline.settings.generation.default_mode) == "generative":
            pipeline.require_llm()
        if filters is not None and filters.doc_ids:
            await asyncio.to_thread(pipeline.check_documents, filters.doc_ids)
        if not body.stream:
            answer = await asyncio.to_thread(
                pipeline.ask, question, filters=filters, answer_mode=mode, history=history
            )
            return JSONResponse(completion(metrics.answered(answer), body.model))
    except RagError as exc:
        return openai_error(status_of(exc), str(exc))

    def ask(listener: AnswerListener) -> Answer:
        answer = pipeline.ask(question, filters=filters, answer_mode=mode, listener=listener, history=history)
        return metrics.answered(answer)

    return StreamingResponse(chunks(ask, body.model), media_type="text/event-stream")


def conversation(messages: list[ChatMessage]) -> list[Turn]:
    """The earlier turns: each user message before the last, with the assistant's reply to it
    and the documents that reply cited (when the client sends our `citations` back)."""
    turns: list[Turn] = []
    last_user = max(i for i, m in enumerate(messages) if m.role == "user" and m.text.strip())
    for position, message in enumerate(messages[:last_user]):
        if message.role != "user" or not message.text.strip():
            continue
        reply = next((m for m in messages[position + 1 : last_user] if m.role in {"assistant", "user"}), None)
        answer: str | None = None
        doc_ids: tuple[str, ...] = ()
        if reply is not None and reply.role == "assistant":
            answer = reply.text[:20_000] or None
            cited = (reply.model_extra or {}).get("citations")
            if isinstance(cited, list):
                doc_ids = tuple(
                    str(c["doc_id"])
                    for c in cited[:50]
                    if isinstance(c, dict) and isinstance(c.get("doc_id"), str)
                )
        turns.append(Turn(message.text.strip()[:MAX_QUESTION_CHARS], answer, doc_ids))
    return turns[-MAX_HISTORY_TURNS:]


def completion(answer: Answer, model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer.answer, **extras(answer)}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [citation_dict(c) for c in answer.citations],
        "abstained": answer.abstained,
        "composer": answer.composer,
    }


async def chunks(ask: Callable[[AnswerListener], Answer], model: str) -> AsyncIterator[str]:
    """chat.completion.chunk events: the role, the verified answer by sentence, the citations."""
    identity: dict[str, Any] = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk"}
    identity |= {"created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps({**identity, 'choices': [choice]}, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for event in answer_events(ask):
        if event.kind == "error":
            error = {"message": event.data["detail"], "type": "server_error", "code": event.data["status"]}
            yield f"data: {json.dumps({'error': error})}\n\n"
            return
        if event.kind == "final":
            answer: Answer = event.data
            spans = split_sentences(answer.answer)
            for number, span in enumerate(spans):
                text = answer.answer[span.start : span.end]
                yield chunk({"content": text if number == 0 else f" {text}"})
            yield chunk(extras(answer), "stop")
    yield "data: [DONE]\n\n"
