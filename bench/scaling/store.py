"""The chunk store: insert time, file size, lookup latency and SQLite VM steps per lookup."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import scaling
from bench.scaling.config import (
    CHUNKS_PER_DOCUMENT,
    DIMENSION,
    GENERATION_BLOCK,
    LOOKUP_ROWS,
    SEED,
    SENTENCES_PER_CHUNK,
    VECTOR_POOL,
)
from bench.scaling.data import TextModel, normalized, sentence_spans
from bench.scaling.measure import latency, timed
from rag.documents import Chunk, Document
from rag.index.chunkstore import ChunkStore
from rag.ingest.dedupe import fingerprint

# The sampling knobs (WARMUP_QUERIES, ...) are read from the package at call time, not imported,
# so that the tests' `monkeypatch.setattr(scaling, ...)` reaches them.


def store_benchmark(sizes: Sequence[int]) -> dict[str, Any]:
    text = TextModel.create(np.random.default_rng([SEED, 2]))
    results = [store_size_benchmark(text, n) for n in sizes]
    return {
        "insert": "ChunkStore.add_document",
        "chunks_per_document": CHUNKS_PER_DOCUMENT,
        "sentences_per_chunk": SENTENCES_PER_CHUNK,
        "lookup_rows": LOOKUP_ROWS,
        "sizes": results,
    }


def store_size_benchmark(text: TextModel, n: int) -> dict[str, Any]:
    rng = np.random.default_rng([SEED, 3, n])
    with tempfile.TemporaryDirectory(prefix="rag-bench-store-") as folder:
        path = Path(folder) / "store.sqlite"
        _, insert_s = timed(lambda: fill_store(path, text, n, rng))
        size_mb = round(path.stat().st_size / 1e6, 1)
        return {"n": n, "insert_s": round(insert_s, 1), "file_mb": size_mb} | store_lookups(path, n, rng)


def fill_store(path: Path, text: TextModel, n: int, rng: np.random.Generator) -> None:
    pool = normalized(rng.standard_normal((VECTOR_POOL, DIMENSION)).astype(np.float32))
    store = ChunkStore.open(path, DIMENSION, generation=1, create=True)
    try:
        for number, texts in enumerate(document_texts(text, n, rng)):
            document, chunks = fake_document(number, texts)
            rows = (np.arange(len(chunks)) + number * CHUNKS_PER_DOCUMENT) % VECTOR_POOL
            sentence_vectors = [
                [pool[(r + s) % VECTOR_POOL] for s in range(len(c.sentences))]
                for r, c in zip(rows, chunks, strict=True)
            ]
            store.add_document(
                document, chunks, pool[rows], sentence_vectors, fingerprint=fingerprint(document)
            )
        store.commit()
    finally:
        store.close()


def document_texts(text: TextModel, n: int, rng: np.random.Generator) -> Iterator[list[str]]:
    """Chunk texts grouped into documents, generated a block at a time."""
    for start in range(0, n, GENERATION_BLOCK):
        texts = text.chunks(min(GENERATION_BLOCK, n - start), rng)
        for first in range(0, len(texts), CHUNKS_PER_DOCUMENT):
            yield texts[first : first + CHUNKS_PER_DOCUMENT]


def fake_document(number: int, texts: list[str]) -> tuple[Document, list[Chunk]]:
    doc_id = f"doc-{number:07d}"
    title = " ".join(texts[0].split(" ", 8)[:8]).capitalize()
    body = "\n\n".join(texts)
    document = Document(doc_id, title, body, "A. Author; B. Author", "Journal", 2020, f"pmid:{number}")
    chunks = []
    start = 0
    for ordinal, chunk_text in enumerate(texts):
        end = start + len(chunk_text)
        spans = sentence_spans(chunk_text)
        chunks.append(
            Chunk(
                f"{doc_id}:{ordinal}",
                doc_id,
                ordinal,
                start,
                end,
                chunk_text,
                f"{title}\n{chunk_text}",
                spans,
            )
        )
        start = end + 2
    return document, chunks


def store_lookups(path: Path, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Lookup latency through a read-only store, as the service opens a published generation."""
    batches = [
        (rng.choice(n, size=min(LOOKUP_ROWS, n), replace=False) + 1).tolist()
        for _ in range(scaling.WARMUP_QUERIES + scaling.LATENCY_QUERIES)
    ]
    store = ChunkStore.open(path, DIMENSION, generation=1, read_only=True)
    try:
        passages = latency(store.passages, batches)
        sentences = latency(store.sentences, batches)
    finally:
        store.close()
    steps = vm_steps(path, np.linspace(1, n, min(LOOKUP_ROWS, n)).astype(int).tolist())
    return {
        "passages_p50_ms": passages["p50_ms"],
        "passages_p95_ms": passages["p95_ms"],
        "sentences_p50_ms": sentences["p50_ms"],
        "sentences_p95_ms": sentences["p95_ms"],
        "lookups": passages["queries"],
        **steps,
    }


def vm_steps(path: Path, row_ids: list[int]) -> dict[str, int]:
    """SQLite VM instructions per lookup: constant in N for seeks, proportional to N for scans."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    counter = [0]

    def count() -> int:
        counter[0] += 1
        return 0  # carry on

    connection.set_progress_handler(count, 1)
    store = ChunkStore(connection, path, DIMENSION, 1)
    try:
        found = len(store.passages(row_ids))
        passages, counter[0] = counter[0], 0
        sentence_rows = len(store.sentences(row_ids))
        sentences = counter[0]
    finally:
        store.close()
    return {
        "passages_vm_steps": passages,
        "passages_rows": found,
        "sentences_vm_steps": sentences,
        "sentences_rows": sentence_rows,
    }
