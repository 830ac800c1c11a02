"""The index on disk as one unit: manifest, chunk store, FAISS vectors and BM25.

Layout of an index directory:
    manifest.json    what the index was built with (IndexSpec) and what it holds
    chunks.sqlite    documents, chunks, sentences, vocabulary (ChunkStore)
    vectors.faiss    chunk vectors, ids = chunk row ids
    bm25/            BM25 over the same chunks
Files are written to temporary names and renamed into place; the manifest goes last, so an
index whose write was interrupted fails its consistency check instead of loading half-built.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from rag.abbreviations import Abbreviations
from rag.chunkstore import ChunkStore
from rag.errors import REBUILD_HINT, IndexCorruptError, IndexNotFoundError
from rag.lexical import BM25Index
from rag.lexicon import Lexicon
from rag.manifest import MANIFEST_FILE, IndexSpec, Manifest, check_compatible
from rag.vectors import FaissVectorIndex

CHUNKS_FILE = "chunks.sqlite"
VECTORS_FILE = "vectors.faiss"
BM25_DIR = "bm25"


def corpus_fingerprint(document_hashes: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for doc_id in sorted(document_hashes):
        digest.update(f"{doc_id}\0{document_hashes[doc_id]}\n".encode())
    return digest.hexdigest()


class Index:
    def __init__(
        self,
        directory: Path,
        spec: IndexSpec,
        *,
        chunks: ChunkStore,
        vectors: FaissVectorIndex,
        lexical: BM25Index,
        manifest: Manifest | None,
    ) -> None:
        self.directory = directory
        self.spec = spec
        self.chunks = chunks
        self.vectors = vectors
        self.lexical = lexical
        self.manifest = manifest
        self.lexicon = self._load_lexicon()
        self.abbreviations = Abbreviations(chunks.abbreviations())

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / MANIFEST_FILE).is_file()

    @classmethod
    def open(cls, directory: Path, spec: IndexSpec) -> Index:
        """Open an existing index; raises if it is missing, built differently, or inconsistent."""
        if not cls.exists(directory):
            raise IndexNotFoundError(
                f"no index in {directory}", "run `rag ingest` to build it from the corpus"
            )
        manifest = Manifest.read(directory / MANIFEST_FILE)
        check_compatible(manifest.spec, spec, directory)
        chunks = ChunkStore.open(directory / CHUNKS_FILE, spec.dimension)
        vectors = FaissVectorIndex.read(directory / VECTORS_FILE, spec.dimension)
        lexical = BM25Index.read(directory / BM25_DIR)
        index = cls(directory, spec, chunks=chunks, vectors=vectors, lexical=lexical, manifest=manifest)
        index.verify()
        return index

    @classmethod
    def create(cls, directory: Path, spec: IndexSpec) -> Index:
        """A new, empty index in `directory` (anything already there is removed)."""
        if directory.exists():
            for name in (MANIFEST_FILE, CHUNKS_FILE, VECTORS_FILE):
                (directory / name).unlink(missing_ok=True)
            shutil.rmtree(directory / BM25_DIR, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        chunks = ChunkStore.open(directory / CHUNKS_FILE, spec.dimension, create=True)
        empty_vectors, empty_lexical = FaissVectorIndex.empty(spec.dimension), BM25Index.build([])
        return cls(
            directory, spec, chunks=chunks, vectors=empty_vectors, lexical=empty_lexical, manifest=None
        )

    def verify(self) -> None:
        """Every chunk has exactly one vector and one BM25 entry."""
        _, chunk_count, _ = self.chunks.counts()
        if not (chunk_count == self.vectors.size == self.lexical.size):
            raise IndexCorruptError(
                f"{self.directory} is inconsistent: {chunk_count} chunks, {self.vectors.size} vectors, "
                f"{self.lexical.size} BM25 entries",
                REBUILD_HINT,
            )

    def save(self) -> Manifest:
        """Commit the chunk store, then write vectors, BM25 and (last) the manifest."""
        self.abbreviations = Abbreviations(self.chunks.abbreviations())
        # Short forms are indexed as their long forms, so "OS" and "overall survival" match.
        rows = [
            (row, " ".join(self.abbreviations.expand(text, doc_id)))
            for row, doc_id, text in self.chunks.chunk_texts()
        ]
        self.lexical = BM25Index.build(rows)
        self.chunks.commit()
        tmp_vectors = self.directory / f"{VECTORS_FILE}.tmp"
        self.vectors.write(tmp_vectors)
        tmp_bm25 = self.directory / f"{BM25_DIR}.tmp"
        shutil.rmtree(tmp_bm25, ignore_errors=True)
        self.lexical.write(tmp_bm25)
        os.replace(tmp_vectors, self.directory / VECTORS_FILE)
        shutil.rmtree(self.directory / BM25_DIR, ignore_errors=True)
        os.replace(tmp_bm25, self.directory / BM25_DIR)
        documents, chunks, sentences = self.chunks.counts()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = Manifest(
            spec=self.spec,
            corpus_fingerprint=corpus_fingerprint(self.chunks.document_hashes()),
            documents=documents,
            chunks=chunks,
            sentences=sentences,
            created_at=self.manifest.created_at if self.manifest else now,
            updated_at=now,
        )
        tmp_manifest = self.directory / f"{MANIFEST_FILE}.tmp"
        tmp_manifest.write_text(manifest.to_json(), encoding="utf-8")
        os.replace(tmp_manifest, self.directory / MANIFEST_FILE)
        self.manifest = manifest
        self.lexicon = self._load_lexicon()
        self.verify()
        return manifest

    def close(self) -> None:
        self.chunks.close()

    def _load_lexicon(self) -> Lexicon:
        words, dfs, vectors = self.chunks.vocabulary()
        _, chunk_count, _ = self.chunks.counts()
        return Lexicon(words, dfs, vectors, chunk_count)
