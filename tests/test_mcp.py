"""MCP: the SDK's own clients over stdio (`rag mcp`) and over streamable HTTP (a real `rag serve`),
against a real index of the shipped corpus; `ask`'s citations are /ask's; /mcp is behind the
API key, the cross-site refusal and the trusted host names like every other endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from api.app import create_app
from api.mcp_http import McpEndpoint
from rag.pipeline import Pipeline
from tests.conftest import CORPUS, LOCAL, QUESTION, ROOT
from tests.support.app_clients import AUTH, KEY, make_client
from tests.support.cli import rag
from tests.support.servers import running_server

EVIL = "https://evil.example"
TOOLS = {"ask", "search", "get_document", "list_documents"}
# A JSON-RPC request as the streamable HTTP transport carries it (stateless: no session first).
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
Scenario = Callable[[ClientSession], Awaitable[None]]


def run_session(connect: Callable[[], Any], scenario: Scenario) -> None:
    """Open an SDK client session over `connect()`'s streams and run `scenario` in it; the
    transport must have carried nothing that is not a protocol message."""
    faults: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):  # e.g. a line on the server's stdout that is not JSON-RPC
            faults.append(message)

    async def main() -> None:
        with anyio.fail_after(300):
            async with (
                connect() as (read, write),
                ClientSession(read, write, read_timeout_seconds=120, message_handler=on_message) as session,
            ):
                await session.initialize()
                await scenario(session)

    anyio.run(main)
    assert not faults


async def asked(session: ClientSession, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool("ask", {"question": QUESTION, **arguments})
    assert not result.is_error, result.content
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


async def browse(session: ClientSession, over_http: dict[str, Any]) -> None:
    """list_documents (as GET /documents?limit=1000 gave `over_http`), get_document and the
    documents as resources, read once."""
    listed = (await session.call_tool("list_documents", {"limit": 1000})).structured_content
    assert listed == over_http and listed["total"] == len(listed["documents"]) > 30
    doc_ids = [d["doc_id"] for d in listed["documents"]]
    doc_id = "sorafenib-mrcc-refractory-bevacizumab-sunitinib"
    page = (await session.call_tool("get_document", {"doc_id": doc_id, "max_chars": 500})).structured_content
    assert page is not None
    assert page["doc_id"] == doc_id and len(page["text"]) == 500 and page["next_offset"] == 500
    assert page["total_chars"] > 500
    rest = (
        await session.call_tool("get_document", {"doc_id": doc_id, "offset": 500, "max_chars": 200_000})
    ).structured_content
    assert rest is not None
    assert rest["offset"] == 500 and rest["next_offset"] is None
    missing = await session.call_tool("get_document", {"doc_id": "no-such-paper"})
    assert missing.is_error and "no-such-paper" in str(missing.content)

    resources = (await session.list_resources()).resources
    assert sorted(str(r.uri) for r in resources) == sorted(f"document://{d}" for d in doc_ids)
    templates = (await session.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["document://{doc_id}"]
    read = await session.read_resource(f"document://{doc_id}")
    document = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert document["doc_id"] == doc_id and len(document["text"]) == page["total_chars"]
    assert document["text"][:500] == page["text"]


@pytest.mark.integration
def test_stdio_answers_as_the_http_api_does(pipeline: Pipeline, corpus_index: Path, tmp_path: Path) -> None:
    """`rag mcp` as an editor launches it: the SDK's stdio client lists the tools and asks; the
    citations equal POST /ask's for the same question; stdout carried nothing but the protocol."""
    with TestClient(create_app(pipeline.settings, pipeline), base_url=LOCAL) as client:
        over_http = client.post("/ask", json={"question": QUESTION}).json()
        filtered_http = client.post(
            "/ask", json={"question": QUESTION, "doc_ids": ["swog-s0434-sorafenib-multiple-myeloma"]}
        ).json()
        searched_http = client.post("/search", json={"query": QUESTION, "top_k": 3}).json()
        listed_http = client.get("/documents", params={"limit": 1000}).json()
    env = {**os.environ, "RAG_INDEX_DIR": str(corpus_index), "RAG_CORPUS_DIR": str(CORPUS)}
    command = StdioServerParameters(
        command=str(Path(sys.executable).with_name("rag")), args=["mcp"], env=env, cwd=ROOT
    )
    results: dict[str, Any] = {}

    async def scenario(session: ClientSession) -> None:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == TOOLS
        schema = tools["ask"].output_schema
        assert schema is not None and "citations" in schema["properties"]
        assert tools["ask"].annotations is not None and tools["ask"].annotations.read_only_hint
        results["ask"] = await asked(session)
        results["filtered"] = await asked(
            session, filters={"doc_ids": ["swog-s0434-sorafenib-multiple-myeloma"]}
        )
        searched = await session.call_tool("search", {"query": QUESTION, "top_k": 3})
        results["search"] = searched.structured_content
        unsupported = await session.call_tool("ask", {"question": QUESTION, "filters": {"year": 2016}})
        assert unsupported.is_error and "year" in str(unsupported.content)
        await browse(session, listed_http)

    log = tmp_path / "mcp-stderr.log"
    with log.open("w") as errors:
        run_session(lambda: stdio_client(command, errlog=errors), scenario)

    answer = results["ask"]
    assert answer["abstained"] is False and "4.4 months" in answer["answer"]
    assert answer["citations"] == over_http["citations"] and answer["answer"] == over_http["answer"]
    citation = answer["citations"][0]
    assert citation["text"][citation["quote_start"] : citation["quote_end"]] == citation["quote"]
    assert {"doc_id", "title", "page_start", "page_end"} <= set(citation)
    assert results["filtered"]["citations"] == filtered_http["citations"]
    cited = {c["doc_id"] for c in results["filtered"]["citations"]}
    assert cited <= {"swog-s0434-sorafenib-multiple-myeloma"}
    assert results["search"] == searched_http
    assert "Traceback" not in log.read_text(encoding="utf-8")


@pytest.mark.integration
def test_streamable_http_on_the_running_service(corpus_index: Path, tmp_path: Path) -> None:
    """A real `rag serve` with an API key and two worker processes: the SDK's streamable HTTP
    client with the key lists the tools and asks, as /ask answers; without the key, with a wrong
    one, or sent by a page of another site, /mcp is refused before any tool runs."""
    env = {"RAG_INDEX_DIR": str(corpus_index), "RAG_CORPUS_DIR": str(CORPUS), "RAG_API_KEY": KEY}
    with running_server(env, tmp_path / "server.log", workers=2) as base:
        url = f"{base}/mcp"
        refusals = {
            "no key": httpx.post(url, json=LIST_TOOLS, headers=MCP_HEADERS),
            "wrong key": httpx.post(
                url, json=LIST_TOOLS, headers={**MCP_HEADERS, "Authorization": "Bearer wrong"}
            ),
            "stream, no key": httpx.get(url, headers={"Accept": "text/event-stream"}),
            "other site": httpx.post(url, json=LIST_TOOLS, headers={**MCP_HEADERS, **AUTH, "Origin": EVIL}),
            "marked cross-site": httpx.post(
                url, json=LIST_TOOLS, headers={**MCP_HEADERS, **AUTH, "Sec-Fetch-Site": "cross-site"}
            ),
            "stream, other site": httpx.get(url, headers={**AUTH, "Origin": EVIL}),
        }
        statuses = {name: response.status_code for name, response in refusals.items()}
        assert statuses == {
            "no key": 401,
            "wrong key": 401,
            "stream, no key": 401,
            "other site": 403,
            "marked cross-site": 403,
            "stream, other site": 403,
        }
        assert "API key" in refusals["no key"].json()["detail"]
        assert refusals["other site"].json()["detail"].startswith("cross-site request refused")

        over_http = httpx.post(f"{base}/ask", json={"question": QUESTION}, timeout=60).json()
        listed_http = httpx.get(f"{base}/documents", params={"limit": 1000}).json()
        results: dict[str, Any] = {}

        async def scenario(session: ClientSession) -> None:
            assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
            results["ask"] = await asked(session)
            await browse(session, listed_http)

        @asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            timeout = httpx2.Timeout(30, read=120)
            async with (
                httpx2.AsyncClient(headers=AUTH, timeout=timeout) as http,
                streamable_http_client(url, http_client=http) as streams,
            ):
                yield streams

        run_session(connect, scenario)
    assert results["ask"]["citations"] == over_http["citations"]
    assert results["ask"]["answer"] == over_http["answer"] and "4.4 months" in over_http["answer"]


def test_mcp_answers_to_the_trusted_host_names_only(tmp_path: Path) -> None:
    """The SDK's own Host check is off: RAG_ALLOWED_HOSTS decides, for /mcp as for the rest."""
    client, _ = make_client(tmp_path, allowed_hosts=["rag.example.org"])
    with client:
        named = client.post(
            "http://rag.example.org/mcp", json=LIST_TOOLS, headers={**MCP_HEADERS, "Host": "rag.example.org"}
        )
        assert named.status_code == 200, named.text
        assert {tool["name"] for tool in named.json()["result"]["tools"]} == TOOLS
        rebound = client.post("/mcp", json=LIST_TOOLS, headers={**MCP_HEADERS, "Host": "attacker.example"})
        assert rebound.status_code == 400 and "RAG_ALLOWED_HOSTS" in rebound.json()["detail"]


def test_mcp_needs_the_key_even_where_reads_do_not(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_key=KEY)
    with client:
        ask = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
        ask["params"] = {"name": "ask", "arguments": {"question": "What was the median PFS?"}}
        assert client.post("/ask", json={"question": "What was the median PFS?"}).status_code == 200
        assert client.post("/mcp", json=ask, headers=MCP_HEADERS).status_code == 401
        keyed = client.post("/mcp", json=ask, headers={**MCP_HEADERS, **AUTH})
        assert keyed.status_code == 200, keyed.text
        result = keyed.json()["result"]
        assert result["structuredContent"]["answer"] == "The median PFS was 5.5 months [1]."


def test_the_endpoint_runs_again_after_a_restart_of_the_app(tmp_path: Path) -> None:
    """The SDK's session manager runs once; each start of the app (its lifespan) makes a new one."""
    client, _ = make_client(tmp_path)
    for _ in range(2):
        with client:
            response = client.post("/mcp", json=LIST_TOOLS, headers=MCP_HEADERS)
            assert response.status_code == 200, response.text
    assert client.post("/mcp", json=LIST_TOOLS, headers=MCP_HEADERS).status_code == 503  # not started


def test_the_sdk_is_imported_after_start_up_and_a_failure_to_start_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the app does not import the MCP SDK (about a second of each worker's start-up);
    the endpoint starts once the app runs. If it cannot, /mcp says why and the rest serves."""
    script = (
        "import sys; from api.app import create_app; create_app(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mcp', 'mcp_types'}))"
    )
    run = [sys.executable, "-c", script]
    imported = subprocess.run(run, check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"

    def fails(self: McpEndpoint) -> None:
        raise RuntimeError("no SDK here")

    monkeypatch.setattr(McpEndpoint, "_new_manager", fails)
    client, _ = make_client(tmp_path)
    with client:
        refused = client.post("/mcp", json=LIST_TOOLS, headers=MCP_HEADERS)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        assert refused.json() == {"detail": "the MCP endpoint failed to start: no SDK here"}
        assert client.post("/search", json={"query": "median PFS"}).status_code == 200


def test_a_service_still_loading_says_so_in_the_tool_result(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        service = client.app.state.service  # type: ignore[attr-defined]
        loaded, service.pipeline, service.phase = service.pipeline, None, "loading model"
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call"}
        call["params"] = {"name": "search", "arguments": {"query": "median PFS"}}
        result = client.post("/mcp", json=call, headers=MCP_HEADERS).json()["result"]
        assert result["isError"] is True
        assert "not ready yet (loading model)" in result["content"][0]["text"]
        service.pipeline, service.phase = loaded, "ready"
        result = client.post("/mcp", json=call, headers=MCP_HEADERS).json()["result"]
        assert result["structuredContent"]["results"][0]["doc_id"] == "sorafenib"


@pytest.mark.integration
def test_rag_mcp_without_an_index_is_a_one_line_error(tmp_path: Path) -> None:
    result = rag("mcp", index=tmp_path / "no-index")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: no index in {tmp_path / 'no-index'} (run `rag ingest` to build it from the corpus)"
    ]
