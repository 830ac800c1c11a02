"""One store file serves every generation: a reader of generation G keeps seeing G's rows while
a writer adds the next, a write that was committed to the store but never published is undone
by the next writer, and rows no kept generation sees are purged."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.errors import IndexChangedError, IndexCorruptError
from rag.index.store import Index, verify_index
from rag.index.vocabulary import Lexicon
from rag.index.writer import IndexWriter
from rag.ingest.sync import sync
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline, index_spec
from rag.settings import Settings
from rag.testing import FakeEmbedder

NOTES = {
    "alpha": "Sorafenib was given at 400 mg twice daily. The median PFS was 4.4 months.",
    "beta": "Regorafenib improved overall survival. The hazard ratio was 0.63.",
    "gamma": "Fever within two weeks predicted a better outcome in liver cancer.",
}


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    settings.corpus_dir.mkdir()
    pipeline = Pipeline(settings, FakeEmbedder(), None)
    pipeline.ingest()
    for doc_id, text in NOTES.items():
        record = {"doc_id": doc_id, "title": f"About {doc_id}", "text": text}
        pipeline.add_documents([stage_record(record, settings.upload_dir, settings.corpus_dir)])
    return pipeline


def rows_of(store: Path, doc_id: str) -> list[tuple[int, int | None]]:
    with sqlite3.connect(store) as db:
        return db.execute(
            "SELECT born, died FROM documents WHERE doc_id = ? ORDER BY born", (doc_id,)
        ).fetchall()


def test_a_reader_keeps_its_generation_while_an_unpublished_write_is_undone(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    reader = Index.open(settings.index_dir, pipeline.handle.spec)
    before = reader.chunks.list_documents(), reader.chunks.counts()
    beta_rows = reader.chunks.row_ids_for_documents(["beta"])
    embedder = pipeline.embedder
    writer = IndexWriter(settings.index_dir, index_spec(embedder, settings))
    with writer:
        index = writer.index
        sync(index, [], embedder, pipeline.chunker, prune=False, remove=["beta"])
        index.chunks.commit()  # in the store, durably, but CURRENT still names the old generation
        # ...and the writer dies before publishing (leaving the block without commit()).
    assert rows_of(reader.chunks.path, "beta")[-1][1] == reader.generation + 1  # marked dead there
    assert (reader.chunks.list_documents(), reader.chunks.counts()) == before
    assert set(reader.chunks.passages(beta_rows)) == set(beta_rows)

    pipeline.add_documents(
        [
            stage_record(
                {"doc_id": "delta", "title": "D", "text": "Psoriasis went into remission."},
                settings.upload_dir,
                settings.corpus_dir,
            )
        ]
    )
    after = pipeline.index
    assert [died for _, died in rows_of(after.chunks.path, "beta")] == [None]  # alive again
    assert {d.doc_id for d in after.chunks.list_documents()} == {*NOTES, "delta"}
    assert after.chunks.counts() == after.chunks.counted()
    assert verify_index(settings.index_dir).problems == ()
    reader.close()


def test_rows_no_kept_generation_sees_are_purged(pipeline: Pipeline) -> None:
    store = pipeline.index.chunks.path
    pipeline.delete_document("alpha")
    deleted_in = pipeline.index.generation
    assert rows_of(store, "alpha")[-1][1] == deleted_in  # the previous generation still sees it
    record = {"doc_id": "epsilon", "title": "E", "text": "Lenvatinib was compared with sorafenib."}
    pipeline.add_documents([stage_record(record, pipeline.settings.upload_dir, pipeline.settings.corpus_dir)])
    assert rows_of(store, "alpha") == []  # neither the current nor the previous generation sees it
    with sqlite3.connect(store) as db:
        (orphans,) = db.execute(
            "SELECT count(*) FROM chunks WHERE doc_row NOT IN (SELECT doc_row FROM documents)"
        ).fetchone()
    assert orphans == 0
    assert verify_index(pipeline.settings.index_dir).problems == ()


def test_a_readers_word_vectors_are_read_when_first_compared_and_checked(pipeline: Pipeline) -> None:
    """Opening reads the vocabulary's words and frequencies; their vectors are read (and checked
    against their CRCs) by the first comparison, as the whole vocabulary read at once gives."""
    reader = Index.open(pipeline.settings.index_dir, pipeline.handle.spec)
    words, dfs, vectors = reader.chunks.vocabulary()
    eager = Lexicon(words, dfs, vectors, reader.chunks.counts()[1])
    queries = np.random.default_rng(18).standard_normal((6, reader.spec.dimension)).astype(np.float32)
    assert reader.lexicon.nearest(queries) == eager.nearest(queries)
    reader.close()

    damaged = Index.open(pipeline.settings.index_dir, pipeline.handle.spec)
    assert damaged.lexicon.contains("sorafenib")  # words and frequencies are there before any vector
    with sqlite3.connect(damaged.chunks.path) as db:
        (blob,) = db.execute(
            "SELECT vector FROM vocabulary WHERE word = 'sorafenib' AND died IS NULL"
        ).fetchone()
        changed = bytes([blob[0] ^ 0xFF]) + blob[1:]
        db.execute("UPDATE vocabulary SET vector = ? WHERE word = 'sorafenib' AND died IS NULL", (changed,))
    with pytest.raises(IndexCorruptError) as read:
        damaged.lexicon.nearest(queries)
    message = str(read.value)
    assert str(damaged.chunks.path) in message and "'sorafenib'" in message and "checksum" in message
    damaged.close()


def test_a_reader_whose_vocabulary_was_purged_is_told_to_open_the_index_again(pipeline: Pipeline) -> None:
    """A reader that first compares a word after two later writes purged its generation's
    vocabulary rows gets an error saying so, not another generation's words."""
    settings = pipeline.settings
    reader = Index.open(settings.index_dir, pipeline.handle.spec)
    for number in range(2):  # each one changes the frequency of words the reader's generation sees
        record = {"doc_id": f"more-{number}", "title": "M", "text": "Sorafenib and regorafenib again."}
        pipeline.add_documents([stage_record(record, settings.upload_dir, settings.corpus_dir)])
    queries = np.ones((1, reader.spec.dimension), dtype=np.float32)
    with pytest.raises(IndexChangedError, match="no longer holds the vocabulary of generation"):
        reader.lexicon.nearest(queries)
    reader.close()
    fresh = Index.open(settings.index_dir, pipeline.handle.spec)
    assert fresh.lexicon.nearest(queries)[0][0]  # the current generation's words
    fresh.close()


def test_a_request_that_outlived_two_writes_is_told_or_retried(pipeline: Pipeline) -> None:
    """A request pinned to a generation whose rows two later writes purged gets an error that
    says so (503 over HTTP), not a KeyError; the pipeline answers it again from the current one."""
    old = pipeline.index
    alpha_rows = old.chunks.row_ids_for_documents(["alpha"])
    pipeline.delete_document("alpha")
    record = {"doc_id": "delta", "title": "D", "text": "Lenvatinib was compared with sorafenib at 400 mg."}
    pipeline.add_documents([stage_record(record, pipeline.settings.upload_dir, pipeline.settings.corpus_dir)])
    with pytest.raises(IndexChangedError, match="removed by later writes"):
        old.chunks.passages(alpha_rows)
    question = "What dose of sorafenib was given?"
    vector = pipeline.embedder.embed([question])[0]
    with pytest.raises(IndexChangedError):
        pipeline.searcher.search(old, vector, question, 10)

    class Pinned:  # the handle as a request that took `old` before the writes saw it
        def __init__(self, handle: Any) -> None:
            self.handle, self.calls = handle, 0

        def current(self) -> Index:
            self.calls += 1
            return old if self.calls == 1 else self.handle.current()

    pinned = Pinned(pipeline.handle)
    pipeline.handle = pinned  # type: ignore[assignment]
    passages = pipeline.search(question, 10)
    assert pinned.calls == 2
    assert passages and "alpha" not in {p.doc_id for p in passages}
