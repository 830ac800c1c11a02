"""GET /health, /ready and /stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import PipelineDep, StateDep
from api.schemas import Status

router = APIRouter(tags=["status"])


@router.get("/health", response_model=Status)
def health() -> Status:
    """Liveness: the process answers."""
    return Status(status="ok")


@router.get("/ready", response_model=Status, responses={503: {"model": Status}})
def ready(state: StateDep) -> Any:
    """Readiness: 200 once the model and index are loaded, 503 (with the reason) before."""
    damage = None
    if state.pipeline is not None:
        _ = state.pipeline.index  # opens a generation another process published, noting damage
        damage = state.pipeline.reload_error
    if state.ready and damage is None:
        return Status(status="ready")
    body = (
        Status(status="damaged", detail=damage) if damage else Status(status=state.phase, detail=state.error)
    )
    return JSONResponse(status_code=503, content=body.model_dump(), headers={"Retry-After": "5"})


@router.get("/examples")
def examples(pipeline: PipelineDep, limit: Annotated[int, Query(ge=1, le=20)] = 4) -> dict[str, list[str]]:
    """Example questions drawn from the corpus (one per document, spread over the collection)."""
    return {"questions": pipeline.example_questions(limit)}


@router.get("/stats")
def stats(pipeline: PipelineDep) -> dict[str, Any]:
    """Documents, chunks, model and index type."""
    return pipeline.stats()
