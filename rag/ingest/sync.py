"""Incremental ingestion: bring an index in line with a set of documents.

Only added and changed documents are chunked and embedded; removed and changed documents
lose their old chunks. An unchanged corpus does no embedding work at all. `sync` changes a
writable index generation; `rag.ingest.updater` commits it.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.documents import Chunk, Document, Span
from rag.embed import Embedder
from rag.index.store import Index
from rag.ingest.chunking import Chunker
from rag.ingest.dedupe import fingerprint
from rag.progress import Progress, no_progress
from rag.text.abbreviations import find_definitions
from rag.text.analyzer import vocabulary_words

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    texts_embedded: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)
    generation: int | None = None
    """The index generation that holds the result (None: nothing was written)."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class Encoded:
    """Documents chunked and embedded, ready to be stored."""

    chunked: list[tuple[Document, list[Chunk]]]
    chunk_vectors: NDArray[np.float32]
    """One row per chunk, in the order of `chunked`."""
    sentence_vectors: dict[str, NDArray[np.float32]]
    """By the sentence's embedded text (a sentence in two chunks' overlap is embedded once)."""
    shard_sizes: list[int] = field(default_factory=list)
    """Consecutive runs of chunk_vectors computed together (one per worker batch); they are
    merged into the vector index shard by shard. Empty: one run."""


class Encoder(Protocol):
    """Chunks and embeds: here in this process (`LocalEncoder`), or on a cluster
    (`rag.ingest.distributed.RayEncoder`)."""

    def encode_documents(self, documents: list[Document], progress: Progress) -> Encoded: ...

    def embed_texts(self, texts: list[str], label: str, progress: Progress) -> NDArray[np.float32]: ...


class LocalEncoder:
    def __init__(self, embedder: Embedder, chunker: Chunker, batch_size: int = 256) -> None:
        self._embedder = embedder
        self._chunker = chunker
        self._batch_size = batch_size

    def encode_documents(self, documents: list[Document], progress: Progress) -> Encoded:
        chunked = [(doc, self._chunker.chunk(doc)) for doc in documents]
        chunk_vectors, sentence_vectors = _embed(chunked, self._embedder, progress, self._batch_size)
        return Encoded(chunked, chunk_vectors, sentence_vectors)

    def embed_texts(self, texts: list[str], label: str, progress: Progress) -> NDArray[np.float32]:
        advance = progress(label, sum(map(len, texts))) if texts else no_progress(label, 0)
        return _embed_texts(texts, self._embedder, advance, self._batch_size)


def sync(
    index: Index,
    documents: Sequence[Document],
    embedder: Embedder,
    chunker: Chunker,
    *,
    prune: bool = True,
    prune_under: Sequence[Path] | None = None,
    remove: Sequence[str] = (),
    progress: Progress = no_progress,
    batch_size: int = 256,
    encoder: Encoder | None = None,
) -> IngestReport:
    """Apply the difference between `documents` and the index's contents to `index`.

    With `prune`, documents in the index that are not in `documents` are removed: all of them,
    or with `prune_under` only those read from files under those paths (the files that were
    just read). Ids in `remove` are removed in any case. The caller saves (commits) the index
    if anything changed. Chunking and embedding are done by `encoder` (default: in this process).
    """
    encoder = encoder or LocalEncoder(embedder, chunker, batch_size)
    report = IngestReport()
    clock = time.perf_counter()
    wanted = {doc.doc_id: doc for doc in documents}
    # Without pruning only the named documents can change: the rest of the index is not read.
    existing = index.chunks.document_hashes(None if prune else [*wanted, *remove])
    prunable = set(existing) if prune_under is None else index.chunks.documents_under(prune_under)
    to_add = [doc for doc in documents if existing.get(doc.doc_id) != doc.content_hash]
    to_remove = [
        d
        for d in existing
        if (prune and d not in wanted and d in prunable)
        or (d in wanted and existing[d] != wanted[d].content_hash)
        or (d in remove and d not in wanted)
    ]
    report.unchanged = sum(1 for doc in documents if existing.get(doc.doc_id) == doc.content_hash)
    report.added = [doc.doc_id for doc in to_add if doc.doc_id not in existing]
    report.updated = [doc.doc_id for doc in to_add if doc.doc_id in existing]
    report.removed = [d for d in to_remove if d not in wanted]
    if not to_add and not to_remove:
        report.timings_s["compare"] = time.perf_counter() - clock
        return report

    encoded = encoder.encode_documents(to_add, progress)
    chunked, chunk_vectors, sentence_vectors = (
        encoded.chunked,
        encoded.chunk_vectors,
        encoded.sentence_vectors,
    )
    report.texts_embedded = len(chunk_vectors) + len(sentence_vectors)
    report.timings_s["chunk+embed"] = time.perf_counter() - clock

    clock = time.perf_counter()
    removed_rows = _remove_documents(index, to_remove)
    added_rows = _add_documents(index, chunked, chunk_vectors, sentence_vectors)
    report.timings_s["store"] = time.perf_counter() - clock

    clock = time.perf_counter()
    new_words = index.chunks.words_without_vectors()
    if new_words:
        vectors = encoder.embed_texts(new_words, "vocabulary", progress)
        index.chunks.set_word_vectors(new_words, vectors)
        report.texts_embedded += len(new_words)
    report.timings_s["vocabulary"] = time.perf_counter() - clock

    index.vectors.remove(removed_rows)
    rows = np.array(added_rows, dtype=np.int64)
    if encoded.shard_sizes:
        bounds = np.cumsum([0, *encoded.shard_sizes])
        index.vectors.merge([(rows[a:b], chunk_vectors[a:b]) for a, b in itertools.pairwise(bounds)])
    else:
        index.vectors.add(rows, chunk_vectors)
    report.chunks_added = len(added_rows)
    report.chunks_removed = len(removed_rows)
    return report


def _remove_documents(index: Index, doc_ids: list[str]) -> list[int]:
    """Delete documents from the chunk store; returns their chunk row ids."""
    vocabulary: Counter[str] = Counter()
    rows: list[int] = []
    for doc_id in doc_ids:
        for text in index.chunks.embed_texts(doc_id):
            vocabulary.update(vocabulary_words(text))
        rows.extend(index.chunks.remove_document(doc_id))
    index.chunks.update_vocabulary(Counter(), vocabulary)
    return rows


def _add_documents(
    index: Index,
    chunked: list[tuple[Document, list[Chunk]]],
    chunk_vectors: NDArray[np.float32],
    sentence_vectors: dict[str, NDArray[np.float32]],
) -> list[int]:
    """Insert documents into the chunk store; returns the new chunk row ids, in order."""
    vocabulary: Counter[str] = Counter()
    rows: list[int] = []
    position = 0
    for doc, chunks in chunked:
        vectors = chunk_vectors[position : position + len(chunks)]
        position += len(chunks)
        per_chunk = [[sentence_vectors[sentence_embed_text(doc, c, s)] for s in c.sentences] for c in chunks]
        rows.extend(
            index.chunks.add_document(
                doc, chunks, vectors, per_chunk, find_definitions(doc.text), fingerprint=fingerprint(doc)
            )
        )
        for chunk in chunks:
            vocabulary.update(vocabulary_words(chunk.embed_text))
    index.chunks.update_vocabulary(vocabulary, Counter())
    return rows


def sentence_embed_text(doc: Document, chunk: Chunk, span: Span) -> str:
    """The text embedded for a sentence: the chunk's title prefix, then the sentence."""
    prefix = chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)]
    return prefix + doc.text[chunk.start + span.start : chunk.start + span.end]


def _embed(
    chunked: list[tuple[Document, list[Chunk]]], embedder: Embedder, progress: Progress, batch_size: int
) -> tuple[NDArray[np.float32], dict[str, NDArray[np.float32]]]:
    chunk_texts = [c.embed_text for _, chunks in chunked for c in chunks]
    # A sentence in the overlap of two chunks is embedded once.
    sentences = sorted(
        {sentence_embed_text(doc, c, s) for doc, chunks in chunked for c in chunks for s in c.sentences}
    )
    # One bar for both, counted in characters (a chunk costs several sentences' time), so its
    # time left is the time left for the whole embedding, most of an ingest.
    total = sum(map(len, chunk_texts)) + sum(map(len, sentences))
    advance = progress("texts", total) if total else no_progress("texts", 0)
    chunk_vectors = _embed_texts(chunk_texts, embedder, advance, batch_size)
    vectors = _embed_texts(sentences, embedder, advance, batch_size)
    return chunk_vectors, dict(zip(sentences, vectors, strict=True))


def _embed_texts(
    texts: list[str], embedder: Embedder, advance: Callable[[int], None], batch_size: int
) -> NDArray[np.float32]:
    """Embed `texts` a batch at a time; `advance` is told the characters of each batch."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        parts.append(embedder.embed(batch))
        advance(sum(map(len, batch)))
    return np.concatenate(parts)
