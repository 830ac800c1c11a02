"""Who may call what, and how much they may send: small ASGI middlewares.

All run before a route reads anything, so a refused request costs no parsing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POST routes that only read. Every other non-GET route changes something and needs the key:
# a new route is protected unless it is added here.
READ_ONLY_POSTS = frozenset({"/ask", "/ask/stream", "/search", "/v1/chat/completions"})
OPEN_PATHS = frozenset({"/health", "/"})
# The MCP endpoint (api/mcp_http.py) carries every kind of call in POSTs (and, in general, a
# stream in GETs): with a key set, every method there needs it, whatever RAG_AUTH_READS says,
# and no method there may come from a page of another site.
MCP_PATH = "/mcp"
# Reads that need the key whenever one is configured: what the service does is the operator's.
KEYED_READS = frozenset({"/metrics"})
DOCS_ASSETS = "/docs-assets"  # the scripts and styles of /docs (Swagger UI)
# The web page and its files hold no data; the page asks for the key before it calls the API.
OPEN_PREFIXES = ("/static/", f"{DOCS_ASSETS}/")


async def send_json(
    send: Send, status: int, body: dict[str, str], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class ApiKeyGuard:
    """With an API key configured, requests that change the index, /metrics (and, with
    `protect_reads`, all but /health) need `Authorization: Bearer <key>`; others get 401."""

    def __init__(self, app: ASGIApp, api_key: str, *, protect_reads: bool) -> None:
        self.app = app
        self._key = api_key.encode()
        self._protect_reads = protect_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_key(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        # compare_digest takes as long for a wrong key as for a right one.
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("latin-1"), self._key):
            await self.app(scope, receive, send)
            return
        detail = (
            "this endpoint needs the API key: send `Authorization: Bearer <key>`"
            if not token
            else "the API key is wrong"
        )
        await send_json(send, 401, {"detail": detail}, {"WWW-Authenticate": "Bearer"})

    def _needs_key(self, method: str, path: str) -> bool:
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return False
        if self._protect_reads or path in KEYED_READS or is_mcp(path):
            return True
        return method not in SAFE_METHODS and path not in READ_ONLY_POSTS


class BodySizeLimit:
    """Refuse a body over `max_bytes` with 413: at once when Content-Length says so, otherwise
    as soon as the bytes received pass the limit (chunked uploads), before it is read in full."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_json(send, 400, {"detail": "Content-Length is not a number"})
                return
            if length > self.max_bytes:
                await send_json(send, 413, {"detail": self._message()})
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes} bytes (RAG_MAX_UPLOAD_BYTES)"


class CrossSiteGuard:
    """Refuse (403) a request that is not a read when a web page of another origin sent it.

    A browser lets any page send "simple" requests (a form post, a no-cors fetch) to any
    address, the user's own 127.0.0.1 included; CORS only hides the response. Browsers name the
    sending page in `Origin` (every POST) and mark such requests `Sec-Fetch-Site: cross-site`.
    A request without `Origin` (curl, the CLI, another server) is not from a page and passes;
    one from this service's own origin or an origin in RAG_CORS_ORIGINS passes."""

    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self._allowed = {origin.rstrip("/").lower() for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] in SAFE_METHODS and not is_mcp(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        problem = self._problem(origin, headers.get("sec-fetch-site"), headers.get("host"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 403, {"detail": f"cross-site request refused: {problem}"})

    def _problem(self, origin: str | None, fetch_site: str | None, host: str | None) -> str | None:
        if origin is not None and origin.rstrip("/").lower() in self._allowed:
            return None
        if fetch_site == "cross-site":
            return (
                f"a page of another site ({origin or 'unnamed'}) sent it; "
                "list that origin in RAG_CORS_ORIGINS to allow it"
            )
        if origin is None or same_origin(origin, host):
            return None
        return (
            f"it comes from a page of {origin}, not of this service; "
            "list that origin in RAG_CORS_ORIGINS to allow it"
        )


def is_mcp(path: str) -> bool:
    return path == MCP_PATH or path.startswith(f"{MCP_PATH}/")


def same_origin(origin: str, host: str | None) -> bool:
    """Whether `origin` (scheme://host[:port]) names the server the request was sent to (its Host
    header), default ports included; the scheme is not compared (a proxy may terminate TLS)."""
    if host is None or origin == "null":
        return False
    try:
        sent = urlsplit(origin)
        received = urlsplit(f"//{host}")
        default = {"http": 80, "https": 443}.get(sent.scheme)
        return (
            sent.hostname is not None
            and sent.hostname == received.hostname
            and (sent.port or default) == (received.port or default)
        )
    except ValueError:  # a malformed port or address
        return False


class TrustedHosts:
    """Answer only requests addressed to one of `hosts` (400 otherwise). A service on 127.0.0.1
    that answered any Host could be read by a page through DNS rebinding: the attacker's name
    resolves to 127.0.0.1, and the browser then treats the service as the attacker's own origin."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self.app = app
        self._hosts = {host.lower() for host in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "*" in self._hosts:
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        try:
            name = urlsplit(f"//{host}").hostname or ""
        except ValueError:
            name = ""
        if name.lower().strip("[]") in self._hosts:
            await self.app(scope, receive, send)
            return
        detail = (
            f"this service does not answer to the host name {host!r}; "
            "add it to RAG_ALLOWED_HOSTS to serve it under that name"
        )
        await send_json(send, 400, {"detail": detail})
