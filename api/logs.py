"""Request ids and the server's log format.

Every request gets an id: the client's `X-Request-ID` when it is sane (at most 128 characters
of letters, digits and `._:=+/-`), otherwise a new one. It is sent back in the response's
`X-Request-ID` header and put on every log record made while the request is handled (the
access line included), so a line in the log leads to the request and back. With
`RAG_LOG_FORMAT=json` each record is one JSON object per line.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LogFormat = Literal["text", "json"]
HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
NO_REQUEST = "-"
# The request being handled by this task (or thread: Starlette and the streamed answers copy
# the context into the threads that do the work).
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def request_id_of(header: str | None) -> str:
    """The client's id if it is sane, else a new one (a hostile value never reaches the log)."""
    if header is not None and SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: give the request its id, send it back, and make it the log records'.

    The id is not reset when the request ends: each request runs in its own task (its own
    context), and the error handler for an unexpected exception runs outside this middleware
    after the exception has left it, yet must still log and answer with the request's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = [value for name, value in scope["headers"] if name == HEADER.lower().encode()]
        request_id = request_id_of(sent[0].decode("latin-1") if sent else None)
        REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request_id, pid; an access
    line adds client, method, path and status; an error its traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "pid": record.process or os.getpid(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args
            entry |= {"client": client, "method": method, "path": path, "status": status}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's logging configuration (passed to it as `log_config`), with the request id on
    every record, the service's own loggers (`api`, `rag`) at INFO, and, for `json`, every
    record as a JSON line."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": "api.logs.RequestIdFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    if log_format == "json":
        config["formatters"] = {"json": {"()": "api.logs.JsonFormatter"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
    else:
        config["formatters"]["access"]["fmt"] += " %(request_id)s"
    for name in ("api", "rag"):
        config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
