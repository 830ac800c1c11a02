"""MCP over streamable HTTP at /mcp on the running service, behind the same host, key, origin and
size checks as every other endpoint (they wrap the whole app; `api.security` names /mcp among the
paths they guard on every method).

The transport is stateless and answers in JSON: each POST carries a whole exchange, so with
several worker processes (`rag serve --workers`) any of them can answer any request. The SDK's
own Host/Origin checks are off: `TrustedHosts` and `CrossSiteGuard` already apply, and the
SDK's would refuse the host names RAG_ALLOWED_HOSTS adds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from api.mcp_server import build_server
from api.metrics import ServiceMetrics
from api.security import MCP_PATH, send_json
from api.state import ServiceState
from rag.errors import RagError
from rag.pipeline import Pipeline

CHECKED_BY_THE_APP = TransportSecuritySettings(enable_dns_rebinding_protection=False)


class McpEndpoint:
    """The ASGI endpoint of /mcp. Its session manager runs inside the app's lifespan
    (`running`); a manager runs once, so each start of the app makes a new one."""

    def __init__(self, service: ServiceState, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self._service = service
        self._max_body_bytes = max_body_bytes
        self._server = build_server(self._pipeline, metrics)  # answers count as /ask's do
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=CHECKED_BY_THE_APP,
            max_request_body_size=self._max_body_bytes,
        )
        manager = self._server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None:  # the app has not started, or is stopping
            await send_json(send, 503, {"detail": "the MCP endpoint is not running"}, {"Retry-After": "5"})
            return
        await self._manager.handle_request(scope, receive, send)

    def _pipeline(self) -> Pipeline:
        service = self._service
        if service.pipeline is None:
            why = f"not ready: {service.error}" if service.error else f"not ready yet ({service.phase})"
            raise RagError(f"the service is {why}", None if service.error else "retry shortly")
        return service.pipeline
