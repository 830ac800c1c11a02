"""Lexical search engines compared for writes: the segments of `rag.index.lexical`, tantivy
(its official Python bindings) and bm25s (what the index used before, rebuilt at each write).

All three index the same analysed terms (the service's analyzer: short forms expanded,
Snowball stems), so only the engines differ. For each corpus size, side by side in one run:
build time, the cost of a one-document write (add one chunk, tombstone one chunk, make it
searchable), search p50 at the service's retrieval depth, and agreement of the top 10 with
bm25s. Sizes past the real corpus repeat its chunks under new row ids.

    PYTHONPATH=. python -m bench.lexical_engines --index .cache/eval/covidqa/index --out DIR

tantivy is not a dependency of the service; this benchmark needs it installed
(`pip install tantivy`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentiles
from bench.scaling.measure import timed
from rag.index.lexical import BM25S_LUCENE, LexicalIndex
from rag.index.manifest import MANIFEST_FILE, Manifest
from rag.index.segments import Segments, segment_name
from rag.index.store import Pointer
from rag.index.vectors import FaissVectorIndex
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import Analyzer

Rows = list[tuple[int, list[str]]]
DEPTH = 100  # the service's retrieval depth (RetrievalSettings.candidates)
WRITES = 5
QUERIES = 200


def corpus_rows(index_dir: Path) -> tuple[list[tuple[int, list[str]]], list[list[str]]]:
    """(row id, terms) of every chunk of an index, and analysed queries (chunk opening words)."""
    from rag.index.chunkstore import ChunkStore

    pointer = Pointer.read(index_dir)
    directory = index_dir / pointer.directory
    manifest = Manifest.read(directory / MANIFEST_FILE)
    store = ChunkStore.open(
        index_dir / manifest.store_file(),
        manifest.spec.dimension,
        generation=pointer.generation,
        read_only=True,
    )
    analyzer = Analyzer(Abbreviations(store.abbreviations()))
    rows = [(row, analyzer.terms(text, doc_id)) for row, doc_id, text in store.chunk_texts()]
    store.close()
    rng = np.random.default_rng(7)
    picks = rng.choice(len(rows), size=min(QUERIES, len(rows)), replace=False)
    queries = [rows[int(i)][1][3:11] for i in picks if len(rows[int(i)][1]) > 11]
    return rows, queries


def tiled(rows: Sequence[tuple[int, list[str]]], n: int) -> list[tuple[int, list[str]]]:
    return [(i + 1, rows[i % len(rows)][1]) for i in range(n)]


def p50_ms(search: Callable[[list[str]], Any], queries: Sequence[list[str]]) -> float:
    times = []
    for query in queries:
        clock = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - clock) * 1000)
    return round(percentiles(times)["p50_ms"], 2)


def segments_engine(rows: Rows, queries: Sequence[list[str]], folder: Path) -> dict[str, Any]:
    """The service's segments (their vectors one-dimensional: only the lexical side is compared)."""
    segments, build_s = timed(lambda: Segments([]).changed(segment_name(1), rows, _vectors(rows), [], 1))
    segments.write(folder / "gen-1")
    segments = Segments.read(folder / "gen-1", 1)
    writes = []
    next_row = len(rows) + 1
    for generation in range(2, 2 + WRITES):
        added = [(next_row, rows[generation][1])]
        clock = time.perf_counter()
        segments = segments.changed(
            segment_name(generation), added, _vectors(added), [generation], generation
        )
        segments.write(folder / f"gen-{generation}")
        writes.append(time.perf_counter() - clock)
        next_row += 1
    index = LexicalIndex(segments.list)
    return {
        "build_s": round(build_s, 2),
        "write_p50_s": round(statistics.median(writes), 4),
        "search_p50_ms": p50_ms(lambda q: index.search(q, DEPTH, parameters=BM25S_LUCENE), queries),
        "top10": [[row for row, _ in index.search(q, 10, parameters=BM25S_LUCENE)] for q in queries],
    }


def _vectors(rows: Rows) -> FaissVectorIndex:
    index = FaissVectorIndex.empty(1)
    index.add(np.array([row for row, _ in rows], dtype=np.int64), np.ones((len(rows), 1), dtype=np.float32))
    return index


def tantivy_engine(
    rows: list[tuple[int, list[str]]], queries: Sequence[list[str]], folder: Path
) -> dict[str, Any]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("row", stored=True, indexed=True, fast=True)
    schema = builder.build()
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema, path=str(folder))

    def build() -> None:
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        for row, terms in rows:
            writer.add_document(tantivy.Document(body=" ".join(terms), row=row))
        writer.commit()
        writer.wait_merging_threads()

    _, build_s = timed(build)
    index.reload()
    writes = []
    next_row = len(rows) + 1
    for generation in range(2, 2 + WRITES):
        clock = time.perf_counter()
        writer = index.writer(heap_size=15_000_000, num_threads=1)
        writer.delete_documents_by_term("row", generation)
        writer.add_document(tantivy.Document(body=" ".join(rows[generation][1]), row=next_row))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        writes.append(time.perf_counter() - clock)
        next_row += 1
    searcher = index.searcher()

    def search(query: list[str], k: int) -> list[int]:
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in query]
        found = searcher.search(tantivy.Query.boolean_query(clauses), k)
        return [int(searcher.doc(address)["row"][0]) for _, address in found.hits]

    return {
        "build_s": round(build_s, 2),
        "write_p50_s": round(statistics.median(writes), 4),
        "search_p50_ms": p50_ms(lambda q: search(q, DEPTH), queries),
        "top10": [search(q, 10) for q in queries],
    }


def bm25s_engine(rows: list[tuple[int, list[str]]], queries: Sequence[list[str]]) -> dict[str, Any]:
    import bm25s

    def build(corpus: Sequence[tuple[int, list[str]]]) -> bm25s.BM25:
        retriever = bm25s.BM25(method="lucene", k1=BM25S_LUCENE.k1, b=BM25S_LUCENE.b)
        retriever.index([terms for _, terms in corpus], show_progress=False)
        return retriever

    retriever, build_s = timed(lambda: build(rows))
    ids = np.array([row for row, _ in rows])

    def search(query: list[str], k: int) -> list[int]:
        known = [t for t in query if t in retriever.vocab_dict]
        if not known:
            return []
        scores = retriever.get_scores(known)
        top = np.argsort(-scores, kind="stable")[:k]
        return [int(ids[i]) for i in top if scores[i] > 0]

    return {
        "build_s": round(build_s, 2),
        "write_p50_s": round(build_s, 4),  # a write rebuilds it: bm25s cannot add or delete
        "search_p50_ms": p50_ms(lambda q: search(q, DEPTH), queries),
        "top10": [search(q, 10) for q in queries],
    }


def overlap(found: list[list[int]], reference: list[list[int]]) -> float:
    shares = [len(set(a) & set(b)) / len(b) for a, b in zip(found, reference, strict=True) if b]
    return round(float(np.mean(shares)), 4) if shares else 1.0


def run(index_dir: Path, sizes: Sequence[int]) -> dict[str, Any]:
    rows, queries = corpus_rows(index_dir)
    results: list[dict[str, Any]] = []
    for n in sizes:
        corpus = rows if n <= len(rows) else tiled(rows, n)
        with tempfile.TemporaryDirectory(prefix="lexical-engines-") as tmp:
            reference = bm25s_engine(corpus, queries)
            reference_top10 = reference["top10"]
            entry: dict[str, Any] = {"chunks": len(corpus)}
            for name, measured in (
                ("segments", segments_engine(corpus, queries, Path(tmp) / "segments")),
                ("tantivy", tantivy_engine(corpus, queries, Path(tmp) / "tantivy")),
                ("bm25s", reference),
            ):
                top10 = measured.pop("top10")
                entry[name] = measured | {"top10_overlap_with_bm25s": overlap(top10, reference_top10)}
            results.append(entry)
            print(json.dumps(entry), flush=True)
    return {"queries": len(queries), "depth": DEPTH, "writes": WRITES, "sizes": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index whose chunks are the corpus")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[0, 20_000, 100_000], help="0: the index as it is"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    result = run(args.index, [n or 1 for n in args.sizes])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lexical_engines.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
