"""Ingestion throughput: the whole `rag ingest` pipeline against bare `model.encode`.

Two references, both timed in this run with the same model object:
- `encode(chunks)`: what a plain RAG indexer embeds (the issue's reference);
- `encode(all texts)`: the chunks plus what this pipeline also embeds on purpose (every
  sentence, for sentence-level citations, and new vocabulary words, for synonym checks).
The first ratio says what the design costs; the second, what the pipeline's own machinery
(chunking, SQLite, FAISS, BM25, fsync) adds on top of its embedding work.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from rag.embed import Embedder, load_embedder
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import load_paths
from rag.settings import Settings


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """The corpus is small (seconds), so quick and full runs are the same."""
    embedder = load_embedder(settings.embedding, settings.model_cache_dir)
    documents = load_paths([settings.corpus_dir]).documents
    chunker = Chunker(embedder, settings.chunking)
    chunks = [chunk for doc in documents for chunk in chunker.chunk(doc)]
    chunk_texts = [chunk.embed_text for chunk in chunks]
    embedder.embed(chunk_texts[:32])  # warm-up

    with tempfile.TemporaryDirectory() as tmp:
        from rag.pipeline import Pipeline

        index_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
        pipeline = Pipeline(index_settings, embedder, None)
        before = _time(lambda: embedder.embed(chunk_texts))
        clock = time.perf_counter()
        result = pipeline.ingest(rebuild=True)
        pipeline_s = time.perf_counter() - clock
        after = _time(lambda: embedder.embed(chunk_texts))
        index = pipeline.index
        sentences = index.chunks.counts()[2]
        words = index.lexicon.size
        pipeline.close()
    report = result.report
    reference_s = (before + after) / 2
    all_texts_s = _all_texts_s(embedder, chunks, documents, chunk_texts)
    return {
        "documents": len(documents),
        "chunks": report.chunks_added,
        "sentences": sentences,
        "vocabulary_words": words,
        "texts_embedded": report.texts_embedded,
        "pipeline_s": pipeline_s,
        "pipeline_chunks_per_s": report.chunks_added / pipeline_s,
        "encode_chunks_s": reference_s,
        "encode_chunks_per_s": len(chunk_texts) / reference_s,
        "encode_all_texts_s": all_texts_s,
        "stages_s": report.timings_s,
        "ratios": {
            "pipeline_vs_encode_chunks": reference_s / pipeline_s,
            "pipeline_vs_encode_all_texts": all_texts_s / pipeline_s,
        },
        "targets": {
            "pipeline_vs_encode_chunks >= 0.85": reference_s / pipeline_s >= 0.85,
            "pipeline_vs_encode_all_texts >= 0.85": all_texts_s / pipeline_s >= 0.85,
        },
    }


def _all_texts_s(
    embedder: Embedder,
    chunks: list[Any],
    documents: list[Any],
    chunk_texts: list[str],
) -> float:
    """Bare encode of the chunks, their sentences (as the pipeline embeds them) and the words."""
    from rag.ingest.sync import sentence_embed_text
    from rag.text.analyzer import vocabulary_words

    by_id = {doc.doc_id: doc for doc in documents}
    sentences = sorted({sentence_embed_text(by_id[c.doc_id], c, s) for c in chunks for s in c.sentences})
    words = sorted({w for text in chunk_texts for w in vocabulary_words(text)})
    texts = chunk_texts + sentences + words
    return _time(lambda: [embedder.embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])


def _time(action: Any) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def to_markdown(result: dict[str, Any]) -> str:
    ratios = result["ratios"]
    stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result["stages_s"].items())
    return (
        "## Ingestion throughput\n\n"
        f"{result['documents']} documents → {result['chunks']} chunks, {result['sentences']} sentences, "
        f"{result['vocabulary_words']} vocabulary words ({result['texts_embedded']} texts embedded).\n\n"
        "| | seconds | chunks/s | pipeline speed as a share of it |\n|---|---|---|---|\n"
        f"| full `rag ingest` pipeline | {result['pipeline_s']:.2f} "
        f"| {result['pipeline_chunks_per_s']:.1f} | |\n"
        f"| bare `model.encode(chunks)` | {result['encode_chunks_s']:.2f} | "
        f"{result['encode_chunks_per_s']:.1f} | {ratios['pipeline_vs_encode_chunks']:.2f}x |\n"
        f"| bare `model.encode(chunks + sentences + words)` | {result['encode_all_texts_s']:.2f} | | "
        f"{ratios['pipeline_vs_encode_all_texts']:.2f}x |\n\n"
        f"Pipeline stages: {stages}.\n\n"
        "Targets: "
        + ", ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in result["targets"].items())
        + ". The first compares against the chunks alone; the pipeline also embeds every sentence "
        "(for sentence-level citations) and every new vocabulary word (for synonym checks).\n"
    )
