"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.routes import answers, documents, status
from api.state import ServiceState
from rag.errors import IndexCorruptError, IndexMismatchError, NotFoundError, RagError
from rag.pipeline import Pipeline
from rag.settings import Settings

log = logging.getLogger("api")


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, *, ingest_on_start: bool = False
) -> FastAPI:
    """Build the app. With `pipeline` it is ready at once (tests pass fakes this way);
    otherwise the model and index load in the background after start-up."""
    settings = settings or Settings()
    service = ServiceState(pipeline=pipeline, phase="ready" if pipeline else "starting")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service.pipeline is None  # a pipeline passed in belongs to the caller
        if owned:
            service.start_loading(settings, ingest=ingest_on_start)
        yield
        if owned:
            service.wait(timeout=0)
            if service.pipeline is not None:
                service.pipeline.close()

    app = FastAPI(
        title="Cited literature QA",
        version="0.1.0",
        description="Ask questions of a document collection; answers cite the exact sentence they come from.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(answers.router)
    app.include_router(documents.router)
    app.include_router(status.router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in error["loc"] if part != "body") or "body",
                "message": error["msg"],
            }
            for error in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(
            status_code=422, content={"detail": f"invalid request: {detail}", "errors": errors}
        )

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        code = 503 if isinstance(exc, IndexCorruptError | IndexMismatchError) else 500
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error; see the server log"})
