"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.routing import Route

from api.errors import status_of
from api.jobs import JobStore
from api.logs import HEADER as REQUEST_ID_HEADER
from api.logs import RequestIds
from api.mcp_http import McpEndpoint
from api.metrics import HttpMetrics, ServiceMetrics, route_table
from api.metrics import router as metrics_router
from api.routes import answers, cite, documents, jobs, openai, status, web
from api.schemas import ErrorBody
from api.security import DOCS_ASSETS, MCP_PATH, ApiKeyGuard, BodySizeLimit, CrossSiteGuard, TrustedHosts
from api.settings import ServerSettings
from api.state import ServiceState
from rag.errors import RagError
from rag.ingest.corpus import DocumentWriter
from rag.pipeline import Pipeline
from rag.settings import Settings

log = logging.getLogger("api")
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "A body that cannot be parsed (not UTF-8, broken multipart), or a Host header "
        "that is not one of RAG_ALLOWED_HOSTS",
    },
    403: {"model": ErrorBody, "description": "A write sent by a web page of another origin"},
    401: {"model": ErrorBody, "description": "An API key is configured and the request lacks it"},
}
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and headers around an upload of the maximum size
PARENT_CHECK_S = 1.0  # how often a worker checks that the `rag serve` that started it is alive


def create_app(
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
    *,
    ingest_on_start: bool = False,
    load_before_serving: bool = False,
    writer: DocumentWriter | None = None,
) -> FastAPI:
    """Build the app. With `pipeline` it is ready at once (tests pass fakes this way);
    otherwise the model and index load in the background after start-up, so /health and
    /ready answer meanwhile, or, with `load_before_serving`, before the first connection is
    accepted (one of several worker processes: the others take the connections meanwhile).
    With `writer`, document writes go there instead of to this process's pipeline."""
    settings = ServerSettings.of(settings)
    service = ServiceState(pipeline=pipeline, writer=writer, phase="ready" if pipeline else "starting")
    metrics = ServiceMetrics(service)
    mcp = McpEndpoint(service, metrics, settings.max_upload_bytes + MULTIPART_OVERHEAD)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service.pipeline is None  # a pipeline passed in belongs to the caller
        if owned:
            service.start_loading(settings, ingest=ingest_on_start)
            if load_before_serving:
                await asyncio.to_thread(service.wait)
        async with mcp.running():
            yield
        app.state.jobs.shutdown()
        app.state.metrics.close()
        if owned:
            service.wait(timeout=0)
            if service.pipeline is not None:
                service.pipeline.close()

    # /docs with its scripts and styles served from here: nothing from a CDN. No /redoc: its
    # script loads a logo from Redocly's CDN.
    app = FastAPIOffline(
        redoc_url=None,
        title="Cited literature QA",
        version="0.1.0",
        description="Ask questions of a document collection; answers cite the exact sentence they come from.",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.jobs = JobStore(settings.jobs_dir)
    app.state.metrics = metrics
    routers = (
        answers.router,
        documents.router,
        cite.router,
        jobs.router,
        status.router,
        openai.router,
        web.router,
        metrics_router,
    )
    for router in routers:
        app.include_router(router, responses=COMMON_ERRORS)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    # MCP over streamable HTTP (docs/mcp.md): every method, so not in the OpenAPI schema.
    app.router.routes.append(Route(MCP_PATH, mcp, include_in_schema=False))
    _install_error_handlers(app)
    _describe_errors_as_sent(app)
    # Added last = outermost: the host, key, origin and size checks run before anything else.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Mcp-Protocol-Version", "Mcp-Session-Id"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD)
    # With or without a key: a page the user merely visits must not write through their browser.
    app.add_middleware(CrossSiteGuard, allowed_origins=settings.cors_origins)
    if settings.api_key is not None:
        app.add_middleware(
            ApiKeyGuard, api_key=settings.api_key.get_secret_value(), protect_reads=settings.auth_reads
        )
    app.add_middleware(TrustedHosts, hosts=settings.trusted_hosts)
    # Outside the checks: refused requests are counted, and carry a request id, too.
    app.add_middleware(HttpMetrics, metrics=app.state.metrics, routes=route_table(app, routers))
    app.add_middleware(RequestIds)
    return app


def create_worker_app() -> FastAPI:
    """The app of one of several `rag serve` worker processes (settings from the environment;
    the parent has already brought the index up to date)."""
    _stop_with_parent(os.getppid())
    return create_app(ServerSettings(), load_before_serving=True)


def _stop_with_parent(parent: int) -> None:
    """A worker whose `rag serve` was killed outright (SIGKILL, the OOM killer) is told nothing:
    it would keep the port and answer on, unsupervised and never restarted, and a new `rag
    serve` would find the port taken. Once its parent is gone it stops as on SIGTERM, finishing
    the requests it holds."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        log.warning("the rag serve that started this worker (pid %d) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _describe_errors_as_sent(app: FastAPI) -> None:
    """FastAPI documents 422 bodies as its own `HTTPValidationError`; ours are `ErrorBody`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            error_body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(error_body.pop("$defs", {}))
            components["HTTPValidationError"] = error_body
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _described(error: Any) -> dict[str, str]:
    """A validation error as {field, message}. A body that is not valid JSON is reported by
    FastAPI at ("body", <character position>): the position is not a field."""
    if error.get("type") == "json_invalid":
        position = error["loc"][-1] if len(error["loc"]) > 1 else None
        where = f" at character {position}" if isinstance(position, int) else ""
        detail = error.get("ctx", {}).get("error")
        return {"field": "body", "message": f"not valid JSON{where}" + (f" ({detail})" if detail else "")}
    field = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
    return {"field": field, "message": error["msg"]}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_described(error) for error in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(
            status_code=422, content={"detail": f"invalid request: {detail}", "errors": errors}
        )

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        code = status_of(exc)
        headers = {"Retry-After": "5"} if code == 503 else None
        if code >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=code, content={"detail": str(exc)}, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside every middleware: the request id is sent from here.
        log.exception("%s %s failed", request.method, request.url.path)
        request_id = getattr(request.state, "request_id", None)
        return JSONResponse(
            status_code=500,
            content={"detail": "internal error; see the server log"},
            headers={REQUEST_ID_HEADER: request_id} if request_id else None,
        )
