"""Generative answers over HTTP: /ask with a mode, the /ask/stream events, the OpenAI-compatible
endpoints driven by the `openai` client library, and clients that leave mid-stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.pipeline import Pipeline
from tests.conftest import CORPUS, LOCAL
from tests.support.generation_fixtures import QUESTION, SMALL_PROMPT, TRAINED_ANSWER
from tests.support.servers import running_server

pytestmark = pytest.mark.integration
UNANSWERABLE = "What was the response rate of pembrolizumab in melanoma?"


def events(body: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body."""
    parsed = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


@pytest.fixture(scope="module")
def trained_client(trained_pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(trained_pipeline.settings, trained_pipeline), base_url=LOCAL) as client:
        yield client


@pytest.fixture(scope="module")
def plain_client(pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(pipeline.settings, pipeline), base_url=LOCAL) as client:
        yield client


def test_ask_in_generative_mode_reports_the_composer_and_what_was_dropped(trained_client: TestClient) -> None:
    body = trained_client.post("/ask", json={"question": QUESTION, "mode": "generative"}).json()
    assert body["composer"] == "generative" and body["answer"] == "The median PFS was 4.4 months [1]."
    assert [d["reason"] for d in body["dropped"]] == [
        "the number 9.9 is not in the cited passages",
        "cites [7], but the model was given 1 passage",
    ]
    citation = body["citations"][0]
    assert citation["text"][citation["quote_start"] : citation["quote_end"]] == citation["quote"]
    default = trained_client.post("/ask", json={"question": QUESTION}).json()
    assert default["composer"] == "extractive" and default["dropped"] == []


def test_generative_without_a_model_is_a_400_that_says_how_to_configure_one(plain_client: TestClient) -> None:
    for path in ("/ask", "/ask/stream"):
        response = plain_client.post(path, json={"question": QUESTION, "mode": "generative"})
        assert response.status_code == 400
        assert "RAG_GENERATION__MODEL_PATH" in response.json()["detail"]
    response = plain_client.post(
        "/v1/chat/completions",
        json={"model": "cited-rag-generative", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert response.status_code == 400 and "RAG_GENERATION__MODEL_PATH" in response.json()["error"]["message"]


def test_the_stream_sends_citations_then_tokens_then_the_verified_answer(trained_client: TestClient) -> None:
    response = trained_client.post("/ask/stream", json={"question": QUESTION, "mode": "generative"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    stream = events(response.text)
    kinds = [kind for kind, _ in stream]
    assert kinds[0] == "citations" and kinds[-1] == "final" and set(kinds[1:-1]) == {"token"}
    assert "".join(data for kind, data in stream if kind == "token") == TRAINED_ANSWER
    final = stream[-1][1]
    asked = trained_client.post("/ask", json={"question": QUESTION, "mode": "generative"}).json()
    assert {k: v for k, v in final.items() if k != "timings_ms"} == {
        k: v for k, v in asked.items() if k != "timings_ms"
    }
    assert final["citations"][0]["chunk_id"] in [p["chunk_id"] for p in stream[0][1]]


def test_an_extractive_stream_sends_the_answer_sentence_by_sentence(plain_client: TestClient) -> None:
    question = (
        "How many patients were enrolled in the SWOG myeloma trial, and what dose of sorafenib did they get?"
    )
    stream = events(plain_client.post("/ask/stream", json={"question": question}).text)
    sentences = [data for kind, data in stream if kind == "sentence"]
    assert [kind for kind, _ in stream] == ["citations", *["sentence"] * len(sentences), "final"]
    assert len(sentences) >= 2 and " ".join(sentences) == stream[-1][1]["answer"]
    declined = events(plain_client.post("/ask/stream", json={"question": UNANSWERABLE}).text)
    assert declined[-1][1]["abstained"] is True
    unknown = plain_client.post("/ask/stream", json={"question": QUESTION, "doc_ids": ["no-such-doc"]})
    assert unknown.status_code == 404  # refused before the stream starts


@pytest.fixture(scope="module")
def server(
    corpus_index: Path, trained_causal: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`rag serve` with the trained tiny model."""
    env = {
        "RAG_INDEX_DIR": str(corpus_index),
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_GENERATION__MODEL_PATH": str(trained_causal),
        "RAG_GENERATION__MAX_NEW_TOKENS": "60",
        **{f"RAG_GENERATION__{k.upper()}": str(v) for k, v in SMALL_PROMPT.items()},
    }
    with running_server(env, tmp_path_factory.mktemp("server") / "server.log") as base:
        yield base


def test_the_openai_client_lists_models_and_gets_cited_answers(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="not-needed")
    assert {m.id for m in client.models.list()} == {
        "cited-rag",
        "cited-rag-extractive",
        "cited-rag-generative",
    }
    messages: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    completion = client.chat.completions.create(model="cited-rag-generative", messages=messages)
    message = completion.choices[0].message
    assert message.content == "The median PFS was 4.4 months [1]."
    extra = message.model_extra or {}
    assert extra["composer"] == "generative" and extra["citations"][0]["quote"].startswith("The median PFS")
    extractive = client.chat.completions.create(model="cited-rag", messages=messages).choices[0].message
    assert (
        "4.4 months" in (extractive.content or "")
        and (extractive.model_extra or {})["composer"] == "extractive"
    )


def test_the_openai_client_streams_the_verified_answer(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="not-needed")
    stream = client.chat.completions.create(
        model="cited-rag-generative", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "The median PFS was 4.4 months [1]."
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert (last.delta.model_extra or {})["citations"][0]["marker"] == 1
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


def test_a_client_that_leaves_mid_stream_leaves_no_error_behind(server: str) -> None:
    """The stream is cut after its first event; the server stops that answer and goes on."""
    for _ in range(3):
        with httpx.stream(
            "POST", f"{server}/ask/stream", json={"question": QUESTION, "mode": "generative"}, timeout=30
        ) as response:
            first = next(response.iter_lines())
            assert first == "event: citations"
    answer = httpx.post(f"{server}/ask", json={"question": QUESTION, "mode": "generative"}, timeout=60)
    assert answer.status_code == 200 and answer.json()["composer"] == "generative"
