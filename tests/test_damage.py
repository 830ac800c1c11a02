"""A damaged index is reported (which file, and how to fix it), never crashed on.

Each case damages one file of a copy of a small index (truncated to half, to zero bytes, a
random range overwritten, or deleted) and checks that opening it raises an error naming the
file with the `rag ingest --rebuild` hint, in this process and in a fresh one (which must exit
with status 1, not die of a signal), and that a rebuild repairs it.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.embed import Embedder
from rag.errors import IndexCorruptError, IndexNotFoundError, RagError
from rag.index.store import Index, Pointer, verify_index
from rag.index.store_file import check_header, connect
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline, index_spec
from rag.settings import Settings
from rag.testing import FakeEmbedder
from tests.conftest import LOCAL, ROOT
from tests.support.cli import rag

REBUILD = "rag ingest --rebuild"
DOCUMENTS = {
    "alpha": "Sorafenib was given at 400 mg twice daily. The median PFS was 4.4 months.",
    "beta": "Regorafenib improved overall survival. The hazard ratio was 0.63.",
    "gamma": "Fever within two weeks predicted a better outcome in liver cancer.",
    "lenvatinib": "Lenvatinib was compared with sorafenib in a phase 3 trial.",
    "skin": "Hand-foot skin reaction was the most common adverse event.",
}
REMOVED = {"cabozantinib": "Cabozantinib was studied after sorafenib."}  # ingested, then deleted: a tombstone
STORE = "store-000001.sqlite"  # in the index directory, shared by the generations
TARGETS = (
    STORE,
    "manifest.json",
    "segments/segments.json",
    "segments/seg-000001.faiss",
    "segments/seg-000001.terms.json",
    "segments/seg-000001.offsets.npy",
    "segments/seg-000001.docs.npy",
    "segments/seg-000001.freqs.npy",
    "segments/seg-000001.lengths.npy",
    "segments/seg-000001.rows.npy",
    "segments/seg-000001.dead-000002.npy",
    "CURRENT",
)
VECTORS = "segments/seg-000001.faiss"
MODES = ("half", "empty", "garbage", "delete")
# A store is read a row at a time: damage inside it is found when that row is read, or by `rag
# verify` (test_damage_inside_the_store_is_found_when_read_and_by_verify); opening finds a
# missing, empty or truncated one.
CASES = [(target, mode) for target in TARGETS for mode in MODES if (target, mode) != (STORE, "garbage")] + [
    ("CURRENT", "missing-generation")
]
OPEN_SCRIPT = """
import json, sys
from pathlib import Path
from rag.errors import RagError
from rag.index.manifest import IndexSpec
from rag.index.store import Index
try:
    Index.open(Path(sys.argv[1]), IndexSpec(**json.loads(sys.argv[2])))
except RagError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
print("opened")
"""


def write_corpus(corpus: Path, documents: dict[str, str] = DOCUMENTS) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for doc_id, text in documents.items():
        (corpus / f"{doc_id}.md").write_text(f"---\ntitle: About {doc_id}\n---\n{text}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small index (five documents, fake embedder): <dir>/corpus and <dir>/index, in its second
    generation, which deleted a sixth document (one dead row of six in the lexical segment)."""
    directory = tmp_path_factory.mktemp("damage")
    write_corpus(directory / "corpus", DOCUMENTS | REMOVED)
    pipeline = Pipeline(
        Settings(corpus_dir=directory / "corpus", index_dir=directory / "index"), FakeEmbedder(), None
    )
    pipeline.ingest()
    (directory / "corpus" / "cabozantinib.md").unlink()
    pipeline.ingest()
    pipeline.close()
    with sqlite3.connect(directory / "index" / STORE) as store:  # everything in the store file itself
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    segments = directory / "index" / "gen-000002" / "segments"
    assert {p.name for p in segments.iterdir()} >= {t.removeprefix("segments/") for t in TARGETS if "/" in t}
    return directory


def settings_for(built: Path, index: Path) -> Settings:
    return Settings(corpus_dir=built / "corpus", index_dir=index)


def damage_file(path: Path, mode: str) -> None:
    """Damage one file in place; `garbage` overwrites a seeded random range with random bytes."""
    data = path.read_bytes()
    assert data, f"{path} is already empty"
    if mode == "half":
        path.write_bytes(data[: len(data) // 2])
    elif mode == "empty":
        path.write_bytes(b"")
    elif mode == "garbage":
        rng = random.Random(zlib.crc32(path.name.encode()))
        start = rng.randrange(len(data))
        length = min(rng.randint(8, 256), len(data) - start)
        damaged = data[:start] + rng.randbytes(length) + data[start + length :]
        assert damaged != data and len(damaged) == len(data)
        path.write_bytes(damaged)
    elif mode == "delete":
        path.unlink()
    else:
        raise AssertionError(mode)


def damage(index: Path, target: str, mode: str) -> Path:
    """Damage `target` (relative to the current generation, or CURRENT); returns the path to name."""
    if mode == "missing-generation":
        pointer = Pointer.read(index)
        moved = dataclasses.replace(pointer, generation=pointer.generation + 5)
        moved = dataclasses.replace(moved, directory=f"gen-{moved.generation:06d}")
        (index / "CURRENT").write_text(moved.to_json(), encoding="utf-8")
        return index / moved.directory
    path = index / target if target in {"CURRENT", STORE} else index / Pointer.read(index).directory / target
    damage_file(path, mode)
    return path


def damaged_copy(built: Path, destination: Path, target: str, mode: str) -> tuple[Path, Path]:
    index = destination / "index"
    shutil.copytree(built / "index", index)
    return index, damage(index, target, mode)


def expected_error(target: str, mode: str) -> type[RagError]:
    # Without CURRENT the directory holds no index as far as a reader can tell; plain
    # `rag ingest` builds one (test_deleted_pointer_is_no_index_and_ingest_builds_one).
    return IndexNotFoundError if (target, mode) == ("CURRENT", "delete") else IndexCorruptError


def check_message(message: str, index: Path, named: Path, target: str, mode: str) -> None:
    if expected_error(target, mode) is IndexNotFoundError:
        assert str(index) in message and "rag ingest" in message, message
        return
    assert str(named) in message, message
    assert REBUILD in message, message


def case_id(case: tuple[str, str]) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize(("target", "mode"), CASES, ids=[case_id(c) for c in CASES])
def test_damage_is_reported_and_a_rebuild_repairs_it(
    built: Path, tmp_path: Path, target: str, mode: str
) -> None:
    index, named = damaged_copy(built, tmp_path, target, mode)
    settings = settings_for(built, index)
    pipeline = Pipeline(settings, FakeEmbedder(), None)
    kind = expected_error(target, mode)

    with pytest.raises(kind) as opened:
        Index.open(index, pipeline.handle.spec)
    check_message(str(opened.value), index, named, target, mode)
    with pytest.raises(kind) as through_pipeline:
        _ = pipeline.index
    assert str(through_pipeline.value) == str(opened.value)
    if kind is IndexCorruptError:
        with pytest.raises(IndexCorruptError):  # a plain ingest does not paper over damage
            pipeline.ingest()

    result = pipeline.ingest(rebuild=True)
    assert sorted(result.report.added) == sorted(DOCUMENTS)
    repaired = Pipeline(settings, FakeEmbedder(), None)
    fresh = repaired.index
    documents, chunks, _ = fresh.chunks.counts()
    assert documents == len(DOCUMENTS) and chunks == fresh.vectors.size == fresh.lexical.size
    assert repaired.search("regorafenib hazard ratio", top_k=1)[0].doc_id == "beta"
    pipeline.close()
    repaired.close()


def test_damage_inside_the_store_is_found_when_read_and_by_verify(built: Path, tmp_path: Path) -> None:
    """A chunk's text changed inside the store file: the index opens (nothing reads that row
    yet), the search that would quote it fails naming the store, and `rag verify` finds it;
    a damaged table page is found by `rag verify` too."""
    index = tmp_path / "index"
    shutil.copytree(built / "index", index)
    store = index / STORE
    data = store.read_bytes()
    original = DOCUMENTS["beta"].encode()
    assert data.count(original) >= 1
    store.write_bytes(data.replace(original, original.replace(b"0.63", b"0.99")))
    settings = settings_for(built, index)
    pipeline = Pipeline(settings, FakeEmbedder(), None)
    with pytest.raises(IndexCorruptError) as read:
        pipeline.search("regorafenib hazard ratio", top_k=5)
    assert str(store) in str(read.value) and "checksum" in str(read.value) and REBUILD in str(read.value)
    pipeline.close()
    problems = verify_index(index).problems
    assert problems and all(str(store) in p for p in problems), problems

    garbled = tmp_path / "garbled"
    shutil.copytree(built / "index", garbled)
    data = bytearray((garbled / STORE).read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size : page_size + 64] = random.Random(18).randbytes(64)  # page 2's header and cells
    (garbled / STORE).write_bytes(bytes(data))
    problems = verify_index(garbled).problems
    assert problems and str(garbled / STORE) in problems[0], problems
    assert verify_index(built / "index").problems == ()


def open_in_subprocess(index: Path, spec: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(index), spec],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_damage_is_reported_by_a_fresh_process_without_crashing(built: Path, tmp_path: Path) -> None:
    """Every case opened in its own interpreter: exit status 1 with the message, no signal."""
    settings = settings_for(built, built / "index")
    spec = json.dumps(dataclasses.asdict(index_spec(FakeEmbedder(), settings)))
    damaged = [(case, *damaged_copy(built, tmp_path / case_id(case), *case)) for case in CASES]
    with ThreadPoolExecutor(max_workers=2) as pool:  # this machine has two cores
        results = list(pool.map(lambda item: open_in_subprocess(item[1], spec), damaged))
    for ((target, mode), index, named), result in zip(damaged, results, strict=True):
        assert result.returncode == 1, (target, mode, result.returncode, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
        check_message(result.stderr, index, named, target, mode)
    # The undamaged index opens in the same way (the script is not what fails).
    intact = open_in_subprocess(built / "index", spec)
    assert intact.returncode == 0 and intact.stdout.strip() == "opened", intact.stderr


def test_deleted_pointer_is_no_index_and_ingest_builds_one(built: Path, tmp_path: Path) -> None:
    index, _ = damaged_copy(built, tmp_path, "CURRENT", "delete")
    pipeline = Pipeline(settings_for(built, index), FakeEmbedder(), None)
    result = pipeline.ingest()
    assert sorted(result.report.added) == sorted(DOCUMENTS)
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("gen-")) == ["gen-000001"]
    assert pipeline.index.chunks.counts()[0] == len(DOCUMENTS)
    pipeline.close()


# --- a server whose index is damaged by another process -----------------------------------


@pytest.fixture
def served(built: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    """A server on a copy of the index; another process (a second Pipeline) then writes a new
    generation, whose vectors.faiss is damaged before the server opens it."""
    index = tmp_path / "index"
    shutil.copytree(built / "index", index)
    settings = settings_for(built, index).model_copy(update={"uploads_dir": tmp_path / "uploads"})
    server = Pipeline(settings, FakeEmbedder(), None)
    with TestClient(create_app(settings, server), base_url=LOCAL) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/stats").json()["generation"] == 2
        other = Pipeline(settings, FakeEmbedder(), None)
        record = {"doc_id": "delta", "title": "Psoriasis", "text": "Psoriasis went into remission."}
        report = other.add_documents([stage_record(record, settings.upload_dir, settings.corpus_dir)])
        other.close()
        assert report.generation == 3
        damage_file(index / "gen-000003" / VECTORS, "garbage")
        yield client, settings
    server.close()


def test_server_keeps_answering_from_the_old_generation_and_ready_names_the_damage(
    served: tuple[TestClient, Settings],
) -> None:
    client, settings = served
    found = client.post("/search", json={"query": "psoriasis remission regorafenib", "top_k": 10})
    assert found.status_code == 200, found.text
    assert {p["doc_id"] for p in found.json()["results"]} <= set(DOCUMENTS)  # gen 2: no "delta"
    assert client.get("/stats").json()["generation"] == 2
    ready = client.get("/ready")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "damaged"
    assert str(settings.index_dir / "gen-000003" / VECTORS) in body["detail"]
    assert REBUILD in body["detail"]

    # Repaired by another process: the server picks up the new generation and is ready again.
    repairer = Pipeline(settings, FakeEmbedder(), None)
    repairer.ingest(rebuild=True)
    repairer.close()
    assert client.post("/search", json={"query": "psoriasis"}).status_code == 200
    assert client.get("/ready").status_code == 200
    assert client.get("/stats").json()["generation"] == 4


def test_ready_alone_notices_a_damaged_new_generation(served: tuple[TestClient, Settings]) -> None:
    client, _ = served
    ready = client.get("/ready")
    assert ready.status_code == 503, ready.text
    assert VECTORS in ready.json()["detail"]


# --- the CLI ---------------------------------------------------------------------------


@pytest.mark.integration
def test_cli_reports_a_damaged_index_in_one_line(tmp_path: Path, real_embedder: Embedder) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus)
    pipeline = Pipeline(Settings(corpus_dir=corpus, index_dir=index), real_embedder, None)
    pipeline.ingest()
    pipeline.close()
    named = damage(index, VECTORS, "garbage")
    result = rag("stats", index=index, corpus=corpus)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert str(named) in result.stderr and REBUILD in result.stderr
    assert result.stdout == ""


def test_fixture_index_matches_the_fake_spec(built: Path) -> None:
    """The copies above are damaged versions of an index that opens."""
    settings = settings_for(built, built / "index")
    index = Index.open(settings.index_dir, index_spec(FakeEmbedder(), settings))
    assert index.chunks.counts()[0] == len(DOCUMENTS)
    index.close()


def test_a_store_that_a_checkpoint_is_lengthening_is_not_called_truncated(
    built: Path, tmp_path: Path
) -> None:
    """A checkpoint in another process writes the store's new page count before the pages that
    lengthen the file: a store that reaches its size while it is checked is intact, and one that
    stays short is truncated."""
    store = tmp_path / STORE
    whole = (built / "index" / STORE).read_bytes()
    half = len(whole) // 2
    store.write_bytes(whole[:half])

    def lengthen() -> None:
        with store.open("r+b") as file:
            file.seek(half)
            file.write(whole[half:])

    checkpoint = threading.Timer(0.15, lengthen)
    checkpoint.start()
    check_header(store)
    checkpoint.join()
    assert store.read_bytes() == whole
    store.write_bytes(whole[:half])
    with pytest.raises(IndexCorruptError, match="is truncated"):
        check_header(store)


def test_a_store_whose_checkpoint_was_killed_opens_with_every_row(built: Path, tmp_path: Path) -> None:
    """A writer killed inside a checkpoint leaves the header's new page count written and the
    pages that lengthen the file only in the write-ahead log: SQLite reads them from there, so
    the store is intact (CI caught this as a false "is truncated" in the crash test)."""
    store = tmp_path / STORE
    shutil.copyfile(built / "index" / STORE, store)
    before = store.stat().st_size
    writer = sqlite3.connect(store)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE filler (data BLOB)")
    writer.executemany("INSERT INTO filler VALUES (?)", [(bytes(4000),) for _ in range(50)])
    writer.commit()
    log = Path(f"{store}-wal").read_bytes()
    writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
    checkpointed = store.read_bytes()
    writer.close()
    assert len(checkpointed) > before
    # The state after the kill: the checkpoint wrote every page below the old end, the header
    # with them, and none of those past it; the log is intact and no reader's index is left.
    store.write_bytes(checkpointed[:before])
    Path(f"{store}-wal").write_bytes(log)
    Path(f"{store}-shm").unlink(missing_ok=True)
    reader = connect(store, read_only=True)  # checks the header first
    assert reader.execute("SELECT count(*) FROM filler").fetchone() == (50,)
    assert reader.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    reader.close()
    # Without its log the same short file is truncated.
    store.write_bytes(checkpointed[:before])
    Path(f"{store}-wal").unlink(missing_ok=True)
    with pytest.raises(IndexCorruptError, match="is truncated"):
        check_header(store)
