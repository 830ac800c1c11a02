"""Incremental ingestion and the index manifest, with a fake embedder (fast)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.durable import sha256_file
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.index.manifest import MANIFEST_FILE
from rag.index.store import POINTER_FILE, Index, Pointer
from rag.pipeline import Pipeline
from rag.settings import ChunkingSettings, RetrievalSettings, Settings
from rag.testing import FakeEmbedder


def write_doc(corpus: Path, doc_id: str, text: str, title: str = "A title") -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / f"{doc_id}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "alpha", "Sorafenib was given at 400 mg twice daily. The median PFS was 4.4 months.")
    write_doc(corpus, "beta", "Regorafenib improved overall survival. The hazard ratio was 0.63.")
    write_doc(corpus, "gamma", "Fever within two weeks predicted a better outcome in liver cancer.")
    return corpus


def make_pipeline(corpus: Path, embedder: FakeEmbedder, **settings: object) -> Pipeline:
    return Pipeline(
        Settings(corpus_dir=corpus, index_dir=corpus.parent / "index", **settings), embedder, None
    )  # type: ignore[arg-type]


def test_unchanged_corpus_embeds_nothing(corpus: Path) -> None:
    embedder = FakeEmbedder()
    first = make_pipeline(corpus, embedder).ingest()
    assert sorted(first.report.added) == ["alpha", "beta", "gamma"]
    assert embedder.embedded
    embedder.embedded.clear()
    again = make_pipeline(corpus, embedder).ingest()
    assert not again.report.changed
    assert embedder.embedded == []


def test_changes_are_applied_incrementally(corpus: Path) -> None:
    embedder = FakeEmbedder()
    pipeline = make_pipeline(corpus, embedder)
    pipeline.ingest()
    embedder.embedded.clear()
    write_doc(corpus, "beta", "Regorafenib improved overall survival. The hazard ratio was 0.50.")
    (corpus / "gamma.md").unlink()
    write_doc(corpus, "delta", "Psoriasis went into remission during sorafenib.")
    report = pipeline.ingest().report
    assert (report.added, report.updated, report.removed, report.unchanged) == (
        ["delta"],
        ["beta"],
        ["gamma"],
        1,
    )
    assert all("alpha" not in text and "400 mg" not in text for text in embedder.embedded)
    assert any("0.50" in text for text in embedder.embedded)
    index = pipeline.index
    assert {d.doc_id for d in index.chunks.list_documents()} == {"alpha", "beta", "delta"}
    _, chunks, _ = index.chunks.counts()
    assert index.vectors.size == index.lexical.size == chunks
    assert all("0.63" not in p.text for p in pipeline.search("hazard ratio", top_k=10))
    assert pipeline.search("psoriasis remission", top_k=1)[0].doc_id == "delta"


def test_keep_missing_does_not_prune(corpus: Path, tmp_path: Path) -> None:
    pipeline = make_pipeline(corpus, FakeEmbedder())
    pipeline.ingest()
    extra = tmp_path / "extra"
    write_doc(extra, "epsilon", "Another document.")
    report = pipeline.ingest([extra], prune=False).report
    assert report.added == ["epsilon"] and report.removed == []
    assert len(pipeline.index.chunks.list_documents()) == 4


def test_index_built_with_another_model_or_chunking_is_refused(corpus: Path) -> None:
    make_pipeline(corpus, FakeEmbedder()).ingest()
    index_dir = corpus.parent / "index"
    other_model = make_pipeline(corpus, FakeEmbedder(model_id="other-model"))
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild") as error:
        _ = other_model.index
    assert "other-model" in str(error.value)
    other_chunking = make_pipeline(corpus, FakeEmbedder(), chunking=ChunkingSettings(chunk_tokens=100))
    with pytest.raises(IndexMismatchError, match="chunking"):
        other_chunking.ingest()
    rebuilt = other_chunking.ingest(rebuild=True)
    assert sorted(rebuilt.report.added) == ["alpha", "beta", "gamma"]
    assert Index.exists(index_dir)
    generations = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))
    assert len(generations) <= 2, generations  # the current one and the one before it


def test_bm25_parameters_are_read_at_query_time_not_from_the_index(corpus: Path) -> None:
    """An index whose manifest recorded k1 and b with its analyzer (as versions before they
    became retrieval settings wrote) still opens, and ranks with the settings' values; a
    difference in the analysis itself is still refused."""
    make_pipeline(corpus, FakeEmbedder()).ingest()
    root = corpus.parent / "index"
    manifest_path = next(root.glob("gen-*")) / MANIFEST_FILE
    recorded = json.loads(manifest_path.read_text(encoding="utf-8"))

    def rewrite_manifest() -> None:
        manifest_path.write_text(json.dumps(recorded), encoding="utf-8")
        pointer = Pointer.read(root)
        (root / POINTER_FILE).write_text(
            replace(pointer, manifest_sha256=sha256_file(manifest_path)).to_json(), encoding="utf-8"
        )

    assert "k1" not in recorded["spec"]["lexical"]
    recorded["spec"]["lexical"] |= {"k1": 1.5, "b": 0.75}
    rewrite_manifest()

    def bm25_scores(k1: float, b: float) -> list[float]:
        settings = RetrievalSettings(mode="bm25", bm25_k1=k1, bm25_b=b)
        pipeline = make_pipeline(corpus, FakeEmbedder(), retrieval=settings)
        try:
            return [p.score for p in pipeline.search("sorafenib survival months", top_k=3)]
        finally:
            pipeline.close()

    assert bm25_scores(0.9, 0.4) != bm25_scores(1.5, 0.75)
    recorded["spec"]["lexical"]["stemmer"] = "porter"
    rewrite_manifest()
    with pytest.raises(IndexMismatchError, match="lexical analyzer"):
        _ = make_pipeline(corpus, FakeEmbedder()).index


def test_serving_rebuilds_an_incompatible_index(corpus: Path) -> None:
    make_pipeline(corpus, FakeEmbedder()).ingest()
    rechunked = make_pipeline(corpus, FakeEmbedder(), chunking=ChunkingSettings(chunk_tokens=100))
    report = rechunked.ingest(rebuild_if_incompatible=True).report
    assert sorted(report.added) == ["alpha", "beta", "gamma"]
    assert rechunked.index.manifest is not None
    assert rechunked.index.manifest.spec.chunking["chunk_tokens"] == 100


def test_missing_index_says_how_to_build_it(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path / "corpus", FakeEmbedder())
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        pipeline.ask("anything")


def test_empty_corpus_gives_an_empty_valid_index(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    pipeline = make_pipeline(tmp_path / "corpus", FakeEmbedder())
    pipeline.ingest()
    assert pipeline.stats()["documents"] == 0
    assert pipeline.ask("What was the median PFS?").abstained


def test_manifest_records_what_the_index_was_built_with(corpus: Path) -> None:
    pipeline = make_pipeline(corpus, FakeEmbedder())
    pipeline.ingest()
    manifest = pipeline.index.manifest
    assert manifest is not None
    assert manifest.spec.model_id == "fake-embedder"
    assert manifest.spec.chunking["chunk_tokens"] == 256
    assert (manifest.documents, manifest.chunks) == (3, pipeline.stats()["chunks"])
    assert len(manifest.corpus_fingerprint) == 64
