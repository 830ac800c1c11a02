"""Writes add segments and tombstones instead of rebuilding BM25 and copying the vectors, and
an index so written (or then optimized) ranks exactly as one built from scratch from the same
documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.embed import Embedder
from rag.index.vocabulary import Lexicon
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.testing import FakeEmbedder
from rag.text import stem
from tests.conftest import CORPUS
from tests.support.cli import rag

QUERIES = [
    "median overall survival sorafenib",
    "hand-foot skin reaction dose reduction",
    "regorafenib after sorafenib progression",
    "thyroid cancer progression-free survival",
    "FLT3-ITD acute myeloid leukemia",
    "hypertension as a biomarker",
]
UPLOADS = [
    {"doc_id": f"note-{i}", "title": f"Note {i}", "text": text}
    for i, text in enumerate(
        [
            "Sorafenib was given to 40 patients with thyroid cancer; median progression-free survival "
            "was 9 months.",
            "Hand-foot skin reaction led to dose reduction in 12 of 50 patients on xylofenib.",
            "Regorafenib after sorafenib progression improved overall survival in a small cohort.",
        ]
    )
]


def rankings(pipeline: Pipeline) -> dict[tuple[str, str], list[str]]:
    return {
        (mode, query): [p.chunk_id for p in pipeline.search(query, top_k=10, mode=mode)]  # type: ignore[arg-type]
        for mode in ("bm25", "dense", "hybrid")
        for query in QUERIES
    }


@pytest.fixture
def written(tmp_path: Path) -> Pipeline:
    """The shipped corpus, then three uploads in three writes and one of them deleted."""
    shutil.copytree(CORPUS, tmp_path / "corpus", ignore=shutil.ignore_patterns("uploads"))
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    pipeline = Pipeline(settings, FakeEmbedder(), None)
    pipeline.ingest()
    for record in UPLOADS:
        pipeline.add_documents([stage_record(record, settings.upload_dir, settings.corpus_dir)])
    pipeline.delete_document("note-1")
    return pipeline


def test_writes_add_segments_and_rank_as_a_fresh_build(written: Pipeline, tmp_path: Path) -> None:
    segments = written.index.segments.describe()
    assert segments["segments"] == 3  # the corpus and two uploads; the deleted upload's segment is dropped
    assert segments["dead"] == 0 and segments["live"] == written.index.chunks.counts()[1]
    generation = written.index.directory / "segments"
    first = written.index.segments.list[0].name
    for suffix in (".docs.npy", ".rows.npy", ".terms.json", ".faiss"):  # shared with the previous generation
        assert (generation / f"{first}{suffix}").stat().st_nlink >= 2

    fresh = Pipeline(
        written.settings.model_copy(update={"index_dir": tmp_path / "fresh"}), FakeEmbedder(), None
    )
    fresh.ingest()
    assert fresh.index.segments.describe()["segments"] == 1
    assert rankings(written) == rankings(fresh)
    fresh.close()


def test_the_lexicon_after_writes_equals_a_reload_of_the_vocabulary(written: Pipeline) -> None:
    """Writes update the lexicon with the words they touched instead of reloading it all."""
    index = written.index
    words, dfs, vectors = index.chunks.vocabulary()
    reloaded = Lexicon(words, dfs, vectors, index.chunks.counts()[1])
    lexicon = index.lexicon
    assert lexicon.size == reloaded.size == len(words)
    assert not lexicon.contains("xylofenib")  # only the deleted upload used it
    for word in [*words, "xylofenib", "regorafenib", "nonexistentword"]:
        assert lexicon.contains(word) == reloaded.contains(word), word
        stemmed = stem([word.lower()])[0]
        assert lexicon.idf(stemmed) == pytest.approx(reloaded.idf(stemmed)), word
    assert lexicon.nearest(vectors[::7]) == reloaded.nearest(vectors[::7])


def test_a_deleted_corpus_document_is_a_tombstone_until_optimize(written: Pipeline) -> None:
    # The smallest document: deleting it leaves its segment under the 20% that forces a rewrite.
    victim = min(written.index.chunks.list_documents(), key=lambda d: d.chunks).doc_id
    Path(written.index.chunks.document(victim).path or "").unlink()
    written.ingest()
    segments = written.index.segments.describe()
    assert segments["dead"] > 0 and segments["segments"] == 3
    tombstoned = rankings(written)
    assert all(not c.startswith(f"{victim}#") for r in tombstoned.values() for c in r)
    result = written.optimize()
    assert result.after == {"segments": 1, "live": segments["live"], "dead": 0}
    assert rankings(written) == tombstoned  # statistics over live rows: merging changes no score
    assert written.optimize().generation == result.generation  # nothing left to do: no new generation


@pytest.mark.integration
def test_rag_optimize_command(tmp_path: Path, corpus_index: Path, real_embedder: Embedder) -> None:
    index = tmp_path / "index"
    shutil.copytree(corpus_index, index)
    settings = Settings(corpus_dir=CORPUS, index_dir=index, uploads_dir=tmp_path / "uploads")
    pipeline = Pipeline(settings, real_embedder, None)
    # Six short notes in one write: one segment, and deleting one leaves it under 20% dead.
    topics = ("fatigue", "diarrhoea", "rash", "hypertension", "alopecia", "weight loss")
    notes = [
        {"doc_id": f"note-{i}", "title": f"Note {i}", "text": f"Sorafenib and {topic}: a note."}
        for i, topic in enumerate(topics)
    ]
    pipeline.add_documents([stage_record(note, settings.upload_dir, settings.corpus_dir) for note in notes])
    pipeline.delete_document("note-0")
    pipeline.close()
    first = rag("optimize", index=index)
    assert first.returncode == 0, first.stderr
    assert "segments 2 -> 1" in first.stdout and "deleted rows dropped 1" in first.stdout
    again = rag("optimize", index=index)
    assert again.returncode == 0 and "already optimal" in again.stdout
