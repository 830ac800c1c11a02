"""Index generations on disk: publishing, clean-up, readers across writes, the writer lock and
the old single-directory format. Fake embedder, small corpus: fast."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rag.index.store as store_module
from rag.durable import sha256_file
from rag.errors import ConflictError, IndexBusyError, IndexMismatchError
from rag.index.handle import open_latest
from rag.index.manifest import MANIFEST_FILE, Manifest
from rag.index.store import LEGACY_FILES, Index, Pointer, generation_numbers
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline
from rag.search.retrieval import HybridRetriever
from rag.settings import Settings
from rag.testing import FakeEmbedder
from tests.conftest import ROOT

DOCUMENTS = {
    "alpha": "Sorafenib was given at 400 mg twice daily. The median PFS was 4.4 months.",
    "beta": "Regorafenib improved overall survival. The hazard ratio was 0.63.",
    "gamma": "Fever within two weeks predicted a better outcome in liver cancer.",
}
HOLD_LOCK = """
import sys
from pathlib import Path
from rag.durable import writer_lock
with writer_lock(Path(sys.argv[1]), 10.0):
    print("LOCKED", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, text in DOCUMENTS.items():
        (corpus / f"{doc_id}.md").write_text(f"---\ntitle: About {doc_id}\n---\n{text}\n", encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def built(settings: Settings) -> Pipeline:
    pipeline = Pipeline(settings, FakeEmbedder(), None)
    pipeline.ingest()
    return pipeline


def add(pipeline: Pipeline, doc_id: str, text: str) -> int:
    """Add one document over the upload path; returns the generation that holds it."""
    settings = pipeline.settings
    record = {"doc_id": doc_id, "title": f"About {doc_id}", "text": text}
    report = pipeline.add_documents([stage_record(record, settings.upload_dir, settings.corpus_dir)])
    assert report.added == [doc_id] and report.generation is not None
    return report.generation


def generation_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("gen-"))


def test_each_write_publishes_a_new_generation_named_by_current(settings: Settings) -> None:
    root = settings.index_dir
    pipeline = built(settings)
    for expected, doc_id in enumerate(["delta", "epsilon"], start=2):
        assert add(pipeline, doc_id, f"Text of {doc_id} about remission.") == expected
        pointer = Pointer.read(root)
        data = json.loads((root / "CURRENT").read_text(encoding="utf-8"))
        assert (pointer.generation, pointer.directory) == (expected, f"gen-{expected:06d}")
        assert data["generation"] == expected
        manifest_path = root / pointer.directory / MANIFEST_FILE
        assert pointer.manifest_sha256 == sha256_file(manifest_path)
        manifest = Manifest.read(manifest_path)
        assert manifest.generation == expected and manifest.documents == len(DOCUMENTS) + expected - 1
        assert pipeline.index.generation == expected
        assert pipeline.document(doc_id).text == f"Text of {doc_id} about remission."
    # An unchanged corpus writes nothing.
    report = pipeline.ingest(prune=False).report
    assert not report.changed and report.generation == 3 and Pointer.read(root).generation == 3
    pipeline.close()


def test_at_most_two_generations_remain(settings: Settings) -> None:
    pipeline = built(settings)
    for i in range(5):
        add(pipeline, f"doc{i}", f"Document number {i} about fibrosis.")
        current = Pointer.read(settings.index_dir).generation
        assert generation_numbers(settings.index_dir) == [current - 1, current]
    assert generation_dirs(settings.index_dir) == ["gen-000005", "gen-000006"]
    pipeline.close()


def test_a_half_written_generation_is_ignored_by_readers_and_removed_by_the_next_writer(
    settings: Settings,
) -> None:
    root = settings.index_dir
    built(settings).close()
    # What a writer killed mid-commit leaves: a copy of the current generation, partly written,
    # and (killed earlier) an empty directory.
    shutil.copytree(root / "gen-000001", root / "gen-000002")
    (root / "gen-000002" / "segments" / "seg-000001.faiss").write_bytes(b"\x00" * 7)
    (root / "gen-000002" / MANIFEST_FILE).unlink()
    (root / "gen-000004").mkdir()

    reader = Pipeline(settings, FakeEmbedder(), None)
    assert reader.index.generation == 1
    assert reader.search("regorafenib hazard ratio", top_k=1)[0].doc_id == "beta"
    assert Index.open(root, reader.handle.spec).generation == 1

    writer = Pipeline(settings, FakeEmbedder(), None)
    assert add(writer, "delta", "Psoriasis went into remission during sorafenib.") == 2
    assert generation_dirs(root) == ["gen-000001", "gen-000002"]
    reopened = Index.open(root, reader.handle.spec)  # gen-000002 is now the complete one
    assert reopened.generation == 2 and reopened.chunks.document("delta") is not None
    reopened.close()
    assert reader.index.generation == 2  # the reader moves on to it
    reader.close()
    writer.close()


def test_a_failed_write_leaves_no_generation_behind(settings: Settings) -> None:
    root = settings.index_dir
    pipeline = built(settings)
    uploads = settings.upload_dir
    record = {"doc_id": "alpha", "title": "Clash", "text": "Another alpha."}
    with pytest.raises(ConflictError, match="alpha"):  # alpha belongs to a corpus file
        pipeline.add_documents([stage_record(record, uploads, settings.corpus_dir)])
    assert generation_dirs(root) == ["gen-000001"] and Pointer.read(root).generation == 1
    assert pipeline.document("alpha").text == DOCUMENTS["alpha"]
    pipeline.close()


def test_a_reader_keeps_its_generation_across_writes(settings: Settings) -> None:
    pipeline = built(settings)
    held = pipeline.index  # a request in progress took generation 1
    add(pipeline, "delta", "Regorafenib and psoriasis remission.")
    other = Pipeline(settings, FakeEmbedder(), None)
    add(other, "epsilon", "Regorafenib dosing in cirrhosis.")
    add(pipeline, "zeta", "Regorafenib toxicity.")
    other.close()
    assert not held.directory.exists()  # its files were removed; the open handles still read

    assert held.generation == 1 and held.chunks.counts()[0] == len(DOCUMENTS)
    assert held.chunks.document("delta") is None and held.chunks.document("beta") is not None
    vector = pipeline.embedder.embed(["regorafenib"])[0]
    hits = HybridRetriever(held.vectors, held.lexical).retrieve(vector, "regorafenib", 10)
    passages = held.chunks.passages([row for row, _ in hits])
    assert hits and {passages[row].doc_id for row, _ in hits} <= set(DOCUMENTS)
    assert passages[hits[0][0]].doc_id == "beta"
    assert pipeline.index.generation == 4 and pipeline.index.chunks.counts()[0] == 6
    pipeline.close()


def test_another_process_sees_a_new_generation_without_restarting(settings: Settings) -> None:
    writer = built(settings)
    reader = Pipeline(settings, FakeEmbedder(), None)  # another process, in effect: its own handle
    assert reader.index.generation == 1
    assert reader.search("psoriasis remission", top_k=1)[0].doc_id != "delta"
    add(writer, "delta", "Psoriasis went into remission during sorafenib.")
    assert reader.index.generation == 2
    assert reader.search("psoriasis remission", top_k=1)[0].doc_id == "delta"
    assert reader.handle.reload_error is None
    writer.delete_document("delta")
    assert reader.index.generation == 3 and reader.index.chunks.document("delta") is None
    writer.close()
    reader.close()


def publish_twice_while_opening(monkeypatch: pytest.MonkeyPatch, writer: Pipeline) -> list[int]:
    """Make the next open of the index read CURRENT, then let `writer` publish two generations
    (which removes the one being opened) before it goes on; returns the generation it read."""
    read_manifest = store_module.current_manifest
    raced: list[int] = []

    def publish_twice_meanwhile(root: Path) -> tuple[Pointer, Path, Manifest]:
        found = read_manifest(root)
        if not raced:
            raced.append(found[0].generation)
            add(writer, "epsilon", "Regorafenib dosing in cirrhosis.")
            add(writer, "zeta", "Regorafenib toxicity.")
        return found

    monkeypatch.setattr(store_module, "current_manifest", publish_twice_meanwhile)
    return raced


def test_a_generation_removed_while_it_is_opened_gives_way_to_the_newer_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process publishes twice while a reader opens a generation, so that generation's
    files go (two are kept): the reader opens the newest one, and reports no damage."""
    writer = built(settings)
    reader = Pipeline(settings, FakeEmbedder(), None)
    assert reader.index.generation == 1
    add(writer, "delta", "Psoriasis went into remission during sorafenib.")
    raced = publish_twice_while_opening(monkeypatch, writer)
    assert reader.index.generation == 4 and raced == [2]
    assert reader.handle.reload_error is None
    assert reader.search("regorafenib toxicity", top_k=1)[0].doc_id == "zeta"
    writer.close()
    reader.close()


def test_a_newer_generation_found_damaged_is_not_tried_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race, but the newest generation is damaged too: the reader keeps serving the
    one it has, reports the damage, and does not open that generation again on every request
    (it remembers the CURRENT its last attempt read, not the one it started from)."""
    writer = built(settings)
    reader = Pipeline(settings, FakeEmbedder(), None)
    assert reader.index.generation == 1
    add(writer, "delta", "Psoriasis went into remission during sorafenib.")
    raced = publish_twice_while_opening(monkeypatch, writer)
    read_manifest = store_module.current_manifest

    def newest_damaged(root: Path) -> tuple[Pointer, Path, Manifest]:
        if raced:  # the writer has published twice: damage the newest generation's manifest
            newest = root / Pointer.read(root).directory / MANIFEST_FILE
            newest.write_text(newest.read_text(encoding="utf-8") + " ", encoding="utf-8")
        return read_manifest(root)

    monkeypatch.setattr(store_module, "current_manifest", newest_damaged)
    opens: list[Path] = []
    real_open = Index.open

    def counted_open(root: Path, spec: object) -> Index:
        opens.append(root)
        return real_open(root, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(Index, "open", staticmethod(counted_open))
    assert reader.index.generation == 1 and raced == [2] and len(opens) == 2
    assert reader.handle.reload_error is not None and "damaged" in reader.handle.reload_error
    for _ in range(3):
        assert reader.handle.current().generation == 1
    assert len(opens) == 2, "the damaged generation was opened again"
    writer.close()
    reader.close()


def test_the_first_open_rides_out_the_same_race(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server starting while `rag ingest` publishes (Pipeline.load opens with open_latest)."""
    writer = built(settings)
    raced = publish_twice_while_opening(monkeypatch, writer)
    index, _ = open_latest(settings.index_dir, writer.handle.spec)
    assert index.generation == 3 and raced == [1]
    index.close()
    writer.close()


def test_a_writer_in_another_process_makes_writes_busy(settings: Settings) -> None:
    built(settings).close()
    (settings.corpus_dir / "delta.md").write_text("---\ntitle: D\n---\nNew text.\n", encoding="utf-8")
    impatient = settings.model_copy(update={"write_lock_timeout_s": 0.2})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(settings.index_dir / "LOCK")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        pipeline = Pipeline(impatient, FakeEmbedder(), None)
        with pytest.raises(IndexBusyError, match=rf"another process \(pid {holder.pid}\)"):
            pipeline.ingest()
        assert Pointer.read(settings.index_dir).generation == 1  # nothing was written
        assert generation_dirs(settings.index_dir) == ["gen-000001"]
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert pipeline.ingest().report.added == ["delta"]  # free again
    pipeline.close()


@pytest.mark.parametrize("how", ["plain", "rebuild_if_incompatible"])
def test_an_index_in_the_old_format_is_refused_then_rebuilt(settings: Settings, how: str) -> None:
    root = settings.index_dir
    built(settings).close()
    # Format 1 kept the files at the top of the index directory, with no CURRENT.
    for entry in (root / "gen-000001").iterdir():
        entry.rename(root / entry.name)
    (root / "gen-000001").rmdir()
    (root / "CURRENT").unlink()

    pipeline = Pipeline(settings, FakeEmbedder(), None)
    with pytest.raises(IndexMismatchError, match="older version") as refused:
        _ = pipeline.index
    assert "rag ingest --rebuild" in str(refused.value)

    report = (pipeline.ingest() if how == "plain" else pipeline.ingest(rebuild_if_incompatible=True)).report
    assert sorted(report.added) == sorted(DOCUMENTS)
    assert Pointer.read(root).generation == 1
    assert not any((root / name).exists() for name in LEGACY_FILES)  # the old files are gone
    assert pipeline.search("regorafenib hazard ratio", top_k=1)[0].doc_id == "beta"
    pipeline.close()


def test_the_next_writer_removes_a_killed_writers_temporary_pointer(settings: Settings) -> None:
    pipeline = built(settings)
    stray = settings.index_dir / ".CURRENT.tmp-999999-140000000000000"
    stray.write_text('{"generation": 2, "dire', encoding="utf-8")  # cut off mid-write
    add(pipeline, "delta", "Psoriasis went into remission.")
    pipeline.close()
    assert not stray.exists()
