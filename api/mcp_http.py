"""MCP over streamable HTTP at /mcp on the running service, behind the same host, key, origin and
size checks as every other endpoint (they wrap the whole app; `api.security` names /mcp among the
paths they guard on every method).

The transport is stateless and answers in JSON: each POST carries a whole exchange, so with
several worker processes (`rag serve --workers`) any of them can answer any request. The SDK's
own Host/Origin checks are off: `TrustedHosts` and `CrossSiteGuard` already apply, and the
SDK's would refuse the host names RAG_ALLOWED_HOSTS adds.

The MCP SDK takes about a second to import on 2 cores, so it is imported in a thread once the
app has started, not before: /ready does not wait for it. A request to /mcp that arrives
before the endpoint runs waits for it (`START_WAIT_S`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from api.metrics import ServiceMetrics
from api.security import MCP_PATH, send_json
from api.state import ServiceState
from rag.errors import RagError
from rag.pipeline import Pipeline

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

START_WAIT_S = 30.0  # how long a request waits for the endpoint to start; then 503, Retry-After

log = logging.getLogger("api")


class McpEndpoint:
    """The ASGI endpoint of /mcp. Its session manager runs inside the app's lifespan
    (`running`), in a task of its own; a manager runs once, so each start of the app makes a
    new one."""

    def __init__(self, service: ServiceState, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self._service = service
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes
        self._manager: StreamableHTTPSessionManager | None = None
        self._started = asyncio.Event()
        self._starting = False  # within `running`
        self._failure: str | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._started = asyncio.Event()  # of this event loop: the app may start more than once
        self._failure = None
        self._starting = True
        stop = asyncio.Event()
        task = asyncio.create_task(self._run(stop))
        try:
            yield
        finally:
            self._starting = False
            stop.set()
            await task

    async def _run(self, stop: asyncio.Event) -> None:
        try:
            manager = await asyncio.to_thread(self._new_manager)
            async with manager.run():
                self._manager = manager
                self._started.set()
                await stop.wait()
        except Exception as exc:  # logged and told to every /mcp request; the rest of the app serves
            log.exception("the MCP endpoint failed to start")
            self._failure = f"the MCP endpoint failed to start: {exc}"
        finally:
            self._manager = None
            self._started.set()

    def _new_manager(self) -> StreamableHTTPSessionManager:
        from mcp.server.transport_security import TransportSecuritySettings

        from api.mcp_server import build_server

        server = build_server(self._pipeline, self._metrics)  # answers count as /ask's do
        server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            # Checked by the app (above).
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=self._max_body_bytes,
        )
        return server.session_manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None and self._starting:
            with suppress(TimeoutError):  # answered below: 503
                await asyncio.wait_for(self._started.wait(), START_WAIT_S)
        manager = self._manager
        if manager is None:  # the app has not started, is stopping, or the SDK failed to start
            detail = self._failure or "the MCP endpoint is not running"
            await send_json(send, 503, {"detail": detail}, {"Retry-After": "5"})
            return
        await manager.handle_request(scope, receive, send)

    def _pipeline(self) -> Pipeline:
        service = self._service
        if service.pipeline is None:
            why = f"not ready: {service.error}" if service.error else f"not ready yet ({service.phase})"
            raise RagError(f"the service is {why}", None if service.error else "retry shortly")
        return service.pipeline
