"""Request ids (kept when sane, replaced when not, sent back, on every log record of the
request) and the JSON log format. A real server's JSON log: tests/test_served_metrics.py."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.logs import REQUEST_ID, JsonFormatter, RequestIdFilter, RequestIds, log_config, request_id_of
from tests.support.app_clients import KEY, make_client

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "sent", ["abc", "3f2a9c1e-0b7d-4f6e-9a55-2c1d3e4f5a6b", "Root=1-5759e988-bd862e3f", "a" * 128]
)
def test_a_sane_request_id_is_kept(sent: str) -> None:
    assert request_id_of(sent) == sent


@pytest.mark.parametrize(
    "sent",
    [None, "", "a" * 129, "two words", "<script>alert(1)</script>", 'x"}\n{"level": "ERROR"', "café", "a;b"],
)
def test_a_missing_or_hostile_request_id_is_replaced(sent: str | None) -> None:
    made = request_id_of(sent)
    assert GENERATED.fullmatch(made) and made != sent
    assert request_id_of(sent) != made  # a new one each time


def test_the_service_sends_the_id_back_and_replaces_a_hostile_one(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_key=KEY)
    with client:
        kept = client.get("/documents", headers={"X-Request-ID": "trace-42.a:b"})
        assert kept.headers["X-Request-ID"] == "trace-42.a:b"
        hostile = client.get("/documents", headers={"X-Request-ID": "x" * 500})
        assert GENERATED.fullmatch(hostile.headers["X-Request-ID"])
        fresh = [client.get("/health").headers["X-Request-ID"] for _ in range(2)]
        assert all(GENERATED.fullmatch(f) for f in fresh) and fresh[0] != fresh[1]
        # Refused before any route runs (no key; a host name it does not answer to): an id too.
        refused = client.post("/documents", json={}, headers={"X-Request-ID": "refused-1"})
        assert refused.status_code == 401 and refused.headers["X-Request-ID"] == "refused-1"
        wrong_host = client.get("/health", headers={"Host": "evil.example", "X-Request-ID": "host-1"})
        assert wrong_host.status_code == 400 and wrong_host.headers["X-Request-ID"] == "host-1"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the `api` logger writes while the test runs, formatted as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("api.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_records_made_while_handling_a_request_carry_its_id(captured: io.StringIO) -> None:
    """In the middleware's task and in the worker thread a plain `def` endpoint runs in."""

    def endpoint(request: Request) -> PlainTextResponse:
        logging.getLogger("api.test").info("looked up %s", request.query_params["q"])
        return PlainTextResponse("ok")

    async def async_endpoint(request: Request) -> PlainTextResponse:
        logging.getLogger("api.test").info("async")
        return PlainTextResponse("ok")

    app = RequestIds(Starlette(routes=[Route("/sync", endpoint), Route("/async", async_endpoint)]))
    with TestClient(app) as client:
        first = client.get("/sync", params={"q": "sorafenib"}, headers={"X-Request-ID": "req-1"})
        second = client.get("/async")
    logging.getLogger("api.test").info("outside")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(r["message"], r["request_id"]) for r in lines] == [
        ("looked up sorafenib", "req-1"),
        ("async", second.headers["X-Request-ID"]),
        ("outside", "-"),
    ]
    assert first.headers["X-Request-ID"] == "req-1"
    assert {"time", "level", "logger", "pid"} <= set(lines[0]) and lines[0]["level"] == "INFO"


def test_the_json_format_names_an_access_line_and_keeps_a_traceback() -> None:
    formatter = JsonFormatter()
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/documents?limit=5", "1.1", 200), None,
    )  # fmt: skip
    token = REQUEST_ID.set("req-7")
    try:
        RequestIdFilter().filter(access)
    finally:
        REQUEST_ID.reset(token)
    entry = json.loads(formatter.format(access))
    assert entry["request_id"] == "req-7" and entry["logger"] == "uvicorn.access"
    assert entry["message"] == '127.0.0.1:5000 - "GET /documents?limit=5 HTTP/1.1" 200'
    assert (entry["client"], entry["method"], entry["path"], entry["status"]) == (
        "127.0.0.1:5000", "GET", "/documents?limit=5", 200,
    )  # fmt: skip
    try:
        raise ValueError("broken\nline")
    except ValueError:
        failed = logging.LogRecord("api", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(failed)
    assert "\n" not in line  # one record, one line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and "ValueError: broken" in entry["exception"]


def test_the_log_configuration_puts_the_id_on_every_handler() -> None:
    for log_format in ("text", "json"):
        config = log_config(log_format)
        assert all(h["filters"] == ["request_id"] for h in config["handlers"].values())
        assert config["loggers"]["api"]["level"] == config["loggers"]["rag"]["level"] == "INFO"
    json_config = log_config("json")
    assert {h["formatter"] for h in json_config["handlers"].values()} == {"json"}
    assert log_config("text")["formatters"]["access"]["fmt"].endswith("%(request_id)s")
