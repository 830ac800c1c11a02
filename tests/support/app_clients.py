"""The app in-process over a small corpus, with the fake embedder: fast tests of the HTTP layer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ServerSettings
from rag.pipeline import Pipeline
from rag.testing import FakeEmbedder
from tests.conftest import LOCAL

KEY = "correct-horse-battery-staple"
AUTH = {"Authorization": f"Bearer {KEY}"}
PAPER = {
    "title": "Regorafenib after sorafenib",
    "text": "Regorafenib improved overall survival in liver cancer. The hazard ratio was 0.63.",
    "authors": "Bruix J, Qin S",
    "year": 2017,
    "metadata": {"pmid": "27932229"},
}


def make_client(tmp_path: Path, **settings: object) -> tuple[TestClient, Pipeline]:
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "sorafenib.md").write_text(
        "---\ntitle: Sorafenib in kidney cancer\n---\nSorafenib was given at 400 mg twice daily. "
        "The median PFS was 5.5 months.\n",
        encoding="utf-8",
    )
    config = ServerSettings(corpus_dir=corpus, index_dir=tmp_path / "index", **settings)  # type: ignore[arg-type]
    pipeline = Pipeline(config, FakeEmbedder(), None)
    pipeline.ingest()
    return TestClient(create_app(config, pipeline), base_url=LOCAL), pipeline
