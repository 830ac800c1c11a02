"""The HTTP API on the real pipeline (TestClient), and once as a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.schemas import DocumentMetadata
from api.settings import ServerSettings
from rag.answer.ranking import load_sentence_ranker
from rag.answer.support import load_support_model
from rag.documents import CITATION_METADATA
from rag.pipeline import Pipeline
from tests.conftest import CORPUS, LOCAL, QUESTION, ROOT
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def test_ask_returns_a_cited_answer(client: TestClient) -> None:
    response = client.post("/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["abstained"] is False
    assert "4.4 months" in body["answer"] and "[1]" in body["answer"]
    citation = body["citations"][0]
    assert citation["text"][citation["quote_start"] : citation["quote_end"]] == citation["quote"]
    assert citation["doc_id"] == "sorafenib-mrcc-refractory-bevacizumab-sunitinib"
    assert {"title", "authors", "journal", "year", "source", "chunk_id", "score", "marker"} <= set(citation)
    assert body["timings_ms"]["total"] > 0
    # How likely the answer holds what was asked, by which model; which ranker chose the sentence.
    assert 0.0 < body["support"]["probability"] < 1.0
    assert body["support"]["model"] == load_support_model().name
    assert body["support"]["ranker"] == load_sentence_ranker().name


def test_ask_abstains_on_absent_topics(client: TestClient) -> None:
    body = client.post(
        "/ask", json={"question": "What was the response rate of nivolumab in melanoma?"}
    ).json()
    assert body["abstained"] is True
    assert body["citations"] == []
    assert "do not" in body["answer"] and body["support"] is None


def test_ask_abstains_on_a_group_of_people_the_corpus_never_mentions(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Is it safe to take sorafenib while pregnant?"}).json()
    assert body["abstained"] is True and body["citations"] == []
    assert "do not mention 'pregnant'" in body["answer"]


def test_doc_ids_restrict_the_answer(client: TestClient) -> None:
    body = client.post(
        "/ask", json={"question": QUESTION, "doc_ids": ["swog-s0434-sorafenib-multiple-myeloma"]}
    ).json()
    assert {c["doc_id"] for c in body["citations"]} <= {"swog-s0434-sorafenib-multiple-myeloma"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": "ok", "top_k": 0}, "top_k"),
        ({"question": "ok", "top_k": 21}, "top_k"),
        ({"question": "ok", "top_k": "many"}, "top_k"),
        ({"question": "ok", "doc_ids": "not-a-list"}, "doc_ids"),
        ({"question": "ok", "unexpected": 1}, "unexpected"),
        ({"question": 42}, "question"),
        ({"question": "  \n\t "}, "question"),
    ],
)
def test_invalid_input_is_a_422_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert field in body["detail"]
    assert any(error["field"] == field for error in body["errors"])


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post("/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_unknown_documents_are_404(client: TestClient) -> None:
    assert client.get("/documents/no-such-doc").status_code == 404
    response = client.post("/ask", json={"question": QUESTION, "doc_ids": ["no-such-doc"]})
    assert response.status_code == 404
    assert "no-such-doc" in response.json()["detail"]


def test_search_documents_stats(client: TestClient) -> None:
    results = client.post("/search", json={"query": "regorafenib hazard ratio", "top_k": 3}).json()["results"]
    assert len(results) == 3
    assert results[0]["doc_id"].startswith("bruix-2017")
    listing = client.get("/documents").json()
    assert listing["total"] == 34
    doc = client.get(f"/documents/{listing['documents'][0]['doc_id']}").json()
    assert doc["text"] and doc["title"]
    stats = client.get("/stats").json()
    assert stats["documents"] == 34 and stats["vector_index"]["structure"] == "flat"
    assert (stats["embedding_backend"], stats["embedding_precision"]) == ("onnx", "fp32")
    assert client.get("/health").json() == {"status": "ok", "detail": None, "pid": os.getpid()}
    assert client.get("/ready").status_code == 200


def test_openapi_is_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/ask" in client.get("/openapi.json").json()["paths"]


def test_real_server_process(corpus_index: Path) -> None:
    """`rag serve` in its own process: /ready goes from 503 to 200, then /ask answers over HTTP."""
    port = free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(corpus_index), "RAG_CORPUS_DIR": str(CORPUS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        statuses = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"{base}/ready", timeout=5).status_code
                statuses.append(status)
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert statuses and statuses[-1] == 200, statuses
        response = httpx.post(f"{base}/ask", json={"question": QUESTION}, timeout=30)
        assert response.status_code == 200
        assert "4.4 months" in response.json()["answer"]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output


def test_the_page_loads_without_the_key_when_reads_need_it(pipeline: Pipeline) -> None:
    """The page and its files hold no data; everything it then asks for needs the key."""
    settings = ServerSettings.of(pipeline.settings).model_copy(
        update={"api_key": SecretStr("s3cret"), "auth_reads": True}
    )
    with TestClient(create_app(settings, pipeline), base_url=LOCAL) as client:
        page = client.get("/")
        assert page.status_code == 200 and "Cited literature QA" in page.text
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/examples").status_code == 401
        assert client.post("/ask/stream", json={"question": QUESTION}).status_code == 401
        assert client.get("/examples", headers={"Authorization": "Bearer s3cret"}).json()["questions"]


def test_the_api_and_the_library_name_the_same_citation_metadata() -> None:
    assert tuple(DocumentMetadata.model_fields) == CITATION_METADATA
