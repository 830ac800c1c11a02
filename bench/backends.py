"""Embedding backends side by side: speed against fp32 PyTorch, and what each costs in quality.

Every variant (sentence-transformers on PyTorch, ONNX Runtime fp32/int8, OpenVINO fp32/int8)
embeds the corpus's chunks and sentences and the gold questions one at a time, then builds its
own index of the corpus and answers the gold set. Speed is a ratio to PyTorch fp32 measured
in this run; quality is the change in recall@5, answer accuracy and citation support. The
recommended variant is the fastest whose recall@5 and answer accuracy are within 1% of fp32.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import GOLD, percentiles, questions
from rag.embed import Embedder, load_embedder
from rag.evaluation.runner import evaluate, load_gold
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import load_paths
from rag.ingest.sync import sentence_embed_text
from rag.settings import EmbeddingSettings, Settings

VARIANTS = (("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8"), ("openvino", "fp32"), ("openvino", "int8"))
MAX_QUALITY_LOSS = 0.01
QUALITY = ("recall@5", "mrr@10", "answer_accuracy", "citation_support", "abstention_recall")
GUARDED = ("recall@5", "answer_accuracy")
SPEED_SENTENCES = 200  # of the corpus's 450: enough for a stable rate, and the run stays short


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    """The corpus is small, so quick and full runs are the same."""
    gold = load_gold(GOLD)
    rows: list[dict[str, Any]] = []
    texts: tuple[list[str], list[str]] | None = None
    for backend, precision in VARIANTS:
        needs = {"openvino": ["openvino", "nncf"] if precision == "int8" else ["openvino"]}.get(backend, [])
        if not _installed(*needs):
            rows.append({"variant": f"{backend} {precision}", "skipped": "openvino extra not installed"})
            continue
        embedding = settings.embedding.model_copy(update={"backend": backend, "precision": precision})
        clock = time.perf_counter()
        embedder = load_embedder(embedding, settings.model_cache_dir)
        load_s = time.perf_counter() - clock
        texts = texts or _corpus_texts(settings, embedder)
        row: dict[str, Any] = {"variant": f"{backend} {precision}", "load_s": load_s}
        row.update(_speed(embedder, *texts))
        row["quality"] = _quality(settings, embedding, embedder, gold)
        rows.append(row)
    configured = f"{settings.embedding.backend} {settings.embedding.precision}"
    recommended = compare(rows)
    return {
        "variants": rows,
        "recommended": recommended,
        "configured": configured,
        "cpu_flags": _cpu_flags(),
        "targets": {"default is the fastest variant within 1% quality": configured == recommended},
    }


def compare(rows: list[dict[str, Any]]) -> str:
    """Add each measured row's speedup and quality change against the first (PyTorch fp32);
    the fastest variant whose R@5 and answer accuracy are within MAX_QUALITY_LOSS of it."""
    measured = [r for r in rows if "skipped" not in r]
    base = measured[0]
    for row in measured:
        row["speedup"] = {
            "chunks": row["chunks_per_s"] / base["chunks_per_s"],
            "sentences": row["sentences_per_s"] / base["sentences_per_s"],
            "query": base["query_ms"]["p50_ms"] / row["query_ms"]["p50_ms"],
        }
        row["quality_change"] = {m: row["quality"][m] - base["quality"][m] for m in QUALITY}
        row["quality_loss"] = max(
            (base["quality"][m] - row["quality"][m]) / base["quality"][m] for m in GUARDED
        )
    eligible = [r for r in measured if r["quality_loss"] <= MAX_QUALITY_LOSS]
    return str(max(eligible, key=lambda r: r["speedup"]["chunks"] * r["speedup"]["query"])["variant"])


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in modules)


def _corpus_texts(settings: Settings, embedder: Embedder) -> tuple[list[str], list[str]]:
    """What ingestion embeds: the chunks, and each sentence with its title prefix."""
    documents = load_paths([settings.corpus_dir]).documents
    chunker = Chunker(embedder, settings.chunking)
    chunked = [(doc, chunker.chunk(doc)) for doc in documents]
    chunks = [c.embed_text for _, cs in chunked for c in cs]
    sentences = sorted({sentence_embed_text(d, c, s) for d, cs in chunked for c in cs for s in c.sentences})
    return chunks, sentences


def _speed(embedder: Embedder, chunks: list[str], sentences: list[str]) -> dict[str, Any]:
    sentences = sentences[:SPEED_SENTENCES]
    embedder.embed(chunks[:16])  # warm-up
    clock = time.perf_counter()
    embedder.embed(chunks)
    chunk_s = time.perf_counter() - clock
    clock = time.perf_counter()
    embedder.embed(sentences)
    sentence_s = time.perf_counter() - clock
    times = []
    for question in questions():
        clock = time.perf_counter()
        embedder.embed([question])
        times.append((time.perf_counter() - clock) * 1000)
    return {
        "chunks_per_s": len(chunks) / chunk_s,
        "sentences_per_s": len(sentences) / sentence_s,
        "query_ms": percentiles(times),
    }


def _quality(
    settings: Settings, embedding: EmbeddingSettings, embedder: Embedder, gold: list[Any]
) -> dict[str, float]:
    from rag.pipeline import Pipeline

    with tempfile.TemporaryDirectory() as tmp:
        variant = settings.model_copy(update={"index_dir": Path(tmp) / "index", "embedding": embedding})
        pipeline = Pipeline(variant, embedder, None)
        try:
            pipeline.ingest()
            report = evaluate(pipeline, gold, "hybrid")
        finally:
            pipeline.close()
    return {m: float(report.metrics[m]) for m in QUALITY}


def _cpu_flags() -> str:
    try:
        flags = next(
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
        ).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = [f for f in flags if f.startswith(("avx512", "avx2", "avx_vnni", "amx"))]
    return " ".join(sorted(wanted)) or "no AVX2"


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "## Embedding backends",
        "",
        "Each variant embeds the corpus's chunks and sentences and the gold questions (one at a time), "
        "then builds its own index and answers `eval/gold.jsonl` (hybrid retrieval). Speed is a ratio "
        "to sentence-transformers on PyTorch fp32 in this run; quality is the change against it. "
        f"CPU vector extensions: {result['cpu_flags']}.",
        "",
        "| variant | chunks/s | vs torch | sentences/s | vs torch | query p50 ms | vs torch "
        "| R@5 | accuracy | citation support | abstention | quality loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["variants"]:
        if "skipped" in row:
            lines.append(f"| {row['variant']} | skipped: {row['skipped']} |" + " |" * 10)
            continue
        q, change, speed = row["quality"], row["quality_change"], row["speedup"]
        lines.append(
            f"| {row['variant']} | {row['chunks_per_s']:.1f} | {speed['chunks']:.2f}x "
            f"| {row['sentences_per_s']:.1f} | {speed['sentences']:.2f}x "
            f"| {row['query_ms']['p50_ms']:.1f} | {speed['query']:.2f}x "
            + " ".join(
                f"| {q[m]:.3f} ({change[m]:+.3f})"
                for m in ("recall@5", "answer_accuracy", "citation_support", "abstention_recall")
            )
            + f" | {100 * row['quality_loss']:.1f}% |"
        )
    lines += [
        "",
        f"Quality loss: the larger relative drop of R@5 and answer accuracy. Fastest variant within "
        f"{100 * MAX_QUALITY_LOSS:.0f}%: **{result['recommended']}**; configured default: "
        f"**{result['configured']}**.",
    ]
    return "\n".join(lines) + "\n"
