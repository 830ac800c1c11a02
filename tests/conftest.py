"""Shared fixtures. Integration fixtures use the real bundled model and a real index."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.embed import Embedder, load_embedder
from rag.embed.torch import SentenceTransformerEmbedder
from rag.pipeline import Pipeline
from rag.settings import EmbeddingSettings, Settings

pytest_plugins = ["tests.support.generation_fixtures"]
# No test may reach a model hub, whichever test loads a model first (`make` exports these too).
os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEEDS = ROOT.parent / "shared" / "seeds"
GOLD = ROOT / "eval" / "gold.jsonl"
QUESTION = "What was the median PFS of sorafenib in renal cancer after bevacizumab or sunitinib?"
# In-process clients address the app as a browser on this machine would: by default the
# service answers only to loopback host names (DNS-rebinding defence).
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache of exported models for the whole session, servers and CLI runs included:
    the model is exported once, not once per temporary index."""
    cache = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_EMBEDDING__EXPORT_DIR", str(cache))
        yield cache


@pytest.fixture(scope="session")
def real_embedder(model_cache: Path) -> Embedder:
    """The default embedder (the bundled model on the default backend), as the service loads it."""
    return load_embedder(EmbeddingSettings(), model_cache)


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The same model run by sentence-transformers: the reference the exported backends must match."""
    return SentenceTransformerEmbedder.load(EmbeddingSettings(backend="torch"))


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """An index of the real corpus, built once per test session with the real model."""
    index_dir = tmp_path_factory.mktemp("corpus-index") / "index"
    pipeline = Pipeline(Settings(corpus_dir=CORPUS, index_dir=index_dir), real_embedder, None)
    pipeline.ingest()
    pipeline.close()
    return index_dir


@pytest.fixture(scope="session")
def pipeline(corpus_index: Path, real_embedder: Embedder) -> Iterator[Pipeline]:
    loaded = Pipeline(Settings(corpus_dir=CORPUS, index_dir=corpus_index), real_embedder, None)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def client(pipeline: Pipeline) -> Iterator[TestClient]:
    """The HTTP app over the shipped corpus's index, one per test module (a module that needs
    another app defines its own `client`)."""
    with TestClient(create_app(pipeline.settings, pipeline), base_url=LOCAL) as test_client:
        yield test_client
