"""Shared fixtures. Integration fixtures use the real bundled model and a real index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embedding import SentenceTransformerEmbedder
from rag.pipeline import Pipeline
from rag.settings import EmbeddingSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEEDS = ROOT.parent / "shared" / "seeds"
GOLD = ROOT / "eval" / "gold.jsonl"


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder.load(EmbeddingSettings())


@pytest.fixture(scope="session")
def corpus_index(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder
) -> Path:
    """An index of the real corpus, built once per test session with the real model."""
    index_dir = tmp_path_factory.mktemp("corpus-index") / "index"
    pipeline = Pipeline(Settings(corpus_dir=CORPUS, index_dir=index_dir), real_embedder, None)
    pipeline.ingest()
    pipeline.close()
    return index_dir


@pytest.fixture(scope="session")
def pipeline(corpus_index: Path, real_embedder: SentenceTransformerEmbedder) -> Iterator[Pipeline]:
    loaded = Pipeline(Settings(corpus_dir=CORPUS, index_dir=corpus_index), real_embedder, None)
    yield loaded
    loaded.close()
