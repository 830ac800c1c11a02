"""Who may call what, and how much they may send: two small ASGI middlewares.

Both run before a route reads anything, so a refused request costs no parsing.
"""

from __future__ import annotations

import hmac
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POST routes that only read. Every other non-GET route changes something and needs the key:
# a new route is protected unless it is added here.
READ_ONLY_POSTS = frozenset({"/ask", "/ask/stream", "/search", "/v1/chat/completions"})
OPEN_PATHS = frozenset({"/health", "/"})
# The web page and its files hold no data; the page asks for the key before it calls the API.
OPEN_PREFIXES = ("/static/",)


async def send_json(
    send: Send, status: int, body: dict[str, str], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class ApiKeyGuard:
    """With an API key configured, requests that change the index (and, with `protect_reads`,
    all but /health) need `Authorization: Bearer <key>`; others get 401."""

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
        if self._protect_reads:
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
