"""Ray: distributed ingestion equals the single-process path; Ray Serve answers through replicas.

A local Ray instance (`num_cpus=2`) stands in for a cluster. These are the suite's heaviest
tests (about 2 minutes): `pytest -m "not ray"` skips them locally; CI runs them and fails if
Ray is missing (RAG_REQUIRE_RAY=1).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from api.settings import ServerSettings
from bench import pubmedqa
from rag.embed import Embedder
from rag.evaluation.pubmedqa import load_dataset, write_corpus
from rag.evaluation.runner import load_gold
from rag.pipeline import Pipeline
from rag.settings import RaySettings, Settings
from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.ray]
PUBMEDQA_SLICE = 40


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        if os.environ.get("RAG_REQUIRE_RAY") == "1":
            pytest.fail("Ray is not installed; .ci/run installs the distributed extra")
        pytest.skip("Ray is not installed (pip install '.[distributed]')")
    return ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray = _ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def stored(index_dir: Path) -> dict[str, dict[Any, np.ndarray]]:
    """Every vector in an index's chunk store: chunks by id, sentences by (chunk, span), words."""
    pointer = json.loads((index_dir / "CURRENT").read_text())
    manifest = json.loads((index_dir / pointer["directory"] / "manifest.json").read_text())
    with sqlite3.connect(index_dir / manifest["store"]) as db:  # the rows alive now: died IS NULL
        return {
            "chunks": {
                c: np.frombuffer(v, np.float32)
                for c, v in db.execute(
                    "SELECT c.chunk_id, c.vector FROM chunks c JOIN documents d USING (doc_row) "
                    "WHERE d.died IS NULL"
                )
            },
            "sentences": {
                (c, s, e): np.frombuffer(v, np.float32)
                for c, s, e, v in db.execute(
                    "SELECT c.chunk_id, s.start, s.end, s.vector FROM sentences s "
                    "JOIN chunks c ON s.chunk_row = c.row_id JOIN documents d USING (doc_row) "
                    "WHERE d.died IS NULL"
                )
            },
            "words": {
                w: np.frombuffer(v, np.float32)
                for w, v in db.execute("SELECT word, vector FROM vocabulary WHERE died IS NULL")
            },
        }


def assert_same_index(local: Path, distributed: Path) -> None:
    ours, theirs = stored(local), stored(distributed)
    for kind in ("chunks", "sentences", "words"):
        assert set(ours[kind]) == set(theirs[kind]), kind
        for key, vector in ours[kind].items():
            np.testing.assert_allclose(theirs[kind][key], vector, atol=1e-5, err_msg=f"{kind} {key}")


def ray_ingest(settings: Settings, embedder: Embedder) -> Pipeline:
    pipeline = Pipeline(
        settings.model_copy(update={"ray": RaySettings(actors=2, documents_per_batch=8)}), embedder, None
    )
    result = pipeline.ingest(engine="ray")
    assert result.report.added and not result.skipped
    return pipeline


@pytest.mark.skipif(
    not pubmedqa.DEFAULT_DATA.is_file(),
    reason=f"PubMedQA data not found at {pubmedqa.DEFAULT_DATA} (the ../shared checkout is absent)",
)
def test_ray_ingest_of_pubmedqa_abstracts_equals_the_single_process_path(
    local_ray: Any, real_embedder: Embedder, tmp_path: Path
) -> None:
    records = list(load_dataset(pubmedqa.DEFAULT_DATA).records.values())[:PUBMEDQA_SLICE]
    corpus = write_corpus(records, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "local")
    local = Pipeline(settings, real_embedder, None)
    local.ingest()
    distributed = ray_ingest(settings.model_copy(update={"index_dir": tmp_path / "ray"}), real_embedder)
    assert_same_index(tmp_path / "local", tmp_path / "ray")
    assert distributed.stats()["chunks"] == local.stats()["chunks"]
    manifest = json.loads(next((tmp_path / "ray").glob("gen-*/manifest.json")).read_text())
    assert manifest["vectors"] == {
        "structure": "flat",
        "factory": "IDMap2,Flat",
        "vectors": len(stored(tmp_path / "ray")["chunks"]),
    }


def test_ray_ingest_gives_the_same_answers_on_the_gold_set(
    local_ray: Any, real_embedder: Embedder, pipeline: Pipeline, tmp_path: Path
) -> None:
    distributed = ray_ingest(Settings(corpus_dir=CORPUS, index_dir=tmp_path / "ray"), real_embedder)
    assert_same_index(pipeline.settings.index_dir, tmp_path / "ray")
    for item in load_gold(ROOT / "eval" / "gold.jsonl"):
        ours, theirs = pipeline.ask(item.question), distributed.ask(item.question)
        assert theirs.answer == ours.answer, item.question
        assert [c.passage.chunk_id for c in theirs.citations] == [c.passage.chunk_id for c in ours.citations]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ray_serve_answers_through_two_replicas_and_writes_through_one_writer(
    local_ray: Any, corpus_index: Path, pipeline: Pipeline, tmp_path: Path
) -> None:
    from ray import serve

    from api.ray_serve import deploy

    shutil.copytree(corpus_index, tmp_path / "index")
    port = free_port()
    settings = ServerSettings(
        corpus_dir=CORPUS, index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads", port=port
    )
    deploy(settings, replicas=2, blocking=False)
    base = f"http://127.0.0.1:{port}"
    try:
        question = "What was the median PFS of sorafenib in renal cancer after bevacizumab or sunitinib?"
        expected = pipeline.ask(question)
        with httpx.Client(base_url=base, timeout=60) as client:
            pids = {client.get("/health").json()["pid"] for _ in range(40)}
            assert len(pids) == 2, pids  # both replicas answer
            body = client.post("/ask", json={"question": question}).json()
            assert body["answer"] == expected.answer
            assert body["citations"][0]["quote"] == expected.citations[0].quote
            note = "# Ward note\n\nThe median overall survival with cabozantinib was 10.2 months.\n"
            added = client.post("/documents", files={"file": ("ward-note.md", note.encode())})
            assert added.status_code == 200, added.text
            assert (tmp_path / "uploads" / "ward-note.md").is_file()  # written by the one writer
            # Every replica sees the new generation (requests are spread over both).
            answers = [
                client.post(
                    "/ask", json={"question": "What was the median overall survival with cabozantinib?"}
                ).json()["answer"]
                for _ in range(20)
            ]
            assert all("10.2 months" in answer for answer in answers), answers
            conflict = client.delete("/documents/sorafenib-mrcc-refractory-bevacizumab-sunitinib")
            assert conflict.status_code == 409 and "corpus file" in conflict.json()["detail"]
    finally:
        serve.shutdown()
