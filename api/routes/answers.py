"""POST /ask and POST /search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import AskRequest, AskResponse, ErrorBody, SearchRequest, SearchResponse
from rag.serialize import answer_dict, passage_dict

router = APIRouter(tags=["answers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "An unknown doc_id"},
    413: {"model": ErrorBody, "description": "The body is larger than the limit"},
    503: {"model": ErrorBody, "description": "The index is not loaded yet"},
}


@router.post("/ask", response_model=AskResponse, responses=ERRORS)
def ask(body: AskRequest, pipeline: PipelineDep) -> AskResponse:
    """Answer a question from the documents; every claim carries a [n] citation."""
    answer = pipeline.ask(body.question, top_k=body.top_k, doc_ids=body.doc_ids)
    return AskResponse.model_validate(answer_dict(answer))


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search(body: SearchRequest, pipeline: PipelineDep) -> SearchResponse:
    """The passages retrieved for a query, best first."""
    passages = pipeline.search(body.query, top_k=body.top_k, doc_ids=body.doc_ids)
    return SearchResponse.model_validate({"results": [passage_dict(p) for p in passages]})
