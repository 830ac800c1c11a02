"""Dependencies the routes ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.jobs import JobStore
from api.metrics import ServiceMetrics
from api.settings import ServerSettings
from api.state import ServiceState
from rag.ingest.corpus import DocumentWriter
from rag.pipeline import Pipeline


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def get_pipeline(state: Annotated[ServiceState, Depends(get_state)]) -> Pipeline:
    if state.pipeline is None:
        detail = (
            f"not ready: {state.error}" if state.error else f"not ready yet ({state.phase}); retry shortly"
        )
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "5"})
    return state.pipeline


def get_writer(
    state: Annotated[ServiceState, Depends(get_state)], pipeline: Annotated[Pipeline, Depends(get_pipeline)]
) -> DocumentWriter:
    return state.writer or pipeline


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


def get_jobs(request: Request) -> JobStore:
    jobs: JobStore = request.app.state.jobs
    return jobs


StateDep = Annotated[ServiceState, Depends(get_state)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
WriterDep = Annotated[DocumentWriter, Depends(get_writer)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
