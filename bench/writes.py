"""One-document writes against the size of the index: an upload's and a delete's p50 at N
chunks, the stages they spend it in, and the bytes per chunk on disk.

The index is synthetic (the scaling benchmark's Zipf text, random unit vectors for chunks,
sentences and vocabulary words, 384 dimensions as the bundled model) and the embedder is the
test suite's fake one, so what is timed is the index machinery a write goes through, not the
model (embedding one paragraph costs about 30 ms on any index). Each write goes through the
service's own path: `Pipeline.add_documents` (an upload) and `Pipeline.delete_document`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.scaling.data import TextModel, normalized
from bench.scaling.measure import timed
from bench.scaling.store import document_texts, fake_document
from bench.write_checks import disk, first_answer, queries, rankings, same_top10
from rag.index.writer import IndexWriter
from rag.ingest.dedupe import fingerprint
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline, index_spec
from rag.settings import Settings
from rag.testing import FakeEmbedder
from rag.text.analyzer import vocabulary_words

DIMENSION = 384
SEED = 18
WRITES = 5
QUICK_SIZES = (2_000, 10_000)
FULL_SIZES = (10_000, 100_000)
SCALE_SIZES = (10_000, 1_000_000)  # by hand: `python -m bench.writes --scale` (about an hour, 20 GB)
FRESH_BUILD_LIMIT = 100_000  # the ranking check builds the index twice: not at 1M (`merge_only` there)
QUESTION = "What was the median survival?"
KEPT_NOTES = [
    {"doc_id": f"kept-{i}", "title": f"Kept note {i}", "text": f"Kept note {i}: response rate {20 + i}%."}
    for i in range(3)
]


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    return {"writes": WRITES, "dimension": DIMENSION, "sizes": [measure(settings, n) for n in sizes]}


def measure(settings: Settings, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rag-bench-writes-") as tmp:
        folder = Path(tmp)
        local = settings.model_copy(
            update={
                "index_dir": folder / "index",
                "corpus_dir": folder / "corpus",
                "uploads_dir": folder / "uploads",
            }
        )
        embedder = FakeEmbedder(dimension=DIMENSION)
        _, build_s = timed(lambda: build_index(local, embedder, n))
        pipeline = Pipeline(local, embedder, None)
        adds, deletes, stages = [], [], []
        for number in range(WRITES):
            record = {
                "doc_id": f"note-{number}",
                "title": f"Note {number}",
                "text": f"A note about dose {number}: the median survival was {10 + number}.5 months.",
            }
            staged = stage_record(record, local.upload_dir, local.corpus_dir)
            clock = time.perf_counter()
            report = pipeline.add_documents([staged])
            adds.append(time.perf_counter() - clock)
            stages.append(report.timings_s)
            clock = time.perf_counter()
            pipeline.delete_document(f"note-{number}")
            deletes.append(time.perf_counter() - clock)
        after_writes = disk(local.index_dir, pipeline)
        checks = ranking_checks(local, embedder, pipeline, n, folder) if n <= FRESH_BUILD_LIMIT else {}
        pipeline.close()
        opened = first_answer(local, DIMENSION, QUESTION)
        if n > FRESH_BUILD_LIMIT:  # no second build at this size, but the merge's time and disk
            checks = merge_only(local, embedder)
    stage_p50 = {name: statistics.median(s.get(name, 0.0) for s in stages) for name in stages[0]}
    return {
        "n": n,
        "build_s": round(build_s, 1),
        "add_p50_s": round(statistics.median(adds), 3),
        "delete_p50_s": round(statistics.median(deletes), 3),
        "add_stages_p50_s": {name: round(value, 3) for name, value in stage_p50.items()},
        "bytes_per_chunk": round(after_writes["bytes_current"] / n),
        "bytes_per_chunk_on_disk": round(after_writes["bytes_on_disk"] / n),
        "disk_ratio_after_writes": after_writes["disk_ratio"],
        **opened,
        **checks,
    }


def merge_only(settings: Settings, embedder: FakeEmbedder) -> dict[str, Any]:
    """`rag optimize` on the written index with the kept notes added (so there are two segments
    to merge, as in `ranking_checks`): its time, the disk after it, and the first answer of a
    new process opening the merged index (one segment)."""
    pipeline = Pipeline(settings, embedder, None)
    kept = [stage_record(note, settings.upload_dir, settings.corpus_dir) for note in KEPT_NOTES]
    pipeline.add_documents(kept)
    segments = pipeline.index.segments.describe()["segments"]
    optimize_s = timed(pipeline.optimize)[1]
    if pipeline.index.segments.describe()["segments"] != 1 or segments < 2:
        raise RuntimeError(f"rag optimize merged nothing ({segments} segments before it)")
    after_merge = disk(settings.index_dir, pipeline)
    pipeline.close()
    merged = first_answer(settings, DIMENSION, QUESTION)
    return {
        "optimize_s": round(optimize_s, 2),
        "disk_ratio_after_merge": after_merge["disk_ratio"],
        "open_to_first_answer_after_merge_s": merged["open_to_first_answer_s"],
    }


def ranking_checks(
    settings: Settings, embedder: FakeEmbedder, pipeline: Pipeline, n: int, folder: Path
) -> dict[str, Any]:
    """Three more documents kept; the top 10 of 50 queries against a fresh build of the same
    documents, after the writes and after `rag optimize`; the disk after the merge."""
    kept = [stage_record(note, settings.upload_dir, settings.corpus_dir) for note in KEPT_NOTES]
    pipeline.add_documents(kept)
    texts = queries(pipeline, SEED)
    written = rankings(pipeline, texts)
    optimize_s = timed(pipeline.optimize)[1]
    merged = rankings(pipeline, texts)
    after_merge = disk(settings.index_dir, pipeline)
    fresh_settings = settings.model_copy(
        update={
            "index_dir": folder / "fresh" / "index",
            "corpus_dir": folder / "fresh" / "corpus",
            "uploads_dir": folder / "fresh" / "uploads",
        }
    )
    build_index(fresh_settings, embedder, n)
    fresh = Pipeline(fresh_settings, embedder, None)
    fresh.add_documents(
        [stage_record(n_, fresh_settings.upload_dir, fresh_settings.corpus_dir) for n_ in KEPT_NOTES]
    )
    expected = rankings(fresh, texts)
    fresh.close()
    return {
        "optimize_s": round(optimize_s, 2),
        "disk_ratio_after_merge": after_merge["disk_ratio"],
        "after_writes": same_top10(written, expected),
        "after_merge": same_top10(merged, expected),
    }


def build_index(settings: Settings, embedder: FakeEmbedder, n: int) -> None:
    """A one-generation index of about `n` synthetic chunks, written as a rebuild would."""
    rng = np.random.default_rng([SEED, n])
    text = TextModel.create(np.random.default_rng([SEED, 1]))
    vocabulary: Counter[str] = Counter()
    spec = index_spec(embedder, settings)
    with IndexWriter(settings.index_dir, spec, fresh=True, policy=settings.vectors) as writer:
        store = writer.index.chunks
        for number, texts in enumerate(document_texts(text, n, rng)):
            document, chunks = fake_document(number, texts)
            vectors = _unit(rng, len(chunks))
            sentences = [list(_unit(rng, len(chunk.sentences))) for chunk in chunks]
            rows = store.add_document(document, chunks, vectors, sentences, fingerprint=fingerprint(document))
            writer.index.vectors.add(np.array(rows, dtype=np.int64), vectors)
            for chunk in chunks:
                vocabulary.update(vocabulary_words(chunk.embed_text))
        store.update_vocabulary(vocabulary, Counter())
        words = store.words_without_vectors()
        store.set_word_vectors(words, _unit(rng, len(words)))
        writer.commit()


def _unit(rng: np.random.Generator, count: int) -> Any:
    return normalized(rng.standard_normal((count, DIMENSION)).astype(np.float32))


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "## One-document writes",
        "",
        f"Synthetic index, fake embedder (the index machinery only); {result['writes']} uploads and "
        "deletes of a one-paragraph document per size, through `Pipeline.add_documents` and "
        "`delete_document`; stages are the upload's (`IngestReport.timings_s`). First answer: a new "
        "process opens the index and answers one question (imports not counted). Disk: the index "
        "directory (each file once) over what the current generation reads. Same top 10: the share "
        "of a fresh build's top 10 for 50 queries that the written index returns (after the writes, "
        "and after `rag optimize`), and in brackets the share of queries in the same order.",
        "",
        "| chunks | upload p50 s | delete p50 s | upload stages p50 s | first answer s | bytes/chunk | "
        "disk after writes / merge | same top 10 after writes / merge |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in result["sizes"]:
        stages = ", ".join(f"{k} {v:.3f}" for k, v in size["add_stages_p50_s"].items())
        merge = size.get("disk_ratio_after_merge")
        agreement = "not checked (a second build at this size)"
        if "after_writes" in size:
            w, m = size["after_writes"], size["after_merge"]
            agreement = (
                f"{w['same_top10']:.3f} ({w['identical_order']:.2f}) / "
                f"{m['same_top10']:.3f} ({m['identical_order']:.2f})"
            )
        lines.append(
            f"| {size['n']:,} | {size['add_p50_s']:.3f} | {size['delete_p50_s']:.3f} | {stages} | "
            f"{size['open_to_first_answer_s']:.2f} | {size['bytes_per_chunk']:,} | "
            f"{size['disk_ratio_after_writes']:.2f}x / {f'{merge:.2f}x' if merge else '-'} | {agreement} |"
        )
    sizes = result["sizes"]
    for size in sizes:
        if "optimize_s" in size:
            after = size.get("open_to_first_answer_after_merge_s")
            lines += [
                "",
                f"`rag optimize` at {size['n']:,}: {size['optimize_s']:.1f} s, disk after it "
                f"{size['disk_ratio_after_merge']:.2f}x"
                + (f", first answer from the merged index {after:.2f} s." if after is not None else "."),
            ]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        lines += [
            "",
            f"Upload p50 at {last['n']:,} is {last['add_p50_s'] / first['add_p50_s']:.1f}x its p50 at "
            f"{first['n']:,} ({last['n'] / first['n']:.0f}x the chunks); delete "
            f"{last['delete_p50_s'] / first['delete_p50_s']:.1f}x.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.writes --scale`: the 10k and 1M sizes, by hand (too long for `make bench`)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--scale", action="store_true", help="10k and 1M chunks instead of 10k and 100k")
    parser.add_argument("--out", type=Path, default=Path("bench/results/writes_scale"))
    args = parser.parse_args(argv)
    sizes = SCALE_SIZES if args.scale else FULL_SIZES
    result = {"writes": WRITES, "dimension": DIMENSION, "sizes": [measure(Settings(), n) for n in sizes]}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(to_markdown(result), encoding="utf-8")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
