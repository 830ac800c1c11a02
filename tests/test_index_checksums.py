"""Checksums are verified once per process, not at every open; `rag verify` re-hashes on demand.

Issue 18, point 5: a reader process hashes a generation's files the first time it opens them;
opening the same unchanged files again costs a `stat` each. A file changed since (its size,
inode or modification time differ) is hashed again and its damage named. Damage that keeps
all three (a bit flip with the time put back) is what `rag verify` is for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.durable import sha256_file
from rag.errors import IndexCorruptError
from rag.index import checksums
from rag.index.manifest import IndexSpec
from rag.index.store import Index, Pointer, verify_index
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.testing import FakeEmbedder
from tests.support.cli import rag
from tests.test_damage import damage_file, write_corpus


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus)
    pipeline = Pipeline(Settings(corpus_dir=corpus, index_dir=index), FakeEmbedder(), None)
    pipeline.ingest()
    pipeline.close()
    return index


VECTORS = "segments/seg-000001.faiss"


def generation(index: Path) -> Path:
    return index / Pointer.read(index).directory


def count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    hashed: list[Path] = []
    original = sha256_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return original(path)

    monkeypatch.setattr("rag.index.checksums.sha256_file", counting)
    return hashed


def spec_of(index: Path) -> IndexSpec:
    return Pipeline(Settings(index_dir=index), FakeEmbedder(), None).handle.spec


def test_a_second_open_in_the_same_process_hashes_nothing(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_of(index_dir)
    checksums.forget_all()  # as a fresh reader process
    hashed = count_hashes(monkeypatch)
    Index.open(index_dir, spec).close()
    files = len([p for p in generation(index_dir).rglob("*") if p.is_file()]) - 1  # not the manifest
    assert len(hashed) == files > 3
    hashed.clear()
    Index.open(index_dir, spec).close()
    assert hashed == []
    Index.open(index_dir, spec, rehash=True).close()
    assert len(hashed) == files


def test_the_writer_has_verified_what_it_wrote(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process that wrote a generation hashed every file as it wrote it: opening it hashes none."""
    hashed = count_hashes(monkeypatch)
    Index.open(index_dir, spec_of(index_dir)).close()
    assert hashed == []


def test_a_file_changed_after_it_was_verified_is_hashed_again_and_named(index_dir: Path) -> None:
    spec = spec_of(index_dir)
    Index.open(index_dir, spec).close()
    target = generation(index_dir) / VECTORS
    damage_file(target, "garbage")  # same size: only the modification time tells
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(IndexCorruptError, match=r"seg-000001\.faiss is damaged: its SHA-256"):
        Index.open(index_dir, spec)


def test_verify_rehashes_what_the_process_trusts(index_dir: Path) -> None:
    """A flipped byte with the modification time put back passes the cheap check of an open in
    this process, never `verify_index`, which names it; an intact index reports no problem."""
    spec = spec_of(index_dir)
    Index.open(index_dir, spec).close()
    intact = verify_index(index_dir)
    assert intact.problems == () and intact.files > 3 and intact.bytes > 0
    target = (
        generation(index_dir) / "segments" / "seg-000001.terms.json"
    )  # one term's first letter: still loads
    stat, data = target.stat(), bytearray(target.read_bytes())
    assert data[:2] == b'["'
    data[2] ^= 0x01
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    Index.open(index_dir, spec).close()
    found = verify_index(index_dir)
    assert len(found.problems) == 1 and "seg-000001.terms.json is damaged" in found.problems[0]


def test_verify_names_every_damaged_file_at_once(index_dir: Path) -> None:
    directory = generation(index_dir)
    damage_file(directory / VECTORS, "half")
    (directory / "segments" / "seg-000001.docs.npy").unlink()
    problems = verify_index(index_dir).problems
    assert any("seg-000001.faiss is damaged" in p for p in problems)
    assert any("seg-000001.docs.npy is missing" in p for p in problems)


@pytest.mark.integration
def test_rag_verify_command(index_dir: Path) -> None:
    intact = rag("verify", index=index_dir)
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout and f"generation {Pointer.read(index_dir).generation}" in intact.stdout
    damage_file(generation(index_dir) / VECTORS, "garbage")
    damaged = rag("verify", index=index_dir)
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
    assert "seg-000001.faiss is damaged" in damaged.stderr and "rag ingest --rebuild" in damaged.stdout
    missing = rag("verify", index=index_dir.parent / "nothing")
    assert missing.returncode == 1 and missing.stderr.startswith("error: no index in")


def test_files_of_removed_generations_are_forgotten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksums, "PRUNE_AT", 3)
    checksums.forget_all()
    old, new = tmp_path / "gen-000001", tmp_path / "gen-000002"
    for directory in (old, new):
        directory.mkdir()
        for name in ("a", "b"):
            (directory / name).write_bytes(name.encode())
    checksums.file_checksums(old)
    shutil.rmtree(old)  # the generation is removed
    checksums.file_checksums(new)  # the fourth entry: the two of the removed generation are dropped
    remembered = [path for path, _, _ in checksums._VERIFIED.values()]
    assert sorted(path.name for path in remembered) == ["a", "b"]
    assert all(path.parent == new for path in remembered)
    kept = new / "a"
    assert checksums.known_digest(checksums.FileIdentity.of(kept.stat())) == sha256_file(kept)


def test_a_damaged_segment_file_is_named_before_a_damaged_store(index_dir: Path) -> None:
    """The files are hashed while the store opens: with both damaged, the segment file is
    named, as when they were checked one after the other."""
    spec = spec_of(index_dir)
    damage_file(generation(index_dir) / VECTORS, "garbage")
    store = next(index_dir.glob("store-*.sqlite"))
    damage_file(store, "half")
    with pytest.raises(IndexCorruptError, match=r"seg-000001\.faiss is damaged: its SHA-256"):
        Index.open(index_dir, spec)
