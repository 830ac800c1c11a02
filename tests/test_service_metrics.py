"""GET /metrics on the app in-process (fake embedder): requests by route template and status,
answers and abstentions, answer stages, index writes and size, the API key; the directory
`rag serve` keeps the workers' metrics in. The same scraped from a real server with two
workers: tests/test_served_metrics.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import UNROUTED
from api.serve import metrics_directory
from rag.answer.llm import Generated, Message
from rag.pipeline import Pipeline
from rag.testing import FakeEmbedder
from tests.conftest import CORPUS, LOCAL, ROOT
from tests.support.app_clients import AUTH, KEY, make_client
from tests.support.servers import free_port

ANSWERABLE = "What was the median PFS of sorafenib?"
ABSENT = "What was the response rate of pembrolizumab in melanoma?"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of GET /metrics: (name, labels) -> value."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def test_requests_are_counted_by_route_template_method_and_status(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        assert client.get("/documents").status_code == 200
        for doc_id in ("no-such-paper", "another-one"):
            assert client.get(f"/documents/{doc_id}").status_code == 404
        assert client.get("/no/such/path").status_code == 404
        assert client.post("/ask", json={"question": ""}).status_code == 422
        assert client.delete("/ask").status_code == 405
        assert client.get("/static/app.js").status_code == 200
        samples = scrape(client)
    requests = "rag_http_requests_total"
    assert value(samples, requests, method="GET", route="/documents", status="200") == 1
    assert value(samples, requests, method="GET", route="/documents/{doc_id}", status="404") == 2
    assert value(samples, requests, method="GET", route=UNROUTED, status="404") == 1
    assert value(samples, requests, method="POST", route="/ask", status="422") == 1
    assert value(samples, requests, method="DELETE", route="/ask", status="405") == 1
    assert value(samples, requests, method="GET", route="/static", status="200") == 1
    # The scrape itself is counted once it is answered: not in its own response.
    assert total(samples, requests) == 7
    latency = "rag_http_request_duration_seconds_count"
    assert value(samples, latency, method="GET", route="/documents/{doc_id}", status="404") == 2
    assert not any("no-such-paper" in str(labels) for _, labels in samples)  # never the raw path
    assert value(samples, "rag_http_requests_in_progress") == 1  # the scrape


def test_answers_abstentions_and_stage_times_are_counted(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        asked = [client.post("/ask", json={"question": q}).json() for q in (ANSWERABLE, ABSENT, ABSENT)]
        streamed = client.post("/ask/stream", json={"question": ABSENT})
        assert streamed.status_code == 200 and '"abstained": true' in streamed.text
        messages = [{"role": "user", "content": ANSWERABLE}]
        chat = client.post("/v1/chat/completions", json={"messages": messages})
        samples = scrape(client)
    abstained = sum(a["abstained"] for a in asked) + 1 + chat.json()["choices"][0]["message"]["abstained"]
    assert abstained >= 3  # the absent drug is declined every time
    assert value(samples, "rag_answers_total", composer="extractive") == 5
    assert value(samples, "rag_answers_abstained_total", composer="extractive") == abstained
    for stage in ("embed", "retrieve", "compose"):
        assert value(samples, "rag_answer_stage_seconds_count", stage=stage) == 5
        assert value(samples, "rag_answer_stage_seconds_sum", stage=stage) > 0
    assert value(samples, "rag_answer_stage_seconds_count", stage="generate") == 0
    assert value(samples, "rag_answer_sentences_dropped_total") == 0


class ScriptedModel:
    """A language model that always writes the same answer: one supported sentence and one
    whose number no passage holds."""

    model_id = "scripted"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generated:
        text = "The median PFS was 5.5 months [1]. The median PFS was 9.9 months [1]."
        return Generated(text, new_tokens=14, stopped="end", seconds=0.0)


def test_generated_answers_add_a_generate_stage_and_count_dropped_sentences(tmp_path: Path) -> None:
    _, built = make_client(tmp_path)
    pipeline = Pipeline(built.settings, FakeEmbedder(), None, llm=ScriptedModel())
    with TestClient(create_app(built.settings, pipeline), base_url=LOCAL) as client:
        answer = client.post("/ask", json={"question": ANSWERABLE, "mode": "generative"}).json()
        samples = scrape(client)
    assert answer["composer"] == "generative" and len(answer["dropped"]) == 1
    assert set(answer["timings_ms"]) == {"embed", "retrieve", "compose", "generate", "total"}
    assert value(samples, "rag_answers_total", composer="generative") == 1
    assert value(samples, "rag_answer_stage_seconds_count", stage="generate") == 1
    assert value(samples, "rag_answer_sentences_dropped_total") == 1


def test_index_writes_and_size(tmp_path: Path) -> None:
    client, pipeline = make_client(tmp_path)
    note = {"doc_id": "ward-note", "title": "Ward note", "text": "Sorafenib was stopped after a rash."}
    with client:
        before = scrape(client)
        assert client.post("/documents", json=note).status_code == 200
        added = scrape(client)
        assert client.delete("/documents/ward-note").status_code == 200
        assert client.delete("/documents/ward-note").status_code == 404
        after = scrape(client)
        stats = client.get("/stats").json()
    assert value(before, "rag_index_documents") == 1 and value(added, "rag_index_documents") == 2
    assert value(after, "rag_index_documents") == stats["documents"] == 1
    assert value(after, "rag_index_chunks") == stats["chunks"]
    generation = value(before, "rag_index_generation")
    assert value(after, "rag_index_generation") == stats["generation"] == generation + 2
    assert value(after, "rag_index_writes_total", kind="upload", outcome="done") == 1
    assert value(after, "rag_index_writes_total", kind="delete", outcome="done") == 1
    assert value(after, "rag_index_writes_total", kind="delete", outcome="failed") == 1
    assert value(after, "rag_index_write_duration_seconds_count", kind="delete") == 2
    pipeline.close()


def test_metrics_need_the_api_key_when_one_is_set(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_key=KEY)
    with client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "API key" in refused.json()["detail"]
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/documents").status_code == 200  # other reads stay open
        samples = scrape(client, AUTH)
    assert value(samples, "rag_http_requests_total", method="GET", route="/metrics", status="401") == 2


def test_an_unexpected_error_is_counted_as_a_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, pipeline = make_client(tmp_path)

    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "stats", broken)
    app = create_app(pipeline.settings, pipeline)
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as client:
        response = client.get("/stats", headers={"X-Request-ID": "bug-report-1"})
        samples = scrape(client)
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "bug-report-1"
    assert value(samples, "rag_http_requests_total", method="GET", route="/stats", status="500") == 1


def test_the_metrics_directory_is_fresh_per_run_or_the_operators_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with metrics_directory() as made:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(made) and made.is_dir()
        (made / "counter_123.db").write_bytes(b"x")
    assert not made.exists() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    chosen = tmp_path / "metrics"
    chosen.mkdir()
    (chosen / "counter_99.db").write_bytes(b"stale")
    (chosen / "notes.txt").write_text("the operator's", encoding="utf-8")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(chosen))
    with metrics_directory() as used:
        assert used == chosen and not (chosen / "counter_99.db").exists()
    assert (chosen / "notes.txt").exists()


def test_rag_serve_imports_prometheus_client_only_after_naming_the_directory() -> None:
    """prometheus-client picks multiprocess mode when it is first imported: `rag serve` must
    not import it (through the app) before `metrics_directory()` has set the variable."""
    check = "import sys, api.cli, api.serve; print('prometheus_client' in sys.modules)"
    imported = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "False"


@pytest.mark.integration
def test_one_worker_takes_the_same_path_and_removes_its_directory_when_stopped(tmp_path: Path) -> None:
    """`rag serve --workers 1` (no index: it answers /health and /metrics while not ready)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_CORPUS_DIR": str(CORPUS)}
    env["TMPDIR"] = str(temporary)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        text = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'rag_http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
        made = list(temporary.glob("rag-metrics-*"))
        assert len(made) == 1 and any(made[0].glob("*.db"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not list(temporary.glob("rag-metrics-*"))
