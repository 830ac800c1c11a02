"""The index on disk: immutable generations behind one atomically replaced pointer.

Layout of an index directory:
    CURRENT          {"generation": 7, "directory": "gen-000007", "manifest_sha256": "..."}
    LOCK             the writer lock (flock); holds the pid of the process writing
    store-000001.sqlite  documents, chunks, sentences, vocabulary (ChunkStore): one file for
                     every generation, its rows stamped with the generations that see them
    gen-000006/      the previous generation, kept for readers that are switching over
    gen-000007/      manifest.json   spec, counts, the store's name, and the size and SHA-256
                                     of every file of the generation
                     segments/       the chunks' BM25 postings and vectors, in immutable
                                     segments with tombstones (rag/index/segments.py)
A generation is never changed once CURRENT points at it. A writer adds the next one: its
rows go into the store stamped with its number (invisible to readers of older generations),
its segment files into a new directory (segments that did not change are hard links, not
copies); it commits the store, fsyncs every file and only then replaces CURRENT.
A crash at any point leaves CURRENT at a complete generation, and the next writer removes
what the half-written one left (its directory, its rows in the store). Readers check every
segment file against the manifest before trusting it, once per process
(rag/index/checksums.py), and every stored text or vector against its CRC when they read it;
`rag verify` re-hashes and re-checks everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rag.durable import sha256_file
from rag.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.index.checksums import file_checksums, file_problems
from rag.index.chunkstore import ChunkStore
from rag.index.lexical import LexicalIndex
from rag.index.manifest import MANIFEST_FILE, IndexSpec, Manifest, check_compatible
from rag.index.segment_vectors import SegmentVectors
from rag.index.segments import Segments, segment_name
from rag.index.store_file import store_name, store_problems
from rag.index.vocabulary import Lexicon
from rag.settings import VectorSettings
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import Analyzer

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

POINTER_FILE = "CURRENT"
LOCK_FILE = "LOCK"
GENERATION_PREFIX = "gen-"
SEGMENTS_DIR = "segments"
LEGACY_FILES = (MANIFEST_FILE, "chunks.sqlite", "vectors.faiss", "bm25")  # format 1 kept them at the top
FINGERPRINT_MODULUS = 2**256


def corpus_fingerprint(
    document_hashes: dict[str, str], *, base: str | None = None, removed: dict[str, str] | None = None
) -> str:
    """A digest of the (doc id, content hash) pairs of a corpus: the sum of their SHA-256s modulo
    2^256, so a write updates it from `base` (the previous digest) with the documents it added
    and `removed`, never re-reading the whole corpus."""
    total = int(base, 16) if base else 0

    def term(doc_id: str, content_hash: str) -> int:
        return int(hashlib.sha256(f"{doc_id}\0{content_hash}\n".encode()).hexdigest(), 16)

    total += sum(term(d, h) for d, h in document_hashes.items())
    total -= sum(term(d, h) for d, h in (removed or {}).items())
    return f"{total % FINGERPRINT_MODULUS:064x}"


@dataclass(frozen=True)
class Pointer:
    generation: int
    directory: str
    manifest_sha256: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "generation": self.generation,
                "directory": self.directory,
                "manifest_sha256": self.manifest_sha256,
            }
        )

    @classmethod
    def read(cls, root: Path) -> Pointer:
        path = root / POINTER_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pointer = cls(int(data["generation"]), str(data["directory"]), str(data["manifest_sha256"]))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(f"{path} is damaged ({exc})", REBUILD_HINT) from exc
        if pointer.directory != generation_name(pointer.generation):
            raise IndexCorruptError(f"{path} names an invalid generation directory", REBUILD_HINT)
        return pointer


def generation_name(number: int) -> str:
    return f"{GENERATION_PREFIX}{number:06d}"


def generation_numbers(root: Path) -> list[int]:
    if not root.is_dir():
        return []
    numbers = []
    for entry in root.iterdir():
        suffix = entry.name.removeprefix(GENERATION_PREFIX)
        if entry.name.startswith(GENERATION_PREFIX) and suffix.isdigit() and entry.is_dir():
            numbers.append(int(suffix))
    return sorted(numbers)


def pointer_stamp(root: Path) -> tuple[int, int] | None:
    """Changes whenever CURRENT is replaced (a new inode); cheap enough to check per request."""
    try:
        stat = (root / POINTER_FILE).stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


class Index:
    """One generation of the index, opened."""

    def __init__(
        self,
        root: Path,
        generation: int,
        spec: IndexSpec,
        *,
        chunks: ChunkStore,
        segments: Segments,
        manifest: Manifest | None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.root = root
        self.generation = generation
        self.directory = root / generation_name(generation)
        self.spec = spec
        self.chunks = chunks
        self._use(segments)
        self.manifest = manifest
        self.lexicon = lexicon or self._load_lexicon()
        self.abbreviations = Abbreviations(chunks.abbreviations())

    def _use(self, segments: Segments) -> None:
        self.segments = segments
        self.lexical = LexicalIndex(segments.list)
        self.vectors = SegmentVectors(segments.list, self.spec.dimension)

    @property
    def analyzer(self) -> Analyzer:
        """The words of texts as this generation's BM25 index reads them (its abbreviations)."""
        return Analyzer(self.abbreviations)

    @staticmethod
    def exists(root: Path) -> bool:
        """True when `root` holds an index in the current format (possibly a damaged one)."""
        return (root / POINTER_FILE).is_file()

    @classmethod
    def open(cls, root: Path, spec: IndexSpec, *, rehash: bool = False) -> Index:
        """Open the current generation; raises if it is missing, built differently, or damaged.

        Files this process has verified before (and that have not changed) are not hashed
        again unless `rehash`."""
        if not cls.exists(root):
            if (root / MANIFEST_FILE).is_file():
                raise IndexMismatchError(f"{root} was written by an older version of rag", REBUILD_HINT)
            raise IndexNotFoundError(f"no index in {root}", "run `rag ingest` to build it from the corpus")
        pointer, directory, manifest = current_manifest(root)
        check_compatible(manifest.spec, spec, root)
        # The segment files are hashed in other threads while the store is opened and the
        # vocabulary read from it (hashlib and SQLite let go of the interpreter lock), and every
        # one is verified before any is read: nothing unverified is used.
        with ThreadPoolExecutor(max_workers=1) as pool:
            checked = pool.submit(verify_files, directory, manifest, rehash=rehash)
            try:
                chunks = ChunkStore.open(
                    root / manifest.store_file(),
                    spec.dimension,
                    generation=pointer.generation,
                    read_only=True,
                    counts=(manifest.documents, manifest.chunks, manifest.sentences),
                )
                try:
                    lexicon = load_lexicon(chunks, spec.dimension)
                except BaseException:
                    chunks.close()
                    raise
            except BaseException:
                checked.result()  # damaged segment files are named first, as before the store
                raise
            try:
                checked.result()
                segments = Segments.read(directory / SEGMENTS_DIR, spec.dimension)
                index = cls(
                    root,
                    pointer.generation,
                    spec,
                    chunks=chunks,
                    segments=segments,
                    manifest=manifest,
                    lexicon=lexicon,
                )
                index.verify()
            except BaseException:
                chunks.close()
                raise
        return index

    @classmethod
    def create(cls, root: Path, generation: int, spec: IndexSpec) -> Index:
        """A new, empty, writable generation."""
        directory = root / generation_name(generation)
        directory.mkdir(parents=True)
        path = root / store_name(generation)
        for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)  # a crashed rebuild's
        chunks = ChunkStore.open(path, spec.dimension, generation=generation, create=True)
        return cls(root, generation, spec, chunks=chunks, segments=Segments([]), manifest=None)

    def fork(self, generation: int) -> Index:
        """The next generation, writable, on top of this one (which is not touched: what the
        write adds and deletes is stamped with `generation`, which readers of this one ignore)."""
        self.lexicon.load_vectors()  # before the write's commit can purge the rows they are read from
        directory = self.root / generation_name(generation)
        directory.mkdir(parents=True)
        chunks = ChunkStore.open(
            self.chunks.path,
            self.spec.dimension,
            generation=generation,
            published=self.generation,
            counts=self.chunks.counts(),
        )
        return Index(
            self.root,
            generation,
            self.spec,
            chunks=chunks,
            segments=self.segments,  # immutable: the write makes new ones
            manifest=self.manifest,
            lexicon=self.lexicon,  # the same words until the write changes them (reloaded then)
        )

    def verify(self) -> None:
        """Every chunk has exactly one vector and one live BM25 entry."""
        _, chunk_count, _ = self.chunks.counts()
        if not (chunk_count == self.vectors.size == self.lexical.size):
            raise IndexCorruptError(
                f"{self.directory} is inconsistent: {chunk_count} chunks, {self.vectors.size} vectors, "
                f"{self.lexical.size} BM25 entries",
                REBUILD_HINT,
            )

    def write_files(self, policy: VectorSettings, *, optimize: bool = False) -> Manifest:
        """Write the segments and the manifest (with every file's checksum) into this generation.

        The chunks this write added (with the vectors waiting in `vectors.pending`) become one
        new segment and the ones it deleted are tombstoned; segments are then merged as the
        tiered policy (`optimize`: into one) asks, and each segment's vectors are given the
        structure `policy` wants at its size (flat or IVF)."""
        self.abbreviations = Abbreviations(self.chunks.abbreviations())
        # Short forms are indexed as their long forms, so "OS" and "overall survival" match.
        analyzer = self.analyzer

        def analyse(rows: Iterable[tuple[int, str, str]]) -> list[tuple[int, list[str]]]:
            return [(row, analyzer.search_terms(text, doc_id)) for row, doc_id, text in rows]

        added = analyse(self.chunks.chunk_texts(after=self.segments.max_row_id))
        pending = self.vectors.pending
        if pending.ids().tolist() != [row for row, _ in added]:
            raise IndexCorruptError(
                f"{self.directory}: the new chunks and their vectors differ", REBUILD_HINT
            )
        segments = self.segments.changed(
            segment_name(self.generation), added, pending, self.chunks.removed_rows, self.generation
        )
        segments = segments.merged(
            self.generation,
            lambda rows: analyse(self.chunks.chunk_texts(rows=rows.tolist())),
            policy,
            force=optimize,
        )
        self._use(segments.fitted(policy))
        # Rows neither this generation nor the previous one (kept for readers) sees are dropped.
        self.chunks.commit(keep_from=self.generation - 1)
        self.segments.write(self.directory / SEGMENTS_DIR)
        documents, chunks, sentences = self.chunks.counts()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = Manifest(
            spec=self.spec,
            corpus_fingerprint=corpus_fingerprint(
                self.chunks.added_hashes,
                base=self.manifest.corpus_fingerprint if self.manifest else None,
                removed=self.chunks.removed_hashes,
            ),
            documents=documents,
            chunks=chunks,
            sentences=sentences,
            created_at=self.manifest.created_at if self.manifest else now,
            updated_at=now,
            generation=self.generation,
            store=self.chunks.path.name,
            files=file_checksums(self.directory),
            vectors=self.vectors.describe(),
        )
        (self.directory / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        self.manifest = manifest
        # The words this write touched are re-read; the rest of the vocabulary is not.
        changes = self.chunks.vocabulary_of(self.chunks.touched_words)
        self.lexicon = self.lexicon.updated(changes, chunks)
        self.verify()
        return manifest

    def close(self) -> None:
        self.chunks.close()

    def _load_lexicon(self) -> Lexicon:
        words, dfs, vectors = self.chunks.vocabulary()
        _, chunk_count, _ = self.chunks.counts()
        return Lexicon(words, dfs, vectors, chunk_count)


def load_lexicon(chunks: ChunkStore, dimension: int) -> Lexicon:
    """The vocabulary of a published generation: its words and frequencies now, their vectors
    when first needed (read then through a connection of their own at the same generation, so
    closing `chunks` does not stop them; a writer reads them before it changes the store,
    `Index.fork`)."""
    words, dfs = chunks.vocabulary_words()
    path, generation, counts = chunks.path, chunks.generation, chunks.counts()

    def vectors() -> NDArray[np.float32]:
        store = ChunkStore.open(path, dimension, generation=generation, read_only=True, counts=counts)
        try:
            return store.vocabulary_vectors(words)
        finally:
            store.close()

    return Lexicon(words, dfs, vectors, counts[1])


def verify_files(directory: Path, manifest: Manifest, *, rehash: bool = False) -> None:
    """Raise IndexCorruptError naming the first file that is missing, truncated or changed."""
    problems = file_problems(directory, manifest.files, rehash=rehash)
    if problems:
        raise IndexCorruptError(problems[0], REBUILD_HINT)


@dataclass(frozen=True)
class Verification:
    """What `rag verify` found: the generation checked, its files and their size, and every
    problem (empty: the index is intact)."""

    generation: int | None
    files: int
    bytes: int
    problems: tuple[str, ...]


def current_manifest(root: Path) -> tuple[Pointer, Path, Manifest]:
    """CURRENT, the generation directory it names and that generation's manifest, checked
    against the checksum CURRENT records; raises IndexCorruptError naming what is damaged."""
    pointer = Pointer.read(root)
    directory = root / pointer.directory
    if not directory.is_dir():
        raise IndexCorruptError(f"{directory}, named in {root / POINTER_FILE}, is missing", REBUILD_HINT)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file() or sha256_file(manifest_path) != pointer.manifest_sha256:
        raise IndexCorruptError(
            f"{manifest_path} is missing or damaged (its checksum does not match {POINTER_FILE})",
            REBUILD_HINT,
        )
    return pointer, directory, Manifest.read(manifest_path)


def _count_problems(store: Path, generation: int, manifest: Manifest) -> list[str]:
    """The manifest's counts against the store's rows of that generation."""
    chunks = ChunkStore.open(store, manifest.spec.dimension, generation=generation, read_only=True)
    try:
        counted = chunks.counted()
    finally:
        chunks.close()
    recorded = (manifest.documents, manifest.chunks, manifest.sentences)
    if counted == recorded:
        return []
    return [
        f"{store} holds {counted} documents, chunks and sentences for generation {generation}, "
        f"its manifest says {recorded}"
    ]


def verify_index(root: Path) -> Verification:
    """Re-hash every file of the current generation against its manifest; nothing is trusted
    from an earlier check. Damage is reported by name, not raised."""
    if not Index.exists(root):
        raise IndexNotFoundError(f"no index in {root}", "run `rag ingest` to build it from the corpus")
    try:
        pointer, directory, manifest = current_manifest(root)
    except IndexCorruptError as exc:
        return Verification(None, 0, 0, (exc.message,))
    problems = file_problems(directory, manifest.files, rehash=True)
    size = sum(int(f.get("bytes", 0)) for f in manifest.files.values())
    try:
        store = root / manifest.store_file()
    except IndexCorruptError as exc:
        return Verification(pointer.generation, len(manifest.files), size, (*problems, exc.message))
    problems += store_problems(store) or _count_problems(store, pointer.generation, manifest)
    size += store.stat().st_size if store.is_file() else 0
    return Verification(pointer.generation, len(manifest.files) + 1, size, tuple(problems))
